import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { computeFromSpec } from '../controllers/balancer/compute.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { createRegistry, createStoreMetrics } from '../lib/metrics.js';
import { buildServer, type ServerContext } from '../server/app.js';
import { apiModules } from '../server/apis.js';
import { bootstrapAdmin, createTokenValidator } from '../server/identity/index.js';
import { checkKeyEncryptionKey, readKeyEncryptionKeyFile, readOrCreateKeyEncryptionKeyFile, type KeyEncryptionKey } from '../server/key-manager/index.js';
import { openDatabase } from '../store/database.js';
import { Store } from '../store/store.js';

const USAGE = `usage: cloudnet server [options]

The control plane: Identity (Keystone v3) and the cloud's other APIs over one database.

options:
  --listen HOST:PORT          where to listen (default 127.0.0.1:9696)
  --db URL                    sqlite:PATH or postgres://… (default sqlite:./data/cloudnet.db)
  --admin-password PASSWORD   the admin user's password, set even if the user exists
                              (or env CLOUDNET_ADMIN_PASSWORD; if neither, one is generated
                              and kept in the file admin-password next to the SQLite file,
                              ./data/admin-password for PostgreSQL)
  --public-url URL            how clients reach this server, for the service catalog
                              (default http://HOST:PORT from --listen)
  --region NAME               region of the catalog's endpoints (default RegionOne)
  --token-expiration SECONDS  token lifetime (default 3600)
  --agent-down-time SECONDS   a host agent silent this long is down, and its ports DOWN (default 10)
  --compute SPEC              where amphora VMs are made: lab:SOCKET (a lab's control socket);
                              without it, creating a load balancer ends in ERROR
  --amphora-heartbeat-timeout SECONDS
                              an amphora silent this long is failed over (default 3)
  --key-manager-kek-file PATH the key manager's key-encryption key (32 bytes in base64, e.g. from
                              openssl rand -base64 32); if not given, one is generated and kept
                              (mode 0600) in key-manager-kek next to the SQLite file,
                              ./data/key-manager-kek for PostgreSQL; every server of one database
                              needs the same key
  -h, --help                  show this help`;

export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces). */
export function parseListen(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new Error(`--listen must be HOST:PORT, not '${value}'`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/** The default public URL: the listen address, with a wildcard host replaced by loopback (a client cannot dial 0.0.0.0). */
export function defaultPublicUrl({ host, port }: ListenAddress): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** Where the server keeps a file it generates: beside the SQLite file, or ./data for PostgreSQL. */
export function serverStateFile(dbUrl: string, name: string): string {
  if (dbUrl.startsWith('sqlite:')) {
    const path = dbUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path !== ':memory:') return join(dirname(resolve(path)), name);
  }
  return resolve('data', name);
}

export const adminPasswordFile = (dbUrl: string) => serverStateFile(dbUrl, 'admin-password');

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:9696' },
      db: { type: 'string', default: 'sqlite:./data/cloudnet.db' },
      'admin-password': { type: 'string' },
      'public-url': { type: 'string' },
      region: { type: 'string', default: 'RegionOne' },
      'token-expiration': { type: 'string', default: '3600' },
      'agent-down-time': { type: 'string', default: '10' },
      compute: { type: 'string' },
      'amphora-heartbeat-timeout': { type: 'string', default: '3' },
      'key-manager-kek-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const listen = parseListen(values.listen);
  const tokenExpirationSeconds = Number(values['token-expiration']);
  if (!Number.isInteger(tokenExpirationSeconds) || tokenExpirationSeconds <= 0) {
    throw new Error('--token-expiration must be a positive whole number of seconds');
  }
  const agentDownTimeSeconds = Number(values['agent-down-time']);
  if (!Number.isFinite(agentDownTimeSeconds) || agentDownTimeSeconds <= 0) {
    throw new Error('--agent-down-time must be a positive number of seconds');
  }
  const amphoraHeartbeatTimeoutSeconds = Number(values['amphora-heartbeat-timeout']);
  if (!Number.isFinite(amphoraHeartbeatTimeoutSeconds) || amphoraHeartbeatTimeoutSeconds <= 0) {
    throw new Error('--amphora-heartbeat-timeout must be a positive number of seconds');
  }
  const compute = values.compute === undefined ? undefined : computeFromSpec(values.compute);
  const logger = createLogger('cloudnet-server');
  const registry = createRegistry('cloudnet');
  const storeMetrics = createStoreMetrics(registry, 'cloudnet');
  const store = await Store.open(await openDatabase(values.db), {
    observe: (operation, seconds) => storeMetrics.observe({ operation }, seconds),
  });
  store.revisions.on('error', (err: unknown) => logger.error({ err }, 'lost the database notification listener'));

  try {
    // An empty variable counts as unset, as shells make it easy to export one by accident.
    await bootstrapIdentity(store, values.db, values['admin-password'] ?? (process.env.CLOUDNET_ADMIN_PASSWORD || undefined), logger);
    const keyManagerKek = await loadKeyManagerKek(store, values.db, values['key-manager-kek-file'], logger);
    const ctx: ServerContext = {
      store,
      logger,
      registry,
      publicUrl: values['public-url'] ?? defaultPublicUrl(listen),
      region: values.region,
      tokens: createTokenValidator(store, { registry }),
    };
    const app = await buildServer(ctx, apiModules({ tokenExpirationSeconds, agentDownTimeSeconds, compute, amphoraHeartbeatTimeoutSeconds, keyManagerKek }));
    await app.listen({ host: listen.host, port: listen.port });
    if (listen.port === 0 && values['public-url'] === undefined) {
      const address = app.server.address();
      if (address && typeof address === 'object') ctx.publicUrl = defaultPublicUrl({ host: listen.host, port: address.port });
    }
    logger.info({ publicUrl: ctx.publicUrl, db: redactUrl(values.db), region: ctx.region }, 'cloudnet server ready');

    await new Promise<void>((resolveShutdown) => {
      const shutdown = (signal: NodeJS.Signals) => {
        logger.info({ signal }, 'shutting down');
        process.off('SIGTERM', shutdown);
        process.off('SIGINT', shutdown);
        resolveShutdown();
      };
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);
    });
    // In-flight requests finish before the store they use is closed.
    await app.close();
    return 0;
  } finally {
    await store.close();
  }
}

