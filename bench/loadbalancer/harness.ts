/**
 * bench/loadbalancer: one lab, three measurements of issue 4's balancers, each beside the anchor it can run.
 *
 * 1. Create -> serving: POST balancer, listener, pool and members through the API (each waits for ACTIVE, as
 *    Octavia's PENDING_* immutability requires), timed to ACTIVE and to the first answer through the VIP from the
 *    `public` namespace. Anchor: bare `haproxy` started on the same rendered config, to its first answer.
 *    Then member create -> traffic reaching it: a member deleted and POSTed again, to the first answer from it
 *    through the VIP. Anchor: the runtime API's `add server` in a bare HAProxy.
 * 2. Failover: the VIP's amphora crashed (links cut, processes killed, namespace deleted) under a client opening a
 *    connection every 20 ms; the longest gap per kill, then the health manager must restore the pair.
 * 3. Throughput, in legs that split the difference: `wrk` through the VIP (public namespace -> provider bridge ->
 *    amphora -> VXLAN -> members), through a bare HAProxy on the same rendered config inside the VIP holder's
 *    namespace (same path, not our agent's process), the same with the members reached over veths (only the
 *    client's side on the SDN), and through a bare HAProxy in a plain namespace wired to the same member VMs by
 *    veth; each with the CPU time per request of the proxy, the members and softirq.
 *
 * Everything lives in the lab's namespaces (its `cn-<run>-` prefix); the lab and the bench's own namespaces and
 * processes are removed at the end, also on failure.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendsOf, renderHaproxyConfig } from '../../src/agents/amphora/haproxy-config.js';
import { maxconnWithin, openFileLimit } from '../../src/agents/amphora/reconciler.js';
import type { LoadBalancer } from '../../src/agents/amphora/types.js';
import type { AmphoraTarget } from '../../src/agents/amphora/target.js';
import { haproxyCommand } from '../../src/agents/amphora/runtime-socket.js';
import { execTool } from '../../src/lib/exec.js';
import { createLogger } from '../../src/lib/logger.js';
import { addNetns, deleteNetns, listNetns } from '../../src/lib/netns.js';
import { KeystoneSession } from '../../src/lib/openstack-session.js';
import { Lab } from '../../src/lab/lab.js';
import { sleep, waitUntil } from '../../src/lab/processes.js';
import type { VmRecord } from '../../src/lab/state.js';
import { BalancerApi, clientLoop, crashAmphora, createWebMembers, runNodeInNamespace, vipHolder, waitPairRestored } from '../../test/e2e/balancer/support.js';
import { summarize } from '../lib/stats.js';

export interface LoadBalancerBenchOptions {
  balancers: number;
  kills: number;
  wrkSeconds: number;
  wrkThreads: number;
  wrkConnections: number;
  /** Member create -> traffic reaching it, and its `add server` anchor: how many of each. */
  memberCreates: number;
  log: (line: string) => void;
}

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

/** One `wrk` run of a throughput leg, with the machine's 1-minute load and the CPU it took per request. */
export interface LegRun extends WrkResult {
  load1: number;
  /** CPU time (user + system) per request of the proxy's processes and of the member web servers, in µs. */
  proxyUsPerRequest: number;
  membersUsPerRequest: number;
  /** The machine's irq + softirq time per request, in µs (other helpers' traffic included). */
  softirqUsPerRequest: number;
}

export interface LoadBalancerBenchResult {
  createToActiveMs: number[];
  createToServingMs: number[];
  /** Per balancer: POST (or PUT) to ACTIVE again for the balancer, the listener, the pool and the members. */
  stepsMs: number[][];
  bareHaproxyServingMs: number[];
  /** A member POSTed to its pool, to ACTIVE and to the first answer from it through the VIP. */
  memberToActiveMs: number[];
  memberToServingMs: number[];
  /** The anchor: `add server` + `enable server` in a bare HAProxy's runtime API to the first answer from it. */
  bareAddServerMs: number[];
  kills: { longestGapMs: number; failures: number; successes: number; restoredMs: number }[];
  /** Through the VIP: the amphora's HAProxy, run by our agent. */
  wrkVip: LegRun[];
  /** Bare HAProxy, same rendered config, in the VIP holder's namespace on its VRRP address: the same path. */
  wrkAmphoraBare: LegRun[];
  /** As wrkAmphoraBare, but reaching the members over veths: the client's side over the SDN, the members' not. */
  wrkAmphoraVeth: LegRun[];
  /** Bare HAProxy, same rendered config, in a plain namespace on veths to the members: the anchor. */
  wrkBare: LegRun[];
  /** One member without a proxy, from the VIP's amphora over the SDN and from the bare namespace over its veth. */
  wrkMemberSdn: WrkResult | null;
  wrkMemberVeth: WrkResult | null;
  memberPath: string;
  loadAverage: { phase: string; load: number[] }[];
}

