import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HostAgent } from '../agents/host/agent.js';
import { DataPlane } from '../agents/host/dataplane.js';
import { createHostAgentMetrics } from '../agents/host/metrics.js';
import { createLogger } from '../lib/logger.js';
import { createRegistry } from '../lib/metrics.js';
import { serveMetrics } from '../lib/metrics-server.js';
import { toolRunner, type ToolRunner } from '../lib/netns.js';
import { KeystoneSession } from '../lib/openstack-session.js';
import { AGENT_OPTIONS_USAGE, agentOptions, environmentWithCredentials, seconds } from './agent-options.js';

const USAGE = `usage: cloudnet host-agent --host NAME --server URL [options]

Holds this host's target state (from the server's feed) and converges the kernel on it: bridges, VXLAN,
taps, forwarding entries, anti-spoofing and security groups (nftables).

options:
  --host NAME                       this host's name in the control plane
  --server URL                      the cloudnet server, e.g. http://127.0.0.1:9696
  --netns NAME                      manage this network namespace as the host (the lab); default: the machine
  --tunnel-ip IP                    underlay address, local end of VXLAN tunnels
                                    (default: the first global IPv4 address of the host)
  --provider-interface PHYS:IFNAME  interface of a physical network for flat networks (repeatable)
  --heartbeat-interval S            seconds between heartbeats (default 2)
  --resync-interval S               seconds between anti-entropy passes (default 10)
  --tap-poll-interval S             seconds between looks for plugged taps (default 1)
${AGENT_OPTIONS_USAGE}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      server: { type: 'string' },
      netns: { type: 'string' },
      'tunnel-ip': { type: 'string' },
      'provider-interface': { type: 'string', multiple: true, default: [] },
      'heartbeat-interval': { type: 'string', default: '2' },
      'resync-interval': { type: 'string', default: '10' },
      'tap-poll-interval': { type: 'string', default: '1' },
      ...agentOptions,
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!values.host || !values.server) {
    process.stderr.write(`cloudnet host-agent: --host and --server are required\n\n${USAGE}\n`);
    return 2;
  }
  const logger = createLogger('host-agent');
  const runner = toolRunner(values.netns);
  const env = environmentWithCredentials(values);

  const registry = createRegistry('cloudnet_host_agent');
  const agent = new HostAgent({
    host: values.host,
    server: values.server,
    tunnelIp: values['tunnel-ip'] ?? (await firstGlobalIpv4(runner)),
    providerInterfaces: parseProviderInterfaces(values['provider-interface']),
    session: KeystoneSession.fromEnvironment(env),
    dataPlane: new DataPlane(runner),
    logger,
    metrics: createHostAgentMetrics(registry),
    version: packageVersion(),
    heartbeatIntervalMs: seconds(values['heartbeat-interval'], '--heartbeat-interval'),
    resyncIntervalMs: seconds(values['resync-interval'], '--resync-interval'),
    tapPollIntervalMs: seconds(values['tap-poll-interval'], '--tap-poll-interval'),
  });
  const metrics = values['metrics-listen'] ? await serveMetrics(registry, values['metrics-listen']) : undefined;
  if (metrics) logger.info({ url: metrics.url }, 'metrics');

  await agent.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // Stopping leaves the data plane as it is: VMs keep their network while the agent is away.
  await agent.stop();
  metrics?.server.close();
  return 0;
}

export function parseProviderInterfaces(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const [physnet, ifname, ...rest] = v.split(':');
    if (!physnet || !ifname || rest.length) throw new Error(`--provider-interface must be PHYSNET:IFNAME, not '${v}'`);
    out[physnet] = ifname;
  }
  return out;
}

async function firstGlobalIpv4(runner: ToolRunner): Promise<string> {
  const { stdout } = await runner.run('ip', ['-j', '-4', 'addr', 'show', 'scope', 'global']);
  const links = JSON.parse(stdout || '[]') as { addr_info: { local: string }[] }[];
  const address = links.flatMap((l) => l.addr_info).map((a) => a.local)[0];
  if (!address) throw new Error('no global IPv4 address on the host: pass --tunnel-ip');
  return address;
}

/** The package's version, found from here upwards (src/cli and dist/src/cli alike). */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}