async function bootstrapIdentity(store: Store, dbUrl: string, explicit: string | undefined, logger: Logger): Promise<void> {
  if (explicit !== undefined) {
    if (explicit.length === 0) throw new Error('the admin password must not be empty');
    const result = await bootstrapAdmin(store, { password: explicit, resetPassword: true });
    logger.info({ adminUserId: result.adminUserId, created: result.createdAdmin }, 'admin password set from configuration');
    return;
  }
  const file = adminPasswordFile(dbUrl);
  if (existsSync(file)) {
    const password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    const result = await bootstrapAdmin(store, { password, resetPassword: false });
    logger.info({ adminUserId: result.adminUserId, passwordFile: file }, 'admin password is in the password file');
    return;
  }
  const generated = randomBytes(18).toString('base64url');
  const result = await bootstrapAdmin(store, { password: generated, resetPassword: false });
  if (!result.createdAdmin) {
    // Another server (or an earlier run with --admin-password) made the admin user; a file would be a lie.
    logger.warn({ passwordFile: file }, 'admin user exists and no password was given; its password is not known here');
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, generated + '\n', { mode: 0o600 });
  logger.info({ passwordFile: file }, 'generated the admin password; it is in the password file');
  process.stderr.write(`cloudnet server: admin password generated and saved in ${file}\n`);
}

async function loadKeyManagerKek(store: Store, dbUrl: string, explicitFile: string | undefined, logger: Logger): Promise<KeyEncryptionKey> {
  let kek: KeyEncryptionKey;
  if (explicitFile !== undefined) {
    kek = readKeyEncryptionKeyFile(explicitFile);
    logger.info({ kekFile: explicitFile, kekId: kek.id }, 'key manager key-encryption key read');
  } else {
    const file = serverStateFile(dbUrl, 'key-manager-kek');
    const { kek: kept, created } = readOrCreateKeyEncryptionKeyFile(file);
    kek = kept;
    logger.info({ kekFile: file, kekId: kek.id, created }, created ? 'generated the key manager key-encryption key' : 'key manager key-encryption key read');
  }
  await checkKeyEncryptionKey(store, kek);
  return kek;
}

/** A database URL fit for logs: the password replaced. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
