/**
 * bench/loadbalancer: one lab, three measurements of issue 4's balancers, each beside the anchor it can run.
 *
 * 1. Create -> serving: POST balancer, listener, pool and members through the API (each waits for ACTIVE, as
 *    Octavia's PENDING_* immutability requires), timed to ACTIVE and to the first answer through the VIP from the
 *    `public` namespace. Anchor: bare `haproxy` started on the same rendered config, to its first answer.
 * 2. Failover: the VIP's amphora crashed (links cut, processes killed, namespace deleted) under a client opening a
 *    connection every 20 ms; the longest gap per kill, then the health manager must restore the pair.
 * 3. Throughput: `wrk` through the VIP (public namespace -> provider bridge -> amphora -> VXLAN -> members) and
 *    through a bare HAProxy on the same rendered config in a plain namespace wired to the same member VMs by veth.
 *
 * Everything lives in the lab's namespaces (its `cn-<run>-` prefix); the lab and the bench's own namespaces and
 * processes are removed at the end, also on failure.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHaproxyConfig } from '../../src/agents/amphora/haproxy-config.js';
import { maxconnWithin, openFileLimit } from '../../src/agents/amphora/reconciler.js';
import type { LoadBalancer } from '../../src/agents/amphora/types.js';
import type { AmphoraTarget } from '../../src/agents/amphora/target.js';
import { execTool } from '../../src/lib/exec.js';
import { createLogger } from '../../src/lib/logger.js';
import { addNetns, deleteNetns, listNetns } from '../../src/lib/netns.js';
import { KeystoneSession } from '../../src/lib/openstack-session.js';
import { Lab } from '../../src/lab/lab.js';
import { waitUntil } from '../../src/lab/processes.js';
import type { VmRecord } from '../../src/lab/state.js';
import { BalancerApi, clientLoop, crashAmphora, createWebMembers, runNodeInNamespace, vipHolder, waitPairRestored } from '../../test/e2e/balancer/support.js';
import { summarize } from '../lib/stats.js';

export interface LoadBalancerBenchOptions {
  balancers: number;
  kills: number;
  wrkSeconds: number;
  wrkThreads: number;
  wrkConnections: number;
  log: (line: string) => void;
}

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

export interface LoadBalancerBenchResult {
  createToActiveMs: number[];
  createToServingMs: number[];
  /** Per balancer: POST (or PUT) to ACTIVE again for the balancer, the listener, the pool and the members. */
  stepsMs: number[][];
  bareHaproxyServingMs: number[];
  kills: { longestGapMs: number; failures: number; successes: number; restoredMs: number }[];
  wrkVip: WrkResult[];
  wrkBare: WrkResult[];
  /** One member without a proxy, from the VIP's amphora over the SDN and from the bare namespace over its veth. */
  wrkMemberSdn: WrkResult | null;
  wrkMemberVeth: WrkResult | null;
  memberPath: string;
  loadAverage: { phase: string; load: number[] }[];
}

/** The bare HAProxy's plain network: a client namespace and a proxy namespace, veths into each member VM. */
const BARE_VIP = '198.19.250.1';
const BARE_CLIENT = '198.19.250.2';
const bareMemberLink = (i: number) => ({ proxy: `198.19.251.${4 * i + 1}`, member: `198.19.251.${4 * i + 2}` });

/**
 * Runs in a namespace: says `ready`, then opens a connection to host:80 every 10 ms until one gets an HTTP answer
 * from a member (bounded by its deadline), and prints the wall-clock time it was opened.
 */
const FIRST_ANSWER = `
const net = require('net');
const [host, deadlineMs] = [process.argv[1], Number(process.argv[2])];
const stopAt = Date.now() + deadlineMs;
console.log('ready');
const attempt = () => {
  if (Date.now() > stopAt) { console.log('timeout'); process.exit(2); }
  const at = Date.now();
  const socket = net.connect({ host, port: 80, timeout: 300 });
  let data = '';
  socket.on('connect', () => socket.write('GET / HTTP/1.0\\r\\n\\r\\n'));
  socket.on('data', (d) => (data += d));
  socket.on('end', () => { if (data.includes('web')) { console.log('ok ' + at); process.exit(0); } });
  socket.on('timeout', () => socket.destroy());
  socket.on('error', () => socket.destroy());
};
setInterval(attempt, 10);
`;

