/**
 * bench/api: the Network API's port create latency and throughput at concurrency 1, 8 and 32, and list latency
 * with 20,000 ports, on SQLite and PostgreSQL, beside this machine's raw SQLite insert rate (the ceiling).
 *
 *   node --import tsx bench/api/run.ts [--ports 20000] [--creates 400] [--seconds 60]
 *
 * The server runs as a real `cloudnet server` child process on 127.0.0.1; the load comes from this process.
 * Every loop is bounded by a count and a time.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { KeystoneSession } from '../../src/lib/openstack-session.js';
import { ms, runBounded, summarize } from '../lib/stats.js';

const { values: args } = parseArgs({
  options: {
    ports: { type: 'string', default: '20000' },
    creates: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '60' },
  },
});
const LIST_PORTS = Number(args.ports);
const CREATES = Number(args.creates);
const SECONDS = Number(args.seconds);
const ROOT = new URL('../..', import.meta.url).pathname;

interface Target {
  name: string;
  url: string;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'cloudnet-bench-api-'));
  const pgDir = mkdtempSync(join(tmpdir(), 'cloudnet-bench-pg-'));
  let pgUrl: string | undefined;
  try {
    const ceiling = sqliteInsertRate(join(work, 'ceiling.db'));
    console.log(`ceiling: raw SQLite (better-sqlite3, WAL, one transaction per insert): ${ceiling.toFixed(0)} inserts/s`);
    pgUrl = execFileSync('bash', [join(ROOT, 'scripts/postgres-temp.sh'), 'start', pgDir], { encoding: 'utf8' }).trim();
    execFileSync('psql', [pgUrl, '-qc', 'CREATE DATABASE bench']);
    const targets: Target[] = [
      { name: 'sqlite', url: `sqlite:${join(work, 'cloudnet.db')}` },
      { name: 'postgres', url: pgUrl.replace(/\/postgres$/, '/bench') },
    ];
    const rows: string[] = [];
    for (const target of targets) rows.push(...(await benchTarget(target, ceiling)));
    console.log('\n' + ['database  | measurement                          | result', '----------|--------------------------------------|------------------------------------------', ...rows].join('\n'));
  } finally {
    if (pgUrl) execFileSync('bash', [join(ROOT, 'scripts/postgres-temp.sh'), 'stop', pgDir]);
    rmSync(work, { recursive: true, force: true });
  }
}

async function benchTarget(target: Target, ceiling: number): Promise<string[]> {
  const password = `bench-${randomUUID()}`;
  const server = await startServer(target.url, password);
  const rows: string[] = [];
  try {
    const session = new KeystoneSession({ authUrl: `${server.url}/identity/v3`, username: 'admin', password, projectName: 'admin' });
    const token = await session.getToken();
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}/network/v2.0${path}`, {
        method,
        headers: { 'x-auth-token': token, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => {
        const text = await r.text();
        if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
        return text ? JSON.parse(text) : undefined;
      });
    await api('PUT', `/quotas/${await session.getProjectId()}`, { quota: { port: -1, network: -1, subnet: -1 } });
    const net = (await api('POST', '/networks', { network: { name: 'bench' } })).network;
    await api('POST', '/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.0.0/16' } });

    for (const concurrency of [1, 8, 32]) {
      const { latencies, elapsed } = await runBounded(CREATES, SECONDS, concurrency, async (i) => {
        await api('POST', '/ports', { port: { network_id: net.id, name: `c${concurrency}-${i}` } });
      });
      const s = summarize(latencies);
      const rate = s.n / elapsed;
      rows.push(
        `${target.name.padEnd(9)} | port create, concurrency ${String(concurrency).padEnd(2)}         | p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms, ${rate.toFixed(0)} ports/s (${((rate / ceiling) * 100).toFixed(1)}% of ceiling), n=${s.n}`,
      );
    }

    const have = (await api('GET', `/ports?network_id=${net.id}&fields=id`)).ports.length;
    const fillStarted = performance.now();
    const deadline = fillStarted + SECONDS * 3 * 1000;
    for (let n = have; n < LIST_PORTS && performance.now() < deadline; n += 200) {
      const batch = Array.from({ length: Math.min(200, LIST_PORTS - n) }, (_, i) => ({ network_id: net.id, name: `fill-${n + i}`, device_id: `vm-${(n + i) % 1000}` }));
      await api('POST', '/ports', { ports: batch });
    }
    const total = (await api('GET', `/ports?network_id=${net.id}&fields=id`)).ports.length;
    rows.push(`${target.name.padEnd(9)} | bulk fill to ${total} ports                | ${((total - have) / ((performance.now() - fillStarted) / 1000)).toFixed(0)} ports/s in bulks of 200`);

    const listCases: [string, string][] = [
      [`list all ${total} ports`, '/ports'],
      ['list one device (device_id filter)', '/ports?device_id=vm-7'],
      ['list a page of 100 (limit)', '/ports?limit=100'],
      ['list by fixed IP', '/ports?fixed_ips=ip_address%3D198.18.3.3'],
    ];
    for (const [label, path] of listCases) {
      const runs = label.startsWith('list all') ? 10 : 100;
      const { latencies } = await runBounded(runs, SECONDS, 1, async () => {
        await api('GET', path);
      });
      const s = summarize(latencies);
      rows.push(`${target.name.padEnd(9)} | ${label.padEnd(36)} | p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms, n=${s.n}`);
    }
  } finally {
    await stopServer(server.child);
  }
  return rows;
}

/** Rows like a port's, one transaction each: what SQLite itself allows on this machine. */
function sqliteInsertRate(path: string): number {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, network_id TEXT, name TEXT, mac TEXT, body TEXT)');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)');
  const one = db.transaction((i: number) => insert.run(randomUUID(), 'n', `p${i}`, `fa:16:3e:${i}`, '{}'));
  const started = performance.now();
  let n = 0;
  while (n < 20000 && performance.now() - started < 5000) one(n++);
  const rate = n / ((performance.now() - started) / 1000);
  db.close();
  return rate;
}

async function startServer(dbUrl: string, password: string): Promise<{ url: string; child: ChildProcess }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'server', '--listen', `127.0.0.1:${port}`, '--db', dbUrl], {
    env: { ...process.env, CLOUDNET_ADMIN_PASSWORD: password, CLOUDNET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('cloudnet server did not come up');
}

async function stopServer(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}


await main();
