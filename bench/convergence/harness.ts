/**
 * The convergence benchmark's harness: builds a cloud through the real Network API of a real server process,
 * attaches one simulated agent per host, and runs the scenarios once with the feed's Sprut fan-out and once with
 * the model of Neutron's (`fan-out.ts`), on the same database, in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { summarize } from '../lib/stats.js';
import { AgentPool } from './agent-pool.js';
import { Heartbeats, monotonicMs, type Holds } from './agents.js';
import { KeystoneSession } from '../../src/lib/openstack-session.js';

export interface ConvergenceOptions {
  hosts: number;
  ports: number;
  networks: number;
  /** Hosts with a port whose group has a rule naming the big group as its remote group. */
  referencingHosts: number;
  failPercent: number;
  agentDownTimeSeconds: number;
  /** Bound of every wait, in seconds. */
  waitSeconds: number;
  /** Processes the simulated agents are spread over. */
  agentProcesses: number;
  /** The server's database: an empty one (postgres://…), or undefined for a new SQLite file. */
  db?: string;
  log: (line: string) => void;
}

export type Model = 'cloudnet' | 'neutron';

export interface ScenarioResult {
  scenario: string;
  model: Model;
  p50: number;
  p99: number;
  /** Concerned agents that held the change, of how many. */
  held: number;
  concerned: number;
  bytes: number;
  reached: number;
  /** Last message of the scenario to reach any agent, from the start. */
  lastMs: number;
  /** The agent sent the most, and its bytes. */
  top: [string, number];
  /** How long the scenario's action took (for a create or update: the API call, request to response). */
  actionMs: number;
  /** The longest stall of any agent process's event loop during the scenario. */
  agentLoopMaxMs: number;
  note?: string;
}

export interface ConvergenceResult {
  layout: string;
  setup: string[];
  results: ScenarioResult[];
  loadBefore: number[];
  loadAfter: number[];
}

const ROOT = new URL('../..', import.meta.url).pathname;

interface Server {
  child: ChildProcess;
  url: string;
  bootMs: number;
}

