import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createLogger } from '../../src/lib/logger.js';
import { createRegistry, createStoreMetrics } from '../../src/lib/metrics.js';
import { buildServer, type ApiModule, type ServerContext } from '../../src/server/app.js';
import { apiModules } from '../../src/server/apis.js';
import { bootstrapAdmin, createTokenValidator, identityApi } from '../../src/server/identity/index.js';
import { keyEncryptionKey } from '../../src/server/key-manager/index.js';
import { openrcVariables } from '../../src/cli/openrc.js';
import type { DialectName } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase } from './databases.js';
import { DEFAULT_DOMAIN_ID } from '../../src/server/identity/model.js';
import { newIdentityId } from '../../src/server/identity/ids.js';
import { hashPassword } from '../../src/server/identity/passwords.js';
import * as repo from '../../src/server/identity/repository.js';

export interface TestServerOptions {
  dialect: DialectName;
  /** The APIs to mount (default: every API the real server mounts). Identity is always mounted, for tokens. */
  apis?: ApiModule[];
  /** Use this database instead of a fresh one (e.g. a second server on the same PostgreSQL); not dropped on close. */
  databaseUrl?: string;
  /** The admin password to set (default: a random one); a second server on one database passes the first one's. */
  adminPassword?: string;
  /** How long the token validator reuses an answer (default 1000 ms, as in production). */
  tokenCacheMilliseconds?: number;
}

export interface ProjectUser {
  name: string;
  userId: string;
  projectId: string;
  password: string;
  /** A token of this user scoped to its project. */
  token: string;
}

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  databaseUrl: string;
  store: Store;
  adminPassword: string;
  /** A project-scoped token (X-Auth-Token value). Defaults: user admin, its known password, project admin (or the user's own). */
  issueToken(user?: string, password?: string, project?: string): Promise<string>;
  /** A new project and user both called `name`, the user holding `roles` (default member) on the project. */
  createProjectUser(name: string, roles?: string[]): Promise<ProjectUser>;
  /** An environment for spawning /usr/bin/openstack as `user` (default admin): this process's env without OS_*, plus the OS_* of openrc. */
  openrcEnv(user?: string): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** The real app, in process, on 127.0.0.1 and a random port, over a fresh database, with the admin bootstrapped. */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const tdb = options.databaseUrl ? undefined : await createTestDatabase(options.dialect);
  const databaseUrl = options.databaseUrl ?? tdb!.url;
  const registry = createRegistry('cloudnet');
  const storeMetrics = createStoreMetrics(registry, 'cloudnet');
  const store = await Store.open(await openDatabase(databaseUrl), {
    observe: (operation, seconds) => storeMetrics.observe({ operation }, seconds),
  });
  const adminPassword = options.adminPassword ?? `admin-${randomBytes(9).toString('base64url')}`;
  await bootstrapAdmin(store, { password: adminPassword, resetPassword: true });

  const ctx: ServerContext = {
    store,
    logger: createLogger('cloudnet-test-server', process.env.CLOUDNET_TEST_LOG_LEVEL ?? 'warn'),
    registry,
    publicUrl: 'http://127.0.0.1:0',
    region: 'RegionOne',
    tokens: createTokenValidator(store, { cacheMilliseconds: options.tokenCacheMilliseconds, registry }),
  };
  // One key per database, so that servers sharing a database share it, as cloudnet server's key file makes them.
  const apis = options.apis ?? apiModules({ keyManagerKek: keyEncryptionKey(createHash('sha256').update(databaseUrl).digest()) });
  const withIdentity = apis.some((a) => a.prefix === '/identity') ? apis : [identityApi, ...apis];
  const app = await buildServer(ctx, withIdentity);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('test server has no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  ctx.publicUrl = url;

  const passwords = new Map<string, string>([['admin', adminPassword]]);

  async function post(path: string, token: string | undefined, body: unknown): Promise<{ status: number; headers: Headers; body: any }> {
    const response = await fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { 'x-auth-token': token } : {}) },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  async function issueToken(user = 'admin', password?: string, project?: string): Promise<string> {
    const secret = password ?? passwords.get(user);
    if (secret === undefined) throw new Error(`no known password for test user '${user}'`);
    const response = await post('/identity/v3/auth/tokens', undefined, {
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password: secret } } },
        scope: { project: { name: project ?? user, domain: { id: 'default' } } },
      },
    });
    const token = response.headers.get('x-subject-token');
    if (response.status !== 201 || !token) throw new Error(`token for ${user}: ${response.status} ${JSON.stringify(response.body)}`);
    return token;
  }

  return {
    url,
    databaseUrl,
    store,
    adminPassword,
    issueToken,
    async createProjectUser(name, roles = ['member']) {
      const password = `pw-${randomBytes(9).toString('base64url')}`;
      const { userId, projectId } = await insertProjectUser(store, name, password, roles);
      passwords.set(name, password);
      return { name, userId, projectId, password, token: await issueToken(name, password, name) };
    },
    openrcEnv(user = 'admin') {
      const password = passwords.get(user);
      if (password === undefined) throw new Error(`no known password for test user '${user}'`);
      const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
      return { ...env, ...openrcVariables({ url, user, password, project: user, region: ctx.region }) };
    },
    async close() {
      await app.close();
      await store.close();
      await tdb?.drop();
    },
  };
}

/** Straight into the tables (the admin API is tested on its own; fixtures need only be quick and certain). */
async function insertProjectUser(store: Store, name: string, password: string, roles: string[]) {
  const passwordHash = await hashPassword(password);
  return store.write(async (tx) => {
    const projectId = newIdentityId();
    const userId = newIdentityId();
    await repo.insertProject(tx.db, { id: projectId, domainId: DEFAULT_DOMAIN_ID, name, description: '', enabled: true, extra: {} }, tx.now);
    await repo.insertUser(
      tx.db,
      { id: userId, domainId: DEFAULT_DOMAIN_ID, name, enabled: true, passwordHash, defaultProjectId: projectId, extra: {} },
      tx.now,
    );
    for (const roleName of roles) {
      const role = await repo.findRoleByName(tx.db, roleName);
      if (!role) throw new Error(`no role '${roleName}'`);
      await repo.grantRole(tx.db, userId, projectId, role.id);
    }
    return { userId, projectId };
  });
}

export interface ServerProcess {
  child: ChildProcess;
  /** The public URL the server logged when ready. */
  url: string;
  /** Its stderr (JSON log lines and notices), so far. */
  logs: string[];
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** `cloudnet server ARGS` as a child process (add `--listen 127.0.0.1:0`); resolves once it logs that it is ready. */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line);
      if (line.includes('"cloudnet server ready"')) resolve((JSON.parse(line) as { publicUrl: string }).publicUrl);
    });
    child.once('exit', (code) => reject(new Error(`cloudnet server exited with ${code}:\n${logs.join('\n')}`)));
  });
  return {
    child,
    url,
    logs,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
