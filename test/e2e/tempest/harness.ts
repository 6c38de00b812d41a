/**
 * Runs a tempest selection against a fresh `cloudnet server`: start the server (child process, 127.0.0.1, random
 * port, fresh SQLite or PostgreSQL database), create the pre-provisioned accounts through the Identity API, write a
 * tempest workspace (`tempest init`, tempest.conf, accounts.yaml, include and exclude lists), run `tempest run`, and
 * fold the stestr subunit stream into pass/fail/skip per test with skip reasons and tracebacks.
 *
 * A suite (`TempestSuite`) says which tests, which accounts, which extra configuration and fixtures; the Network API
 * suite is in network-suite.ts, octavia-tempest-plugin's will sit beside it.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../support/databases.js';
import type { DialectName } from '../../../src/store/database.js';
import { startCloudnetServer, type CloudnetProcess } from './cloudnet-process.js';
import { CloudClient, planAccounts, provisionAccounts, type AccountPlan } from './cloud.js';
import { cloudnetTempestConf, mergeIni, renderAccountsYaml, renderIni, type Account, type CloudFacts, type IniSections } from './config.js';
import { collectResults, parseSubunitV2, type TestResult } from './subunit.js';
import { summarize, type Exclusion, type RunSummary } from './summary.js';

export const TEMPEST = process.env.CLOUDNET_TEMPEST_BIN ?? '/usr/bin/tempest';

export interface TempestSuite {
  name: string;
  /** Regular expressions of the tests to run (tempest `--include-list`). */
  include: string[];
  /** Tests that cannot run against this cloud, each with the reason; reported, never silently dropped. */
  exclude: Exclusion[];
  accounts: AccountPlan;
  /** Fixtures the suite needs in the cloud before tempest starts (as the cloud admin); returns what tempest must know of them. */
  prepare?: (admin: CloudClient) => Promise<Partial<CloudFacts>>;
  /**
   * Aliases tempest should also take as enabled when the server advertises another that does their job (e.g. `tag`,
   * the pre-Stein name of tags on networks, which `standard-attr-tag` covers). Everything else tempest is told comes
   * from GET /v2.0/extensions at run time.
   */
  impliedExtensions?: ImpliedExtension[];
  /** tempest.conf sections layered over the cloudnet base (e.g. `[load_balancer]` for octavia). */
  conf?: (facts: CloudFacts) => IniSections;
}

export interface ImpliedExtension {
  alias: string;
  impliedBy: string;
  reason: string;
}

/** What tempest's `api_extensions` becomes: the advertised aliases plus those they imply, sorted. */
export function tempestExtensions(advertised: string[], implied: ImpliedExtension[] = []): string[] {
  const aliases = new Set(advertised);
  for (const i of implied) if (aliases.has(i.impliedBy)) aliases.add(i.alias);
  return [...aliases].sort();
}

/** The cloud tempest runs against: a server the harness starts (default) or one the caller brings up (a lab). */
export interface TempestCloud {
  /** e.g. http://127.0.0.1:40123 — loopback only. */
  url: string;
  adminPassword: string;
  region: string;
  stop(): Promise<void>;
}

export interface TempestRunOptions {
  /** The database of the server the harness starts; unused when `startCloud` is given. */
  dialect: DialectName;
  /** Brings up the cloud instead of a bare `cloudnet server` (e.g. a lab with hosts and amphorae), in `workspace`. */
  startCloud?: (workspace: string) => Promise<TempestCloud>;
  /** Parallel tempest workers (default 2). */
  concurrency?: number;
  /** Kill tempest after this long (default 15 minutes). */
  timeoutMs?: number;
  /**
   * Whether to keep the workspace: a boolean, or a decision on the results (default: keep when a test failed or
   * tempest exited non-zero, or CLOUDNET_TEMPEST_KEEP=1). It is always kept when the harness itself fails.
   */
  keepWorkspace?: boolean | ((results: TestResult[], exitCode: number | null) => boolean);
  /**
   * Keep the 10 s sleep tempest's SubnetsClient.delete_subnet takes before every DELETE (a wait for slow port
   * teardown in ML2 agents; here a subnet delete is one transaction). Default false: the harness removes it, which
   * takes the Network API run from about 8.5 minutes to under one. CLOUDNET_TEMPEST_SUBNET_DELETE_SLEEP=1 keeps it.
   */
  keepSubnetDeleteSleep?: boolean;
  /** Each line of tempest's own progress output (subunit-trace), e.g. for a live log. */
  onProgress?: (line: string) => void;
}