/** The bare HAProxy's plain network: a client namespace and a proxy namespace, veths into each member VM. */
const BARE_VIP = '198.19.250.1';
const BARE_CLIENT = '198.19.250.2';
/** Veths from a proxy's namespace into each member VM, member i on 198.19.<octet>.4i+1 <-> .4i+2. */
const memberLink = (octet: number, i: number) => ({ proxy: `198.19.${octet}.${4 * i + 1}`, member: `198.19.${octet}.${4 * i + 2}` });
/** The bare proxy namespace's veths, and the VIP holder's (the leg that keeps the client side on the SDN only). */
const BARE_LINKS = 251;
const AMPHORA_LINKS = 252;

/**
 * Runs in a namespace: says `ready`, then opens a connection to host:80 every 10 ms until one gets an HTTP answer
 * containing `expect` (a member's name, or `web` for any) (bounded by its deadline), and prints the wall-clock
 * time it was opened.
 */
const FIRST_ANSWER = `
const net = require('net');
const [host, expect, deadlineMs] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const stopAt = Date.now() + deadlineMs;
console.log('ready');
const attempt = () => {
  if (Date.now() > stopAt) { console.log('timeout'); process.exit(2); }
  const at = Date.now();
  const socket = net.connect({ host, port: 80, timeout: 300 });
  let data = '';
  socket.on('connect', () => socket.write('GET / HTTP/1.0\\r\\n\\r\\n'));
  socket.on('data', (d) => (data += d));
  socket.on('end', () => { if (data.includes(expect)) { console.log('ok ' + at); process.exit(0); } });
  socket.on('timeout', () => socket.destroy());
  socket.on('error', () => socket.destroy());
};
setInterval(attempt, 10);
`;

/** Starts the first-answer probe and resolves once it is ready; `answered` resolves to the wall-clock time. */
async function firstAnswerProbe(netns: string, host: string, expect: string, deadlineMs: number): Promise<{ answered: Promise<number> }> {
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const answered = runNodeInNamespace(netns, FIRST_ANSWER, [host, expect, String(deadlineMs)], (chunk) => chunk.includes('ready') && ready()).then((out) => {
    const match = /ok (\d+)/.exec(out);
    if (!match) throw new Error(`no answer with ${expect} from ${host} in ${netns}: ${out}`);
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

/** User + system clock ticks of processes (all their threads), from /proc; a process gone counts 0. */
function cpuTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Exited: its time is lost to the figure, which the caller sees as a smaller per-request cost.
    }
  }
  return ticks;
}

/** The machine's irq + softirq ticks (first line of /proc/stat). */
function softirqTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  return Number(cpu[6]) + Number(cpu[7]);
}

/** The pids of the HAProxy processes in a namespace (the amphora's master and workers). */
async function haproxyPidsIn(netns: string): Promise<number[]> {
  const { stdout } = await execTool('ip', ['netns', 'pids', netns]);
  const pids = stdout.split('\n').filter(Boolean).map(Number);
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'haproxy';
    } catch {
      return false;
    }
  });
}