export async function runConvergence(o: ConvergenceOptions): Promise<ConvergenceResult> {
  const loadBefore = loadavg();
  const work = mkdtempSync(join(tmpdir(), 'cloudnet-bench-convergence-'));
  const dbUrl = o.db ?? `sqlite:${join(work, 'cloudnet.db')}`;
  const password = `bench-${randomUUID()}`;
  const setup: string[] = [];
  const results: ScenarioResult[] = [];
  const note = (line: string) => {
    setup.push(line);
    o.log(line);
  };

  const H = o.hosts;
  const hostsPerNetwork = Math.max(1, Math.floor(H / o.networks));
  const rounds = Math.floor(o.ports / H);
  if (rounds < 3 || H % o.networks !== 0) throw new Error('need --ports >= 3 × --hosts and --hosts a multiple of --networks');
  const hostName = (i: number) => `host-${String(i).padStart(4, '0')}`;
  const networkOfHost = (i: number) => Math.floor(i / hostsPerNetwork);
  const referenceStride = Math.max(1, Math.floor(H / o.referencingHosts));
  const isReferencing = (i: number) => i % referenceStride === 0 && i / referenceStride < o.referencingHosts;
  // Port j is on host j % H (so every host has `rounds` ports); rounds ≡ 0 (mod 5) are the big group's members.
  const inBigGroup = (j: number) => Math.floor(j / H) % 5 === 0;
  const isReferrer = (j: number) => Math.floor(j / H) === 1 && isReferencing(j % H);
  const failCount = Math.max(1, Math.round((H * o.failPercent) / 100));
  const failStride = Math.floor(H / failCount);
  const failSet = (offset: number) => Array.from({ length: failCount }, (_, k) => hostName((k * failStride + offset) % H));
  const bigGroupSize = Array.from({ length: rounds * H }, (_, j) => j).filter(inBigGroup).length;
  const layout =
    `${H} hosts, ${rounds * H} ports (${rounds} per host), ${o.networks} VXLAN networks of ${hostsPerNetwork * rounds} ports, ` +
    `each on its own ${hostsPerNetwork} hosts (a host carries one network: it holds ${(hostsPerNetwork - 1) * rounds} remote ports); ` +
    `every port in group "base" (tcp/22 from 0.0.0.0/0); ${bigGroupSize} ports (on every host) also in group "big"; ` +
    `group "ref" (tcp/5432 from remote group "big") on one port of each of ${o.referencingHosts} hosts, which hold big's address set`;
  o.log(`layout: ${layout}`);

  let server: Server | undefined;
  let port = 0;
  const url = () => server!.url;
  const calls = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const beats = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const failed = new Set<string>();
  let agents: AgentPool | undefined;
  let heartbeats: Heartbeats | undefined;

  const start = async (policy: 'sprut' | 'neutron') => {
    server = await startServer(dbUrl, password, policy, port, o.agentDownTimeSeconds);
    port = Number(new URL(server.url).port);
    return server;
  };
  const stop = async () => {
    if (server) await stopServer(server.child);
  };

  try {
    let t = performance.now();
    await start('sprut');
    note(`server up in ${server!.bootMs.toFixed(0)} ms (empty database, ${dbUrl.split(':')[0]})`);
    const session = new KeystoneSession({ authUrl: `${url()}/identity/v3`, username: 'admin', password, projectName: 'admin' });
    const token = await session.getToken();
    const api = jsonApi(url, token, calls);
    const project = await session.getProjectId();
    await api('PUT', `/network/v2.0/quotas/${project}`, {
      quota: { port: -1, network: -1, subnet: -1, security_group: -1, security_group_rule: -1 },
    });

    await forEachBounded(H, 16, (i) =>
      api('PUT', `/cloudnet/v1/hosts/${hostName(i)}`, { host: { tunnel_ip: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` } }),
    );
    const networks: string[] = [];
    for (let k = 0; k < o.networks; k++) {
      const net = (await api('POST', '/network/v2.0/networks', { network: { name: `net-${k}` } })).network;
      await api('POST', '/network/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: `10.${k}.0.0/16` } });
      networks.push(net.id);
    }
    const group = async (name: string, rule: Record<string, unknown>) => {
      const g = (await api('POST', '/network/v2.0/security-groups', { security_group: { name } })).security_group;
      await api('POST', '/network/v2.0/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', ethertype: 'IPv4', ...rule } });
      return g.id as string;
    };
    const base = await group('base', { protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' });
    const big = await group('big', { protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '0.0.0.0/0' });
    const ref = await group('ref', { protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: big });
    note(`registered ${H} hosts, ${o.networks} networks, 3 groups in ${ms(performance.now() - t)} ms`);

    t = performance.now();
    const portIds = new Map<number, { id: string; ip: string }>();
    const BULK = 500;
    for (let j0 = 0; j0 < rounds * H; j0 += BULK) {
      const batch = [];
      for (let j = j0; j < Math.min(rounds * H, j0 + BULK); j++) {
        const h = j % H;
        batch.push({
          network_id: networks[networkOfHost(h)],
          name: `p${j}`,
          'binding:host_id': hostName(h),
          device_owner: 'compute:nova',
          device_id: `vm-${j}`,
          security_groups: [base, ...(inBigGroup(j) ? [big] : []), ...(isReferrer(j) ? [ref] : [])],
        });
      }
      const created = (await api('POST', '/network/v2.0/ports', { ports: batch })).ports as { id: string; fixed_ips: { ip_address: string }[] }[];
      created.forEach((p, i) => portIds.set(j0 + i, { id: p.id, ip: p.fixed_ips[0].ip_address }));
      if ((j0 + BULK) % 10_000 === 0) o.log(`  … ${j0 + BULK} ports (${ms(performance.now() - t)} ms)`);
    }
    note(`created ${portIds.size} ports through the Network API (bulks of ${BULK}) in ${ms(performance.now() - t)} ms`);

    // Agents: each holds its stream, in one of the agent processes; the coordinator heartbeats for them.
    const downMs = o.agentDownTimeSeconds * 1000;
    const hosts = Array.from({ length: H }, (_, i) => hostName(i));
    agents = new AgentPool(hosts, o.agentProcesses, url(), token, 4096);
    const pool = agents;
    heartbeats = new Heartbeats(url, token, Math.max(300, downMs / 3), beats);
    for (const host of hosts) heartbeats.add(host);
    heartbeats.start();
    const resumes: Holds = { kind: 'resumes' };
    const all = () => new Map(hosts.filter((h) => !failed.has(h)).map((h) => [h, resumes]));

    t = performance.now();
    await pool.begin(all());
    pool.start(hosts);
    await until(() => pool.pending === 0, o.waitSeconds, 'every agent holding its first snapshot').catch((err: Error) => o.log(`  ! ${err.message}`));
    let counts = await pool.end();
    note(`${H} agents in ${pool.processes} process${pool.processes === 1 ? '' : 'es'} took their first snapshots (cloudnet, since=0) in ${ms(performance.now() - t)} ms: ${mb(counts.bytes)}`);

    const toFail = { cloudnet: failSet(1), neutron: failSet(2) };
    const reportActive = async (host: string) => {
      const ids = ((await api('GET', `/network/v2.0/ports?binding%3Ahost_id=${host}&fields=id`)).ports as { id: string }[]).map((p) => p.id);
      await api('POST', `/cloudnet/v1/hosts/${host}/port-status`, { ports: Object.fromEntries(ids.map((id) => [id, 'ACTIVE'])) });
    };

    const scenario = async (
      model: Model,
      name: string,
      concerned: Map<string, Holds>,
      action: () => Promise<void>,
      quietMs = 500,
    ): Promise<ScenarioResult> => {
      await waitQuiet(pool, 300, o.waitSeconds);
      const t0 = await pool.begin(concerned);
      await action();
      const actionMs = monotonicMs() - t0;
      await until(() => pool.pending === 0, o.waitSeconds, `${model} ${name}`).catch((err: Error) => o.log(`  ! ${err.message}`));
      await waitQuiet(pool, quietMs, o.waitSeconds);
      const c = await pool.end();
      const s = summarize([...c.heldAt.values()].map((v) => v - t0));
      const r: ScenarioResult = {
        scenario: name,
        model,
        p50: s.p50,
        p99: s.p99,
        held: c.heldAt.size,
        concerned: concerned.size,
        bytes: c.bytes,
        reached: c.reached,
        lastMs: c.lastAt - t0,
        top: c.top,
        actionMs,
        agentLoopMaxMs: c.agentLoopMaxMs,
      };
      results.push(r);
      o.log(
        `  ${model} ${name}: p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, held by ${r.held}/${r.concerned}, ${mb(r.bytes)} to ${r.reached} agents (most to one: ${mb(r.top[1])}, ${r.top[0]}), last message at ${ms(r.lastMs)} ms; action ${ms(r.actionMs)} ms; agents' event loop stalled up to ${ms(r.agentLoopMaxMs)} ms`,
      );
      return r;
    };

    const phase = async (model: Model, index: number) => {
      o.log(`${model}:`);
      // Ports of the hosts that will fail are ACTIVE, as their agents report once wired (now: a restart in between
      // that outlasts the down time marks every host down, and its ports with it).
      const t1 = performance.now();
      for (const host of toFail[model]) await reportActive(host);
      await waitQuiet(pool, 500, o.waitSeconds);
      note(`  the ${failCount} hosts that fail next reported their ports ACTIVE in ${ms(performance.now() - t1)} ms`);
      // 1. One port create on network 0, bound to host 0 (index distinguishes the two runs' ports).
      const mac = `fa:16:3e:ee:00:${String(index).padStart(2, '0')}`;
      const boundHost = hostName(index);
      const netHosts = Array.from({ length: hostsPerNetwork }, (_, i) => hostName(i));
      await scenario(
        model,
        'one port create',
        new Map(netHosts.map((h): [string, Holds] => [h, { kind: 'port-mac', mac, among: h === boundHost ? 'ports' : 'remotePorts' }])),
        async () => {
          await api('POST', '/network/v2.0/ports', {
            port: { network_id: networks[0], mac_address: mac, 'binding:host_id': boundHost, device_owner: 'compute:nova', device_id: `vm-new-${index}`, security_groups: [base] },
          });
        },
      );

      // 2. One port joins the big group: a port of round 2 (not a member), on host 3 + index.
      const j = 2 * H + ((3 + index) % H);
      const joining = portIds.get(j)!;
      const joiningHost = hostName(j % H);
      const referencing = Array.from({ length: H }, (_, i) => i).filter(isReferencing).map(hostName);
      const concerned2 = new Map<string, Holds>(referencing.map((h) => [h, { kind: 'address', group: big, ip: joining.ip }]));
      concerned2.set(joiningHost, { kind: 'port-in-group', port: joining.id, group: big });
      await scenario(model, `one port joins a group of ${bigGroupSize}`, concerned2, async () => {
        await api('PUT', `/network/v2.0/ports/${joining.id}`, { port: { security_groups: [base, big] } });
      });

      // 3. 1 % of hosts fail: their agents stop heart-beating and drop their streams. Latency: failure to all their ports DOWN.
      const failing = toFail[model];
      const downAt = new Map<string, number>();
      const r3 = await scenario(
        model,
        `${failCount} hosts (${o.failPercent} %) fail`,
        new Map(),
        async () => {
          const t0 = performance.now();
          for (const h of failing) {
            failed.add(h);
            heartbeats!.remove(h);
          }
          pool.stop(failing);
          await until(
            async () => {
              for (const h of failing) {
                if (downAt.has(h)) continue;
                const active = (await api('GET', `/network/v2.0/ports?binding%3Ahost_id=${h}&status=ACTIVE&fields=id`)).ports.length;
                if (active === 0) downAt.set(h, performance.now() - t0);
              }
              return downAt.size === failing.length;
            },
            o.agentDownTimeSeconds + o.waitSeconds,
            'failed hosts marked down',
            200,
          ).catch((err: Error) => o.log(`  ! ${err.message}`));
        },
        1500,
      );
      const d = summarize([...downAt.values()]);
      Object.assign(r3, { p50: d.p50, p99: d.p99, held: downAt.size, concerned: failing.length, note: `failure to ports DOWN; includes the ${o.agentDownTimeSeconds} s down time` });
      o.log(`    ports DOWN after p50 ${ms(d.p50)} ms, p99 ${ms(d.p99)} ms (down time ${o.agentDownTimeSeconds} s)`);

      // 3b. They come back: heartbeat, report their ports ACTIVE, resume their streams from their held revision.
      await scenario(model, `${failCount} failed hosts return`, new Map(failing.map((h) => [h, resumes])), async () => {
        for (const h of failing) {
          failed.delete(h);
          await heartbeats!.beatNow(h);
          pool.start([h]);
        }
        for (const h of failing) await reportActive(h);
      });

      // 4. Server restart: every agent resumes from its held revision. Latency from the new server listening.
      let restart = { downMs: 0, stopMs: 0, bootMs: 0 };
      const r4 = await scenario(model, `server restart, ${H} agents resume`, all(), async () => {
        const t0 = performance.now();
        await stop();
        const stopMs = performance.now() - t0;
        await start(model === 'neutron' ? 'neutron' : 'sprut');
        restart = { downMs: performance.now() - t0, stopMs, bootMs: server!.bootMs };
        pool.kick(url());
      });
      const shift = restart.downMs;
      Object.assign(r4, {
        p50: r4.p50 - shift,
        p99: r4.p99 - shift,
        lastMs: r4.lastMs - shift,
        note: `from the new server listening; it was down ${ms(restart.downMs)} ms: ${ms(restart.stopMs)} ms stopping (SIGTERM to exit), then process start, then ${ms(restart.bootMs)} ms from opening the database to listening (the index built from ${portIds.size + 2} ports)`,
      });
      o.log(`    ${r4.note}`);
    };

    await phase('cloudnet', 0);

    // The same cloud, now served with Neutron's fan-out: agents reconnect (a full snapshot each, by that policy).
    await waitQuiet(pool, 300, o.waitSeconds);
    t = performance.now();
    await pool.begin(all());
    await stop();
    await start('neutron');
    pool.kick(url());
    await until(() => pool.pending === 0, o.waitSeconds, 'agents on the neutron-model server').catch((err: Error) => o.log(`  ! ${err.message}`));
    counts = await pool.end();
    note(`switched to the Neutron-model server: ${H} agents resynced in ${ms(performance.now() - t)} ms, ${mb(counts.bytes)}`);

    await phase('neutron', 1);
  } finally {
    heartbeats?.stop();
    await agents?.close();
    await stop().catch(() => undefined);
    calls.destroy();
    beats.destroy();
    rmSync(work, { recursive: true, force: true });
  }
  return { layout, setup, results, loadBefore, loadAfter: loadavg() };
}

// ---- the table ----

export function renderTable(results: ScenarioResult[]): string {
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const rows = [
    ['scenario', 'model', 'p50 ms', 'p99 ms', 'held/concerned', 'bytes sent', 'agents reached', 'last msg ms', 'action ms', 'agent stall ms'],
  ];
  const ratioRows: string[][] = [];
  for (const s of scenarios) {
    const c = results.find((r) => r.scenario === s && r.model === 'cloudnet');
    const n = results.find((r) => r.scenario === s && r.model === 'neutron');
    for (const r of [c, n]) {
      if (r) rows.push([s, r.model, ms(r.p50), ms(r.p99), `${r.held}/${r.concerned}`, String(r.bytes), String(r.reached), ms(r.lastMs), ms(r.actionMs), ms(r.agentLoopMaxMs)]);
    }
    if (c && n) {
      ratioRows.push([
        s,
        'neutron ÷ cloudnet',
        ratio(n.p50, c.p50),
        ratio(n.p99, c.p99),
        '',
        ratio(n.bytes, c.bytes),
        ratio(n.reached, c.reached),
        ratio(n.lastMs, c.lastMs),
        '',
        '',
      ]);
    }
  }
  const all = [...rows, ...ratioRows];
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [fmt(rows[0]), sep, ...rows.slice(1).map(fmt), sep, ...ratioRows.map(fmt)].join('\n');
}

function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '-';
  if (b === 0) return a === 0 ? '1' : '∞ (÷0)';
  const r = a / b;
  return `${r >= 100 ? r.toFixed(0) : r.toFixed(r >= 10 ? 1 : 2)}×`;
}

export const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-');
const mb = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${bytes} B`);

// ---- plumbing ----

async function until(ok: () => boolean | Promise<boolean>, seconds: number, what: string, pollMs = 20): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  while (!(await ok())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Waits until no agent has received a message (other than heartbeats) for `quietMs` in the scenario, bounded. */
async function waitQuiet(pool: AgentPool, quietMs: number, seconds: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  while (monotonicMs() - pool.lastAt < quietMs && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function forEachBounded(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Api = (method: string, path: string, body?: unknown) => Promise<any>;

function jsonApi(url: () => string, token: string, agent: http.Agent): Api {
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        `${url()}${path}`,
        {
          method,
          agent,
          headers: { 'x-auth-token': token, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`));
            else resolve(text ? JSON.parse(text) : undefined);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

async function startServer(dbUrl: string, password: string, policy: string, port: number, downTime: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--max-old-space-size=6144', '--import', 'tsx', join(ROOT, 'bench/convergence/server.ts'), '--db', dbUrl, '--policy', policy, '--listen', `127.0.0.1:${port}`, '--agent-down-time', String(downTime)],
    { cwd: ROOT, env: { ...process.env, CLOUDNET_ADMIN_PASSWORD: password, CLOUDNET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ url: string; bootMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench server did not come up in 120 s')), 120_000);
    let first = true;
    lines.on('line', (line) => {
      if (!first) return void process.stderr.write(`server: ${line}\n`);
      first = false;
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench server exited with ${code}`));
    });
  });
  return { child, ...ready };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}