export interface TempestRun {
  results: TestResult[];
  summary: RunSummary;
  /** tempest's exit code: 0 only if every selected test passed or was skipped. */
  exitCode: number | null;
  /** The workspace (tempest.conf, accounts.yaml, logs/tempest.log, cloudnet-server.log, tempest-run.log), if kept. */
  workspace?: string;
  /** The aliases GET /v2.0/extensions returned. */
  extensions: string[];
  /** What tempest was told (`[network-feature-enabled] api_extensions`). */
  tempestExtensions: string[];
  /** The accounts tempest was given (passwords included: they live and die with the test cloud). */
  accounts: Account[];
}

export async function runTempestSuite(suite: TempestSuite, options: TempestRunOptions): Promise<TempestRun> {
  const workspace = mkdtempSync(join(tmpdir(), `cloudnet-tempest-${suite.name}-`));
  const home = join(workspace, 'home');
  const tempestDir = join(workspace, 'tempest');
  mkdirSync(home);
  let server: TempestCloud | undefined;
  let keep = process.env.CLOUDNET_TEMPEST_KEEP === '1' || options.keepWorkspace === true;
  try {
    server = await (options.startCloud ?? ((dir) => startServerWithDatabase(dir, options.dialect)))(workspace);
    // tempest talks to this URL and to what its catalog names, nothing else: both must be loopback.
    if (new URL(server.url).hostname !== '127.0.0.1') throw new Error(`cloudnet server is at ${server.url}, not on 127.0.0.1`);
    const admin = await CloudClient.login(server.url, 'admin', server.adminPassword, 'admin');
    const accounts = planAccounts(suite.accounts);
    await provisionAccounts(admin, accounts);

    const catalog = await admin.catalogUrls();
    const offLoopback = catalog.filter((u) => new URL(u).hostname !== '127.0.0.1');
    if (offLoopback.length) throw new Error(`the service catalog names endpoints off loopback: ${offLoopback.join(', ')}`);
    const extensions = await admin.networkExtensions();
    const facts: CloudFacts = {
      identityUri: `${server.url}/identity/v3`,
      region: server.region,
      networkExtensions: tempestExtensions(extensions, suite.impliedExtensions),
      ...(suite.prepare ? await suite.prepare(admin) : {}),
    };

    const keepSleep = options.keepSubnetDeleteSleep ?? process.env.CLOUDNET_TEMPEST_SUBNET_DELETE_SLEEP === '1';
    const env = tempestEnv(home, join(tempestDir, 'etc'), keepSleep ? undefined : writePythonShims(join(workspace, 'python')));
    await runCommand(TEMPEST, ['init', tempestDir], { cwd: workspace, env, logFile: join(workspace, 'tempest-init.log') });
    const etc = join(tempestDir, 'etc');
    const paths = { accountsFile: join(etc, 'accounts.yaml'), lockPath: join(tempestDir, 'tempest_lock'), logDir: join(tempestDir, 'logs') };
    writeFileSync(join(etc, 'accounts.yaml'), renderAccountsYaml(accounts), { mode: 0o600 });
    writeFileSync(join(etc, 'tempest.conf'), renderIni(mergeIni(cloudnetTempestConf(facts, paths), suite.conf?.(facts) ?? {})));
    writeFileSync(join(etc, 'include-list.txt'), suite.include.join('\n') + '\n');
    writeFileSync(join(etc, 'exclude-list.txt'), suite.exclude.map((e) => `${e.pattern}  # ${e.reason}`).join('\n') + '\n');

    const exitCode = await runCommand(
      TEMPEST,
      [
        'run',
        '--concurrency',
        String(options.concurrency ?? 2),
        '--include-list',
        join(etc, 'include-list.txt'),
        '--exclude-list',
        join(etc, 'exclude-list.txt'),
      ],
      { cwd: tempestDir, env, logFile: join(workspace, 'tempest-run.log'), timeoutMs: options.timeoutMs ?? 15 * 60_000, onLine: options.onProgress },
    );

    const results = collectResults(parseSubunitV2(await readLastRunSubunit(tempestDir, env)));
    const summary = summarize(results);
    const decide = options.keepWorkspace;
    if (typeof decide === 'function' ? decide(results, exitCode) : summary.totals.fail > 0 || exitCode !== 0) keep = true;
    return { results, summary, exitCode, extensions, tempestExtensions: facts.networkExtensions, accounts, workspace: keep ? workspace : undefined };
  } catch (err) {
    keep = true;
    throw new Error(`${err instanceof Error ? err.message : String(err)} (workspace kept: ${workspace})`, { cause: err });
  } finally {
    await server?.stop();
    if (!keep) rmSync(workspace, { recursive: true, force: true });
  }
}

