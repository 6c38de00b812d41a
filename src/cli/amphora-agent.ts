import { parseArgs } from 'node:util';
import { AmphoraAgent } from '../agents/amphora/agent.js';
import { createAmphoraAgentMetrics } from '../agents/amphora/metrics.js';
import { AmphoraReconciler } from '../agents/amphora/reconciler.js';
import { createLogger } from '../lib/logger.js';
import { createRegistry } from '../lib/metrics.js';
import { serveMetrics } from '../lib/metrics-server.js';
import { KeystoneSession } from '../lib/openstack-session.js';
import { AGENT_OPTIONS_USAGE, agentOptions, environmentWithCredentials, seconds } from './agent-options.js';

const USAGE = `usage: cloudnet amphora-agent --amphora-id ID --server URL --netns NAME --state-dir DIR [options]

One per amphora: follows the amphora's target from the server and converges HAProxy and keepalived, which it
runs (supervised) inside the amphora's network namespace; reports the amphora's health every interval.
HAProxy and keepalived outlive the agent: SIGTERM (or SIGINT) stops the agent alone and leaves them serving,
and the next agent on the same --state-dir adopts them (an agent restart or upgrade touches no traffic).
Deleting the amphora is its namespace going: the agent then stops them and exits non-zero.

options:
  --amphora-id ID                   this amphora's id in the control plane
  --server URL                      the cloudnet server, e.g. http://127.0.0.1:9696
  --netns NAME                      the amphora's network namespace
  --state-dir DIR                   configs, sockets, pid files and certificates (created if missing)
  --health-interval S               seconds between health reports (default 1)
${AGENT_OPTIONS_USAGE}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'amphora-id': { type: 'string' },
      server: { type: 'string' },
      netns: { type: 'string' },
      'state-dir': { type: 'string' },
      'health-interval': { type: 'string', default: '1' },
      ...agentOptions,
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!values['amphora-id'] || !values.server || !values.netns || !values['state-dir']) {
    process.stderr.write(`cloudnet amphora-agent: --amphora-id, --server, --netns and --state-dir are required\n\n${USAGE}\n`);
    return 2;
  }
  const logger = createLogger('amphora-agent');
  const registry = createRegistry('cloudnet_amphora_agent');
  const metrics = createAmphoraAgentMetrics(registry);
  let namespaceGone!: () => void;
  const gone = new Promise<'gone'>((resolve) => (namespaceGone = () => resolve('gone')));
  const reconciler = new AmphoraReconciler({ netns: values.netns, stateDir: values['state-dir'], logger, metrics, onNamespaceGone: namespaceGone });
  const agent = new AmphoraAgent({
    amphoraId: values['amphora-id'],
    server: values.server,
    session: KeystoneSession.fromEnvironment(environmentWithCredentials(values)),
    reconciler,
    logger,
    metrics,
    healthIntervalMs: seconds(values['health-interval'], '--health-interval'),
  });
  await reconciler.start();
  const metricsServer = values['metrics-listen'] ? await serveMetrics(registry, values['metrics-listen']) : undefined;
  if (metricsServer) logger.info({ url: metricsServer.url }, 'metrics');

  agent.start();
  const signalled = new Promise<'signal'>((resolve) => {
    process.once('SIGTERM', () => resolve('signal'));
    process.once('SIGINT', () => resolve('signal'));
  });
  const why = await Promise.race([signalled, gone]);
  await agent.stop();
  // Like the host agent's data plane, HAProxy and keepalived hold their state without the agent: they keep serving.
  if (why === 'signal') await reconciler.release();
  metricsServer?.server.close();
  if (why === 'gone') {
    logger.error({ netns: values.netns }, 'exiting: the amphora namespace is gone');
    return 1;
  }
  return 0;
}