/** `wrk` as a throughput leg: the CPU that the proxy, the members and softirq spent on it, per request. */
async function wrkLeg(netns: string, host: string, proxyPids: number[], memberPids: number[], clockTicks: number, o: LoadBalancerBenchOptions): Promise<LegRun> {
  const before = { proxy: cpuTicks(proxyPids), members: cpuTicks(memberPids), softirq: softirqTicks() };
  const w = await wrk(netns, host, o);
  const perRequest = (ticks: number) => (ticks * 1e6) / clockTicks / Math.max(1, w.requests);
  return {
    ...w,
    load1: Number(loadavg()[0]!.toFixed(2)),
    proxyUsPerRequest: perRequest(cpuTicks(proxyPids) - before.proxy),
    membersUsPerRequest: perRequest(cpuTicks(memberPids) - before.members),
    softirqUsPerRequest: perRequest(softirqTicks() - before.softirq),
  };
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

/** The amphora's tree moved onto veths: another VIP, each member at its end of its veth. */
function onMemberVeths(tree: LoadBalancer, members: VmRecord[], octet: number, vipAddress: string): LoadBalancer {
  const bareAddress = new Map(members.map((m, i) => [m.addresses[0]!.split('/')[0]!, memberLink(octet, i).member]));
  return {
    ...tree,
    vipAddress,
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
  await wireMemberVeths(proxyNs, members, BARE_LINKS, 'bare0');
}

/** A veth from `netns` (`member<i>`) into each member VM (`vmSide`), addressed by `memberLink(octet, i)`. */
async function wireMemberVeths(netns: string, members: VmRecord[], octet: number, vmSide: string): Promise<void> {
  const ip = (...args: string[]) => execTool('ip', args);
  for (const [i, vm] of members.entries()) {
    const link = memberLink(octet, i);
    await ip('-n', netns, 'link', 'add', `member${i}`, 'type', 'veth', 'peer', 'name', vmSide, 'netns', vm.netns);
    await ip('-n', netns, 'addr', 'add', `${link.proxy}/30`, 'dev', `member${i}`);
    await ip('-n', netns, 'link', 'set', `member${i}`, 'up');
    await ip('-n', vm.netns, 'addr', 'add', `${link.member}/30`, 'dev', vmSide);
    await ip('-n', vm.netns, 'link', 'set', vmSide, 'up');
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGKILL');
  return exited;
}

export async function runLoadBalancerBench(o: LoadBalancerBenchOptions): Promise<LoadBalancerBenchResult> {
  const result: LoadBalancerBenchResult = {
    createToActiveMs: [],
    createToServingMs: [],
    stepsMs: [],
    bareHaproxyServingMs: [],
    memberToActiveMs: [],
    memberToServingMs: [],
    bareAddServerMs: [],
    kills: [],
    wrkVip: [],
    wrkAmphoraBare: [],
    wrkAmphoraVeth: [],
    wrkBare: [],
    wrkMemberSdn: null,
    wrkMemberVeth: null,
    memberPath: '',
    loadAverage: [],
  };
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
    const memberPids = web.servers.map((s) => s.pid!);
    const memberBody = (vm: VmRecord) => ({ address: vm.addresses[0]!.split('/')[0]!, protocol_port: 80, subnet_id: web.subnetId });
    const proxyNs = `${prefix}bare`;
    const clientNs = `${prefix}bare-client`;
    await wireBareNetwork(proxyNs, clientNs, web.members);
    noteLoad('lab up');

    // 1. Create -> serving, one balancer at a time; all but the last are deleted once measured.
    let balancerId = '';
    let poolId = '';
    let vip = '';
    for (let i = 0; i < o.balancers; i++) {
      vip = `198.19.0.${240 - i}`;
      const probe = await firstAnswerProbe(publicNs, vip, 'web', 120_000);
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
      poolId = (await demo.request('POST', 'pools', 201, { pool: { name: 'web', listener_id: listener.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } })).pool.id;
      await activeAgain();
      await demo.request('PUT', `pools/${poolId}/members`, 202, { members: web.members.map(memberBody) });
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
    const startBare = (netns: string, name: string, lb: LoadBalancer) => {
      const config = join(haproxyDir, `${name}.cfg`);
      const serverState = join(haproxyDir, `${name}.state`);
      const socket = join(haproxyDir, `${name}.sock`);
      writeFileSync(config, renderHaproxyConfig(lb, { statsSocketPath: socket, serverStateFilePath: serverState, maxconn: maxconnWithin(openFileLimit()), pingCheckCommand: null, peers: null }));
      writeFileSync(serverState, '1\n');
      // Its own session, as each amphora agent (and so its HAProxy) has one: with the kernel's autogroup
      // scheduling a session is a group with one fair share of the CPUs, and an anchor sharing the bench's group
      // (with wrk and the members) ran up to 1.5x faster on a loaded machine than the same HAProxy in its own.
      const child = spawn('ip', ['netns', 'exec', netns, 'haproxy', '-db', '-f', config], { stdio: 'ignore', detached: true });
      processes.push(child);
      return { child, socket };
    };
    const bareAnswers = (netns: string, host: string) =>
      waitUntil(() => execTool('ip', ['netns', 'exec', netns, 'curl', '-sf', '--max-time', '1', `http://${host}/`]).then(() => true, () => false), 10_000);
    for (let i = 0; i < o.balancers; i++) {
      const probe = await firstAnswerProbe(clientNs, BARE_VIP, 'web', 30_000);
      const t0 = Date.now();
      const haproxy = startBare(proxyNs, 'start', onMemberVeths(tree, web.members, BARE_LINKS, BARE_VIP));
      result.bareHaproxyServingMs.push((await probe.answered) - t0);
      await stop(haproxy.child);
    }
    noteLoad('bare haproxy start');

    // 1b. Member create -> traffic reaching it: the second member deleted, then POSTed again with a probe
    // through the VIP waiting for its name.
    const added = web.members[1]!;
    for (let i = 0; i < o.memberCreates; i++) {
      const listed: { id: string; address: string }[] = (await demo.request('GET', `pools/${poolId}/members`, 200)).members;
      const current = listed.find((m) => m.address === memberBody(added).address);
      if (!current) throw new Error(`member ${added.name} is not in pool ${poolId}`);
      await demo.request('DELETE', `pools/${poolId}/members/${current.id}`, 204);
      await demo.waitActive(balancerId);
      const probe = await firstAnswerProbe(publicNs, vip, added.name, 60_000);
      const t0 = Date.now();
      await demo.request('POST', `pools/${poolId}/members`, 201, { member: memberBody(added) });
      await demo.waitActive(balancerId);
      result.memberToActiveMs.push(Date.now() - t0);
      result.memberToServingMs.push((await probe.answered) - t0);
      o.log(`member create ${i + 1}/${o.memberCreates}: ACTIVE after ${result.memberToActiveMs.at(-1)} ms, first answer from ${added.name} after ${result.memberToServingMs.at(-1)} ms`);
    }
    // Its anchor: the bare HAProxy on the tree without that member, which is then added through the runtime API
    // (a new name each time; the previous one is put in maintenance and deleted).
    if (o.memberCreates > 0) {
      const addedAddress = memberBody(added).address;
      const withoutAdded = { ...tree, pools: tree.pools.map((p) => ({ ...p, members: p.members.filter((m) => m.address !== addedAddress) })) };
      const haproxy = startBare(proxyNs, 'add-server', onMemberVeths(withoutAdded, web.members, BARE_LINKS, BARE_VIP));
      if (!(await bareAnswers(clientNs, BARE_VIP))) throw new Error('the bare HAProxy does not answer');
      const backend = backendsOf(tree)[0]!.name;
      const runtime = async (command: string) => {
        const answer = (await haproxyCommand(haproxy.socket, command)).trim();
        if (answer !== '' && !/New server registered|Server deleted/.test(answer)) throw new Error(`${command}: ${answer}`);
      };
      for (let i = 0; i < o.memberCreates; i++) {
        const server = `${backend}/anchor${i}`;
        const probe = await firstAnswerProbe(clientNs, BARE_VIP, added.name, 30_000);
        const t0 = Date.now();
        await runtime(`add server ${server} ${memberLink(BARE_LINKS, 1).member}:80 weight 1`);
        await runtime(`enable server ${server}`);
        result.bareAddServerMs.push((await probe.answered) - t0);
        await runtime(`disable server ${server}`);
        await runtime(`del server ${server}`);
      }
      await stop(haproxy.child);
    }
    noteLoad('member create');

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

    // 3. Throughput in four legs, in one order then the reverse, so that the machine's other load falls on all
    // alike; each bare HAProxy runs only for its own leg. The bare HAProxys in the VIP holder's namespace bind its
    // VRRP address (the VIP and port 80 are the amphora's, and its security group opens only the listener's
    // port), so the client reaches them over the same path; one of them reaches the members over veths instead.
    const { amphora: holderAmphora, record: holder } = await vipHolder(lab, await admin.amphorae(balancerId), vip);
    const now = (await amphoraTarget(lab, holderAmphora.id)).loadBalancer!;
    const vrrpAddress = holderAmphora.vrrp_ip;
    await wireMemberVeths(holder.netns, web.members, AMPHORA_LINKS, 'amp0');
    const clockTicks = Number((await execTool('getconf', ['CLK_TCK'])).stdout.trim());
    const served = (netns: string, name: string, lb: LoadBalancer, from: string) => async () => {
      const haproxy = startBare(netns, name, lb);
      if (!(await bareAnswers(from, lb.vipAddress))) throw new Error(`the bare HAProxy ${name} in ${netns} does not answer`);
      return { pids: [haproxy.child.pid!], stop: () => stop(haproxy.child) };
    };
    const legs = [
      { runs: result.wrkVip, netns: publicNs, host: vip, serve: async () => ({ pids: await haproxyPidsIn(holder.netns), stop: async () => {} }) },
      { runs: result.wrkAmphoraBare, netns: publicNs, host: vrrpAddress, serve: served(holder.netns, 'amphora', { ...now, vipAddress: vrrpAddress }, publicNs) },
      { runs: result.wrkAmphoraVeth, netns: publicNs, host: vrrpAddress, serve: served(holder.netns, 'amphora-veth', onMemberVeths(now, web.members, AMPHORA_LINKS, vrrpAddress), publicNs) },
      { runs: result.wrkBare, netns: clientNs, host: BARE_VIP, serve: served(proxyNs, 'veth', onMemberVeths(now, web.members, BARE_LINKS, BARE_VIP), clientNs) },
    ];
    for (const leg of [...legs, ...[...legs].reverse()]) {
      const proxy = await leg.serve();
      leg.runs.push(await wrkLeg(leg.netns, leg.host, proxy.pids, memberPids, clockTicks, o));
      await proxy.stop();
    }
    // Where the difference lies: one member's own ceiling, asked without a proxy from the VIP's amphora (over the
    // SDN, from a member on another host: VXLAN) and from the bare proxy namespace (veth).
    const remote = web.members.findIndex((m) => m.host !== holder.host);
    const member = web.members[remote]!;
    result.wrkMemberSdn = await wrk(holder.netns, member.addresses[0]!.split('/')[0]!, o);
    result.wrkMemberVeth = await wrk(proxyNs, memberLink(BARE_LINKS, remote).member, o);
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
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A throughput leg's means over its runs, as one printed line. */
function legLine(label: string, runs: LegRun[]): string {
  const m = (pick: (run: LegRun) => number) => mean(runs.map(pick));
  return (
    `   ${label.padEnd(34)}${f(m((w) => w.requestsPerSecond)).padStart(6)} req/s   p50 ${f(m((w) => w.p50Ms), 2)} ms   p99 ${f(m((w) => w.p99Ms), 2)} ms   ` +
    `CPU us/req: proxy ${f(m((w) => w.proxyUsPerRequest))}, members ${f(m((w) => w.membersUsPerRequest))}, softirq ${f(m((w) => w.softirqUsPerRequest))}   errors ${runs.map((w) => w.errors).join('+')}`
  );
}

/** The figures and their ratios as printed lines. */
export function renderReport(r: LoadBalancerBenchResult, o: LoadBalancerBenchOptions): string[] {
  const active = summarize(r.createToActiveMs);
  const serving = summarize(r.createToServingMs);
  const bare = summarize(r.bareHaproxyServingMs);
  const memberActive = summarize(r.memberToActiveMs);
  const memberServing = summarize(r.memberToServingMs);
  const addServer = summarize(r.bareAddServerMs);
  const gaps = summarize(r.kills.map((k) => k.longestGapMs));
  const restore = summarize(r.kills.map((k) => k.restoredMs));
  const rps = (runs: LegRun[]) => mean(runs.map((w) => w.requestsPerSecond));
  const p = (runs: LegRun[], pick: (w: LegRun) => number) => mean(runs.map(pick));
  const ratio = (a: LegRun[], b: LegRun[]) =>
    `req/s ${f(rps(a) / rps(b), 2)}x, p50 latency ${f(p(a, (w) => w.p50Ms) / p(b, (w) => w.p50Ms), 2)}x, p99 latency ${f(p(a, (w) => w.p99Ms) / p(b, (w) => w.p99Ms), 2)}x`;
  const cpu = (runs: LegRun[]) => p(runs, (w) => w.proxyUsPerRequest + w.membersUsPerRequest + w.softirqUsPerRequest);
  const perRun = (runs: LegRun[]) => runs.map((w) => `${f(w.requestsPerSecond)} (load ${f(w.load1, 1)})`).join(', ');
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
    `1b. member create -> traffic reaching it (POST member to a serving pool of one), n=${memberServing.n}`,
    `   -> ACTIVE                     p50 ${f(memberActive.p50)} ms   max ${f(memberActive.max)} ms`,
    `   -> first answer from it       p50 ${f(memberServing.p50)} ms   max ${f(memberServing.max)} ms`,
    `   anchor: bare haproxy runtime API add server + enable server -> first answer, n=${addServer.n}: p50 ${f(addServer.p50)} ms   max ${f(addServer.max)} ms`,
    `   cloudnet / add server (p50): ${f(memberServing.p50 / addServer.p50, 1)}x`,
    ``,
    `2. failover: VIP holder crashed under a new connection every 20 ms, n=${gaps.n} kills`,
    `   longest gap per kill          p50 ${f(gaps.p50)} ms   p99 ${f(gaps.p99)} ms   max ${f(gaps.max)} ms`,
    `   failed connections            ${r.kills.map((k) => k.failures).reduce((a, b) => a + b, 0)} of ${r.kills.map((k) => k.failures + k.successes).reduce((a, b) => a + b, 0)}`,
    `   kill -> pair restored, ONLINE p50 ${f(restore.p50)} ms   max ${f(restore.max)} ms`,
    `   anchor, computed not run: keepalived VRRPv2 advert_int 1 (whole seconds) takes over after 3 x 1 s + (256-90)/256 s = 3649 ms;`,
    `   cloudnet's VRRPv3 advert_int 0.1: 3 x 100 ms + 65 ms = 365 ms. p50 gap / VRRPv2 takeover: ${f(gaps.p50 / 3649, 2)}x`,
    ``,
    `3. throughput: wrk -t${o.wrkThreads} -c${o.wrkConnections} -d${o.wrkSeconds}s per leg, legs in turn then in reverse, means of ${r.wrkVip.length}`,
    legLine('(c) through the VIP, amphora', r.wrkVip),
    legLine('(b) bare haproxy in the amphora', r.wrkAmphoraBare),
    legLine('(b2) the same, members on veths', r.wrkAmphoraVeth),
    legLine('(a) anchor: bare haproxy, veths', r.wrkBare),
    `   (c) / (a), the overhead asked about: ${ratio(r.wrkVip, r.wrkBare)}`,
    `   (c) / (b), our agent's HAProxy vs bare on the same path: ${ratio(r.wrkVip, r.wrkAmphoraBare)}`,
    `   (b) / (b2), amphora -> members over the SDN vs veths: ${ratio(r.wrkAmphoraBare, r.wrkAmphoraVeth)}`,
    `   (b2) / (a), client -> proxy over the SDN vs a veth: ${ratio(r.wrkAmphoraVeth, r.wrkBare)}`,
    `   CPU per request, proxy + members + softirq: (c) ${f(cpu(r.wrkVip))} us, (b) ${f(cpu(r.wrkAmphoraBare))} us, (b2) ${f(cpu(r.wrkAmphoraVeth))} us, (a) ${f(cpu(r.wrkBare))} us`,
    `   per run req/s (c) ${perRun(r.wrkVip)}; (b) ${perRun(r.wrkAmphoraBare)}; (b2) ${perRun(r.wrkAmphoraVeth)}; (a) ${perRun(r.wrkBare)}`,
    ...(r.wrkMemberSdn && r.wrkMemberVeth
      ? [
          `   (d) one member without a proxy (${r.memberPath}):`,
          `     from the amphora over the SDN ${f(r.wrkMemberSdn.requestsPerSecond)} req/s   p99 ${f(r.wrkMemberSdn.p99Ms, 2)} ms`,
          `     from the bare namespace, veth ${f(r.wrkMemberVeth.requestsPerSecond)} req/s   p99 ${f(r.wrkMemberVeth.p99Ms, 2)} ms   SDN / veth: ${f(r.wrkMemberSdn.requestsPerSecond / r.wrkMemberVeth.requestsPerSecond, 2)}x`,
        ]
      : []),
  ];
}