/** Starts the first-answer probe and resolves once it is ready; `answered` resolves to the wall-clock time. */
async function firstAnswerProbe(netns: string, host: string, deadlineMs: number): Promise<{ answered: Promise<number> }> {
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const answered = runNodeInNamespace(netns, FIRST_ANSWER, [host, String(deadlineMs)], (chunk) => chunk.includes('ready') && ready()).then((out) => {
    const match = /ok (\d+)/.exec(out);
    if (!match) throw new Error(`no answer from ${host} in ${netns}: ${out}`);
    return Number(match[1]);
  });
  await Promise.race([isReady, answered]);
  return { answered };
}

/** Parses `wrk --latency` output. */
export function parseWrk(output: string): WrkResult {
  const toMs = (value: string, unit: string) => (unit === 'us' ? Number(value) / 1000 : Number(value) * ({ ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit]!);
  const latency = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
    if (!m) throw new Error(`wrk output without a ${p}% latency:\n${output}`);
    return toMs(m[1]!, m[2]!);
  };
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const requests = /^\s*(\d+) requests in/m.exec(output);
  if (!rps || !requests) throw new Error(`unexpected wrk output:\n${output}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const errors = (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return { requestsPerSecond: Number(rps[1]), p50Ms: latency('50'), p99Ms: latency('99'), requests: Number(requests[1]), errors };
}

async function wrk(netns: string, host: string, o: LoadBalancerBenchOptions): Promise<WrkResult> {
  const { stdout } = await execTool('ip', ['netns', 'exec', netns, 'wrk', '--latency', '-t', String(o.wrkThreads), '-c', String(o.wrkConnections), '-d', `${o.wrkSeconds}s`, `http://${host}/`], {
    timeoutMs: (o.wrkSeconds + 30) * 1000,
  });
  return parseWrk(stdout);
}

