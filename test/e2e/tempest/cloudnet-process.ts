import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface CloudnetProcessOptions {
  /** `sqlite:PATH` or `postgres://…`; the database should be fresh. */
  databaseUrl: string;
  /** The server's JSON log goes here (stderr of the child). */
  logFile: string;
  region?: string;
  /** How long to wait for `cloudnet server ready` (default 60 s). */
  startTimeoutMs?: number;
}

export interface CloudnetProcess {
  /** e.g. http://127.0.0.1:40123 — loopback only. */
  url: string;
  adminPassword: string;
  region: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the child has exited. */
  stop(): Promise<void>;
}

/**
 * `cloudnet server` as a child process, run from source through tsx so it is always the code under test, listening
 * on 127.0.0.1 and a port the kernel picks; the URL comes from its `cloudnet server ready` log line.
 */
export async function startCloudnetServer(options: CloudnetProcessOptions): Promise<CloudnetProcess> {
  const adminPassword = `admin-${randomBytes(12).toString('base64url')}`;
  const region = options.region ?? 'RegionOne';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'server', '--listen', '127.0.0.1:0', '--db', options.databaseUrl, '--region', region],
    {
      cwd: REPO,
      env: { ...process.env, CLOUDNET_ADMIN_PASSWORD: adminPassword, CLOUDNET_LOG_LEVEL: process.env.CLOUDNET_TEMPEST_SERVER_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const log = createWriteStream(options.logFile);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`cloudnet server did not get ready; see ${options.logFile}`)), options.startTimeoutMs ?? 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`cloudnet server exited (${signal ?? code}) before it was ready; see ${options.logFile}`));
    });
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      log.write(line + '\n');
      try {
        const entry = JSON.parse(line) as { msg?: string; publicUrl?: string };
        if (entry.msg === 'cloudnet server ready' && entry.publicUrl) {
          clearTimeout(timer);
          resolveUrl(entry.publicUrl);
        }
      } catch {
        // not JSON (a stack trace, a tsx warning): kept in the log only
      }
    });
  }).catch(async (err: unknown) => {
    await stopChild(child, exited);
    log.end();
    throw err;
  });

  return {
    url,
    adminPassword,
    region,
    pid: child.pid!,
    async stop() {
      await stopChild(child, exited);
      log.end();
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