/** A bare `cloudnet server` over a fresh SQLite file in the workspace or a fresh database, dropped when it stops. */
async function startServerWithDatabase(workspace: string, dialect: DialectName): Promise<TempestCloud> {
  let database: TestDatabase | undefined;
  let databaseUrl: string;
  if (dialect === 'sqlite') {
    databaseUrl = `sqlite:${join(workspace, 'cloudnet.db')}`;
  } else {
    database = await createTestDatabase(dialect);
    databaseUrl = database.url;
  }
  let server: CloudnetProcess;
  try {
    server = await startCloudnetServer({ databaseUrl, logFile: join(workspace, 'cloudnet-server.log') });
  } catch (err) {
    await database?.drop();
    throw err;
  }
  return {
    url: server.url,
    adminPassword: server.adminPassword,
    region: server.region,
    async stop() {
      await server.stop();
      await database?.drop();
    },
  };
}

/**
 * tempest's environment: its own HOME (tempest init registers workspaces in ~/.tempest), no OS_* of the caller, no
 * proxies (everything it talks to is on 127.0.0.1), Debian's python first on PATH.
 */
function tempestEnv(home: string, configDir: string, pythonPath?: string): NodeJS.ProcessEnv {
  const dropped = /^(OS_|https?_proxy$|HTTPS?_PROXY$|all_proxy$|ALL_PROXY$|PYTHON|VIRTUAL_ENV$|PYENV)/;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !dropped.test(k)));
  return {
    ...env,
    HOME: home,
    PATH: `/usr/sbin:/usr/bin:/sbin:/bin`,
    no_proxy: '127.0.0.1,localhost',
    NO_PROXY: '127.0.0.1,localhost',
    TEMPEST_CONFIG_DIR: configDir,
    TEMPEST_CONFIG: 'tempest.conf',
    ...(pythonPath ? { PYTHONPATH: pythonPath } : {}),
  };
}

/**
 * A sitecustomize for tempest's processes (tempest run and the stestr workers) that takes the fixed 10 s sleep out
 * of SubnetsClient.delete_subnet, and nothing else. (It shadows Debian's, which only installs apport's crash hook.)
 */
export function writePythonShims(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'sitecustomize.py'),
    `# Written by cloudnet's tempest harness (test/e2e/tempest/harness.ts).
import sys, types
try:
    from tempest.lib.services.network import subnets_client as _subnets_client
    _time = _subnets_client.time
    _subnets_client.time = types.SimpleNamespace(**{k: getattr(_time, k) for k in dir(_time) if not k.startswith('__')})
    _subnets_client.time.sleep = lambda seconds: None
except Exception as error:  # never stop tempest over a speed-up
    sys.stderr.write('cloudnet sitecustomize: subnet delete sleep kept: %r\\n' % (error,))
`,
  );
  return dir;
}

export const STESTR = process.env.CLOUDNET_STESTR_BIN ?? '/usr/bin/stestr';

/**
 * The subunit v2 stream of the newest run in a tempest workspace. stestr's repository keeps runs in its own format
 * (subunit v1 in this version), so ask stestr for it rather than read `.stestr/<n>`.
 */
export function readLastRunSubunit(dir: string, env: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolveRead, reject) => {
    const child = spawn(STESTR, ['last', '--subunit'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    // stestr exits 1 when the run had failures: the stream is what matters.
    child.once('close', () => {
      const stream = Buffer.concat(out);
      if (stream.length === 0) reject(new Error(`stestr last --subunit gave nothing in ${dir}: ${Buffer.concat(err).toString().trim()}`));
      else resolveRead(stream);
    });
  });
}

interface CommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs?: number;
  onLine?: (line: string) => void;
}

function runCommand(command: string, args: string[], options: CommandOptions): Promise<number | null> {
  return new Promise((resolveRun, reject) => {
    const log = createWriteStream(options.logFile);
    log.write(`$ ${command} ${args.join(' ')}\n`);
    // Its own process group, so a timeout stops tempest and the stestr workers it forked together.
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    let pending = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (!options.onLine) return;
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = options.timeoutMs
      ? setTimeout(() => {
          log.write(`\n[harness] timed out after ${options.timeoutMs} ms; killing ${command}\n`);
          signalGroup('SIGTERM');
          setTimeout(() => signalGroup('SIGKILL'), 10_000).unref();
        }, options.timeoutMs)
      : undefined;
    child.once('error', (err) => {
      clearTimeout(timer);
      log.end();
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (pending && options.onLine) options.onLine(pending);
      log.end();
      if (command === TEMPEST && args[0] === 'init' && code !== 0) reject(new Error(`tempest init failed (${code}); see ${options.logFile}`));
      else resolveRun(code);
    });
  });
}
