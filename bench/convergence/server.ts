/**
 * The real cloudnet server app (Identity, Network API, /cloudnet/v1 hosts and feed) as `cloudnet server` builds
 * it, in its own process, with the feed's fan-out policy chosen on the command line:
 *
 *   node --import tsx bench/convergence/server.ts --db sqlite:PATH --policy sprut|neutron --agent-down-time S
 *
 * The admin password comes from CLOUDNET_ADMIN_PASSWORD. Prints one JSON line when it listens:
 * {"url": "...", "bootMs": …} (bootMs: from opening the database to listening, which includes building the
 * feed's relevance index from the database).
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../../src/lib/logger.js';
import { createRegistry } from '../../src/lib/metrics.js';
import { buildServer, type ServerContext } from '../../src/server/app.js';
import { createCloudnetApi } from '../../src/server/cloudnet/index.js';
import { bootstrapAdmin, createIdentityApi, createTokenValidator } from '../../src/server/identity/index.js';
import { createNetworkApi } from '../../src/server/network/routes.js';
import { openDatabase } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { SPRUT_FAN_OUT } from '../../src/feed/hub.js';
import { NEUTRON_FAN_OUT } from './fan-out.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    listen: { type: 'string', default: '127.0.0.1:0' },
    policy: { type: 'string', default: 'sprut' },
    'agent-down-time': { type: 'string', default: '10' },
  },
});
if (!values.db) throw new Error('--db is required');
const password = process.env.CLOUDNET_ADMIN_PASSWORD;
if (!password) throw new Error('CLOUDNET_ADMIN_PASSWORD is required');
const fanOut = values.policy === 'neutron' ? NEUTRON_FAN_OUT : values.policy === 'sprut' ? SPRUT_FAN_OUT : undefined;
if (!fanOut) throw new Error(`--policy must be sprut or neutron, not ${values.policy}`);
const [host, port] = values.listen.split(':');

const started = performance.now();
const logger = createLogger('cloudnet-bench-server', process.env.CLOUDNET_LOG_LEVEL ?? 'warn');
const store = await Store.open(await openDatabase(values.db));
await bootstrapAdmin(store, { password, resetPassword: true });
const ctx: ServerContext = {
  store,
  logger,
  registry: createRegistry('cloudnet'),
  publicUrl: 'http://127.0.0.1:0',
  region: 'RegionOne',
  tokens: createTokenValidator(store),
};
const app = await buildServer(ctx, [
  createIdentityApi(),
  createNetworkApi(),
  createCloudnetApi({ hosts: { agentDownTimeSeconds: Number(values['agent-down-time']), fanOut } }),
]);
await app.listen({ host, port: Number(port) });
const address = app.server.address();
if (!address || typeof address !== 'object') throw new Error('no TCP address');
ctx.publicUrl = `http://127.0.0.1:${address.port}`;
process.stdout.write(JSON.stringify({ url: ctx.publicUrl, bootMs: performance.now() - started }) + '\n');

const shutdown = async () => {
  process.off('SIGTERM', shutdown);
  const t0 = performance.now();
  await app.close();
  const t1 = performance.now();
  await store.close();
  if (process.env.BENCH_DEBUG) process.stderr.write(`server: closed app in ${(t1 - t0).toFixed(0)} ms, store in ${(performance.now() - t1).toFixed(0)} ms\n`);
  process.exit(0);
};
process.on('SIGTERM', shutdown);