/** The first target the server streams to an amphora (its balancer tree as the amphora renders it). */
async function amphoraTarget(lab: Lab, amphoraId: string): Promise<AmphoraTarget> {
  const session = KeystoneSession.fromEnvironment(lab.openrcEnv('admin'));
  const abort = new AbortController();
  const response = await session.fetch(`${lab.state().server!.url}/cloudnet/v1/amphorae/${amphoraId}/target`, { signal: abort.signal });
  const reader = response.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the target stream of amphora ${amphoraId} ended before a target`);
      text += Buffer.from(value).toString();
      for (const line of text.split('\n').slice(0, -1)) {
        const message = JSON.parse(line);
        if (message.type === 'target') return message.target;
      }
    }
  } finally {
    abort.abort();
  }
}

/** The amphora's tree moved onto the bare network: the bare VIP, each member at its end of its veth. */
function bareTree(tree: LoadBalancer, members: VmRecord[]): LoadBalancer {
  const bareAddress = new Map(members.map((m, i) => [m.addresses[0]!.split('/')[0]!, bareMemberLink(i).member]));
  return {
    ...tree,
    vipAddress: BARE_VIP,
    pools: tree.pools.map((p) => ({ ...p, members: p.members.map((m) => ({ ...m, address: bareAddress.get(m.address) ?? m.address })) })),
  };
}

async function wireBareNetwork(proxyNs: string, clientNs: string, members: VmRecord[]): Promise<void> {
  const ip = (...args: string[]) => execTool('ip', args);
  await addNetns(proxyNs);
  await addNetns(clientNs);
  // Made inside the proxy namespace, so the names never exist in the root namespace.
  await ip('-n', proxyNs, 'link', 'add', 'client', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs);
  await ip('-n', proxyNs, 'addr', 'add', `${BARE_VIP}/24`, 'dev', 'client');
  await ip('-n', proxyNs, 'link', 'set', 'client', 'up');
  await ip('-n', clientNs, 'addr', 'add', `${BARE_CLIENT}/24`, 'dev', 'eth0');
  await ip('-n', clientNs, 'link', 'set', 'eth0', 'up');
  for (const [i, vm] of members.entries()) {
    const link = bareMemberLink(i);
    await ip('-n', proxyNs, 'link', 'add', `member${i}`, 'type', 'veth', 'peer', 'name', 'bare0', 'netns', vm.netns);
    await ip('-n', proxyNs, 'addr', 'add', `${link.proxy}/30`, 'dev', `member${i}`);
    await ip('-n', proxyNs, 'link', 'set', `member${i}`, 'up');
    await ip('-n', vm.netns, 'addr', 'add', `${link.member}/30`, 'dev', 'bare0');
    await ip('-n', vm.netns, 'link', 'set', 'bare0', 'up');
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGKILL');
  return exited;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runLoadBalancerBench(o: LoadBalancerBenchOptions): Promise<LoadBalancerBenchResult> {
  const result: LoadBalancerBenchResult = { createToActiveMs: [], createToServingMs: [], stepsMs: [], bareHaproxyServingMs: [], kills: [], wrkVip: [], wrkBare: [], wrkMemberSdn: null, wrkMemberVeth: null, memberPath: '', loadAverage: [] };
  const noteLoad = (phase: string) => result.loadAverage.push({ phase, load: loadavg().map((l) => Number(l.toFixed(2))) });
  // Short: the amphorae's HAProxy master sockets live under it, and a UNIX socket path has at most 97 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'cnlb-'));
  const haproxyDir = mkdtempSync(join(tmpdir(), 'cnlb-bare-'));
  const processes: ChildProcess[] = [];
  let lab: Lab | undefined;
  let prefix = '';
  let succeeded = false;
  try {
    lab = await Lab.start({ dir, hosts: 3, logger: createLogger('lb-bench', process.env.CLOUDNET_LOG_LEVEL ?? 'error') });
    prefix = lab.state().namespacePrefix;
    const demo = new BalancerApi(lab, 'demo');
    const admin = new BalancerApi(lab, 'admin');
    const publicNs = lab.state().public!.netns;
    const publicNetwork = lab.state().networks.public!.id;
    const web = await createWebMembers(lab);
    processes.push(...web.servers);
    const proxyNs = `${prefix}bare`;
    const clientNs = `${prefix}bare-client`;
    await wireBareNetwork(proxyNs, clientNs, web.members);
    noteLoad('lab up');

    // 1. Create -> serving, one balancer at a time; all but the last are deleted once measured.
    let balancerId = '';
    let vip = '';
    for (let i = 0; i < o.balancers; i++) {
      vip = `198.19.0.${240 - i}`;
      const probe = await firstAnswerProbe(publicNs, vip, 120_000);
      const t0 = Date.now();
      const steps: number[] = [];
      const activeAgain = async () => {
        await demo.waitActive(balancerId);
        steps.push(Date.now() - t0 - steps.reduce((a, b) => a + b, 0));
      };
      const lb = (await demo.request('POST', 'loadbalancers', 201, { loadbalancer: { name: `bench${i}`, vip_network_id: publicNetwork, vip_address: vip } })).loadbalancer;
      balancerId = lb.id;
      await activeAgain();
      const listener = (await demo.request('POST', 'listeners', 201, { listener: { name: 'http80', loadbalancer_id: balancerId, protocol: 'HTTP', protocol_port: 80 } })).listener;
      await activeAgain();
      const pool = (await demo.request('POST', 'pools', 201, { pool: { name: 'web', listener_id: listener.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } })).pool;
      await activeAgain();
      const members = web.members.map((m) => ({ address: m.addresses[0]!.split('/')[0], protocol_port: 80, subnet_id: web.subnetId }));
      await demo.request('PUT', `pools/${pool.id}/members`, 202, { members });
      await activeAgain();
      result.stepsMs.push(steps);
      result.createToActiveMs.push(Date.now() - t0);
      result.createToServingMs.push((await probe.answered) - t0);
      o.log(`balancer ${i + 1}/${o.balancers}: ACTIVE after ${result.createToActiveMs.at(-1)} ms, first answer through ${vip} after ${result.createToServingMs.at(-1)} ms`);
      if (i < o.balancers - 1) {
        await demo.request('DELETE', `loadbalancers/${balancerId}?cascade=true`, 204);
        const gone = await waitUntil(async () => (await admin.amphorae(balancerId)).length === 0, 60_000, 200);
        if (!gone) throw new Error(`balancer ${balancerId} still has amphorae 60 s after its delete`);
      }
    }
    noteLoad('create -> serving');

    // The anchor of 1: the same tree, rendered by the same function, started as bare HAProxy.
    const tree = (await amphoraTarget(lab, (await admin.amphorae(balancerId))[0]!.id)).loadBalancer!;
    const config = join(haproxyDir, 'haproxy.cfg');
    const serverState = join(haproxyDir, 'server-state');
    writeFileSync(config, renderHaproxyConfig(bareTree(tree, web.members), { statsSocketPath: join(haproxyDir, 'haproxy.sock'), serverStateFilePath: serverState, maxconn: maxconnWithin(openFileLimit()), pingCheckCommand: null, peers: null }));
    writeFileSync(serverState, '1\n');
    const startBare = () => {
      const child = spawn('ip', ['netns', 'exec', proxyNs, 'haproxy', '-db', '-f', config], { stdio: 'ignore' });
      processes.push(child);
      return child;
    };
    for (let i = 0; i < o.balancers; i++) {
      const probe = await firstAnswerProbe(clientNs, BARE_VIP, 30_000);
      const t0 = Date.now();
      const haproxy = startBare();
      result.bareHaproxyServingMs.push((await probe.answered) - t0);
      await stop(haproxy);
    }
    noteLoad('bare haproxy start');

    // 2. Failover: each kill waits for the pair to be restored and the balancer ACTIVE again.
    for (let k = 0; k < o.kills; k++) {
      const { amphora: victim, record } = await vipHolder(lab, await admin.amphorae(balancerId), vip);
      const loop = clientLoop(publicNs, vip, 80, 'web', 6000);
      await sleep(1500);
      const killedAt = Date.now();
      await crashAmphora(record);
      const restored = await waitPairRestored(admin, balancerId, victim.id, 90_000);
      const restoredMs = Date.now() - killedAt;
      const gap = await loop.result;
      if (!restored) throw new Error(`kill ${k + 1}: the pair was not restored within 90 s`);
      await admin.waitActive(balancerId);
      result.kills.push({ ...gap, restoredMs });
      o.log(`kill ${k + 1}/${o.kills}: longest gap ${gap.longestGapMs} ms, ${gap.failures} failed, ${gap.successes} answered; pair restored after ${restoredMs} ms`);
    }
    noteLoad('failover');

    // 3. Throughput, alternating so that the machine's other load falls on both alike.
    const haproxy = startBare();
    if (!(await waitUntil(() => execTool('ip', ['netns', 'exec', clientNs, 'curl', '-sf', '--max-time', '1', `http://${BARE_VIP}/`]).then(() => true, () => false), 10_000))) {
      throw new Error('the bare HAProxy does not answer');
    }
    for (let round = 0; round < 2; round++) {
      result.wrkVip.push(await wrk(publicNs, vip, o));
      result.wrkBare.push(await wrk(clientNs, BARE_VIP, o));
    }
    await stop(haproxy);
    // Where the difference lies: one member's own ceiling, asked without a proxy from the VIP's amphora (over the
    // SDN, from a member on another host: VXLAN) and from the bare proxy namespace (veth).
    const { record: holder } = await vipHolder(lab, await admin.amphorae(balancerId), vip);
    const remote = web.members.findIndex((m) => m.host !== holder.host);
    const member = web.members[remote]!;
    result.wrkMemberSdn = await wrk(holder.netns, member.addresses[0]!.split('/')[0]!, o);
    result.wrkMemberVeth = await wrk(proxyNs, bareMemberLink(remote).member, o);
    result.memberPath = `${member.name} on ${member.host}, amphora on ${holder.host}`;
    noteLoad('throughput');
    succeeded = true;
    return result;
  } finally {
    for (const child of processes) await stop(child);
    await lab?.down();
    if (prefix) for (const ns of await listNetns()) if (ns.startsWith(prefix)) await deleteNetns(ns);
    // A failed run keeps the lab's logs (server, agents, amphorae) for a look.
    rmSync(haproxyDir, { recursive: true, force: true });
    if (succeeded) rmSync(dir, { recursive: true, force: true });
    else o.log(`the lab's logs are kept in ${dir}/logs`);
  }
}

const f = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** The figures and their ratios as printed lines. */
export function renderReport(r: LoadBalancerBenchResult, o: LoadBalancerBenchOptions): string[] {
  const active = summarize(r.createToActiveMs);
  const serving = summarize(r.createToServingMs);
  const bare = summarize(r.bareHaproxyServingMs);
  const gaps = summarize(r.kills.map((k) => k.longestGapMs));
  const restore = summarize(r.kills.map((k) => k.restoredMs));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const vipRps = mean(r.wrkVip.map((w) => w.requestsPerSecond));
  const bareRps = mean(r.wrkBare.map((w) => w.requestsPerSecond));
  const vipP99 = mean(r.wrkVip.map((w) => w.p99Ms));
  const bareP99 = mean(r.wrkBare.map((w) => w.p99Ms));
  const vipP50 = mean(r.wrkVip.map((w) => w.p50Ms));
  const bareP50 = mean(r.wrkBare.map((w) => w.p50Ms));
  return [
    `load balancer bench: one lab of 3 hosts, ACTIVE_STANDBY, HTTP listener on 80, round robin over 2 member VMs (node http)`,
    `load average (1/5/15 min) after each phase: ${r.loadAverage.map((l) => `${l.phase} ${l.load.join('/')}`).join('; ')}`,
    ``,
    `1. create -> serving (POST balancer, listener, pool, members; each waits for ACTIVE), n=${active.n}`,
    `   -> ACTIVE                     p50 ${f(active.p50)} ms   max ${f(active.max)} ms`,
    `   -> first answer through VIP   p50 ${f(serving.p50)} ms   max ${f(serving.max)} ms`,
    `   steps to ACTIVE again, p50: ${['balancer', 'listener', 'pool', 'members'].map((name, i) => `${name} ${f(summarize(r.stepsMs.map((s) => s[i]!)).p50)} ms`).join(', ')}`,
    `   anchor: bare haproxy start -> first answer (same rendered config), n=${bare.n}: p50 ${f(bare.p50)} ms   max ${f(bare.max)} ms`,
    `   cloudnet / bare haproxy floor (p50): ${f(serving.p50 / bare.p50, 1)}x`,
    `   anchor, not run here: Octavia builds an amphora balancer in minutes (a VM boots per amphora)`,
    ``,
    `2. failover: VIP holder crashed under a new connection every 20 ms, n=${gaps.n} kills`,
    `   longest gap per kill          p50 ${f(gaps.p50)} ms   p99 ${f(gaps.p99)} ms   max ${f(gaps.max)} ms`,
    `   failed connections            ${r.kills.map((k) => k.failures).reduce((a, b) => a + b, 0)} of ${r.kills.map((k) => k.failures + k.successes).reduce((a, b) => a + b, 0)}`,
    `   kill -> pair restored, ONLINE p50 ${f(restore.p50)} ms   max ${f(restore.max)} ms`,
    `   anchor, computed not run: keepalived VRRPv2 advert_int 1 (whole seconds) takes over after 3 x 1 s + (256-90)/256 s = 3649 ms;`,
    `   cloudnet's VRRPv3 advert_int 0.1: 3 x 100 ms + 65 ms = 365 ms. p50 gap / VRRPv2 takeover: ${f(gaps.p50 / 3649, 2)}x`,
    ``,
    `3. throughput: wrk -t${o.wrkThreads} -c${o.wrkConnections} -d${o.wrkSeconds}s, 2 rounds alternating, means`,
    `   through the VIP (SDN)         ${f(vipRps)} req/s   p50 ${f(vipP50, 2)} ms   p99 ${f(vipP99, 2)} ms   errors ${r.wrkVip.map((w) => w.errors).join('+')}`,
    `   anchor: bare haproxy, veths   ${f(bareRps)} req/s   p50 ${f(bareP50, 2)} ms   p99 ${f(bareP99, 2)} ms   errors ${r.wrkBare.map((w) => w.errors).join('+')}`,
    `   VIP / bare: req/s ${f(vipRps / bareRps, 2)}x, p50 latency ${f(vipP50 / bareP50, 2)}x, p99 latency ${f(vipP99 / bareP99, 2)}x`,
    `   per round req/s VIP ${r.wrkVip.map((w) => f(w.requestsPerSecond)).join(', ')}; bare ${r.wrkBare.map((w) => f(w.requestsPerSecond)).join(', ')}`,
    ...(r.wrkMemberSdn && r.wrkMemberVeth
      ? [
          `   one member without a proxy (${r.memberPath}):`,
          `     from the amphora over the SDN ${f(r.wrkMemberSdn.requestsPerSecond)} req/s   p99 ${f(r.wrkMemberSdn.p99Ms, 2)} ms`,
          `     from the bare namespace, veth ${f(r.wrkMemberVeth.requestsPerSecond)} req/s   p99 ${f(r.wrkMemberVeth.p99Ms, 2)} ms   SDN / veth: ${f(r.wrkMemberSdn.requestsPerSecond / r.wrkMemberVeth.requestsPerSecond, 2)}x`,
        ]
      : []),
  ];
}
