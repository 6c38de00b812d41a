// What the balancer e2e files and bench/loadbalancer share: the Load Balancer API and CLI of a running lab as its
// users, member web servers, a bounded client loop from `public`, and the crash of an amphora as far as the lab can
// make one. `balancerLab` binds them to one lab per test file and stops that file's processes after it.
import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { execTool } from '../../../src/lib/exec.js';
import { deleteNetns } from '../../../src/lib/netns.js';
import { KeystoneSession } from '../../../src/lib/openstack-session.js';
import type { Lab, LabOptions } from '../../../src/lab/lab.js';
import { killNamespaceProcesses } from '../../../src/lab/netns.js';
import type { AmphoraRecord, VmRecord } from '../../../src/lab/state.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { labForTests, type TestLab } from '../lab/support.js';
import { json } from '../openstack-cli/openstackCli.js';

/** An amphora as the amphora API and `openstack loadbalancer amphora list --long` give it. */
export interface AmphoraListed {
  id: string;
  loadbalancer_id: string;
  status: string;
  role: string;
  /** The amphora's own address on the VIP network (its VRRP port's). */
  vrrp_ip: string;
  compute_id: string;
}

export interface ClientLoopResult {
  successes: number;
  failures: number;
  longestGapMs: number;
}

/** The environment of a process acting as `user` in the lab: ours without OS_*, plus the lab's openrc. */
export function cliEnv(lab: Lab, user: 'admin' | 'demo'): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  return { ...base, ...lab.openrcEnv(user) };
}

/** The Load Balancer API of a lab as one of its users. */
export class BalancerApi {
  readonly session: KeystoneSession;

  constructor(
    private readonly lab: Lab,
    user: 'admin' | 'demo',
  ) {
    this.session = KeystoneSession.fromEnvironment(lab.openrcEnv(user));
  }

  /** Sends a request to `/load-balancer/v2/lbaas/<path>`; throws unless the answer is `expected`. */
  request(method: string, path: string, expected: number, body?: unknown): Promise<any> {
    return this.send(method, `lbaas/${path}`, expected, body);
  }

  async balancer(id: string): Promise<any> {
    return (await this.request('GET', `loadbalancers/${id}`, 200)).loadbalancer;
  }

  /** The balancer's amphorae from the amphora API (an admin's). */
  async amphorae(balancerId: string): Promise<AmphoraListed[]> {
    return (await this.send('GET', `octavia/amphorae?loadbalancer_id=${balancerId}`, 200)).amphorae;
  }

  /** Until the balancer is ACTIVE after a change (bounded); ERROR fails at once with its status. */
  async waitActive(id: string, timeoutMs = 60_000): Promise<void> {
    let last: any;
    const ok = await waitUntil(async () => {
      last = await this.balancer(id);
      if (last.provisioning_status === 'ERROR') throw new Error(`balancer ${id} went to ERROR: ${JSON.stringify(last)}`);
      return last.provisioning_status === 'ACTIVE';
    }, timeoutMs, 50);
    if (!ok) throw new Error(`balancer ${id} not ACTIVE within ${timeoutMs / 1000} s: ${JSON.stringify(last)}`);
  }

  private async send(method: string, path: string, expected: number, body?: unknown): Promise<any> {
    const response = await this.session.fetch(`${this.lab.state().server!.url}/load-balancer/v2/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}

/** A node process running `script` with `args` in `netns`, with `env` added to ours. Its caller stops it by pid. */
export function spawnNodeInNamespace(netns: string, script: string, args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves to a node process's trimmed stdout once it exits 0; `onStdout` sees each chunk as it comes. */
function outputOf(child: ChildProcess, what: string, onStdout?: (chunk: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      onStdout?.(d.toString());
    });
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${what} exited ${code}: ${err}`))));
  });
}

/** Runs a node script in a namespace and resolves to its trimmed stdout once it exits 0. */
export function runNodeInNamespace(netns: string, script: string, args: string[], onStdout?: (chunk: string) => void): Promise<string> {
  const child = spawnNodeInNamespace(netns, script, args);
  child.stdin!.end();
  return outputOf(child, `node in ${netns}`, onStdout);
}

const WEB_SERVER = "require('http').createServer((q, s) => s.end(process.env.NAME + '\\n')).listen(80)";

/** A member VM's web server on port 80: answers every request with its own name. Its caller stops it by pid. */
export function startWebServer(netns: string, name: string): ChildProcess {
  const child = spawnNodeInNamespace(netns, WEB_SERVER, [], { NAME: name });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

/** Two member VMs on demo-net on host1 and host2, each with its web server, let in on port 80 from demo-net. */
export async function createWebMembers(lab: Lab): Promise<{ members: VmRecord[]; servers: ChildProcess[]; subnetId: string }> {
  const demoNet = lab.state().networks['demo-net'];
  const subnet = demoNet.subnets.find((s) => s.cidr === '198.18.1.0/24')!;
  // The amphorae reach the members from their own ports on demo-net.
  const web = await lab.cloud().createSecurityGroup({ name: 'web', project_id: demoNet.projectId });
  await lab.cloud().createSecurityGroupRule({ security_group_id: web.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: subnet.cidr });
  const members: VmRecord[] = [];
  const servers: ChildProcess[] = [];
  for (const [name, host] of [['web1', 'host1'], ['web2', 'host2']] as const) {
    const vm = await lab.createVm({ name, network: 'demo-net', host, securityGroups: ['default', 'web'] });
    members.push(vm);
    servers.push(startWebServer(vm.netns, name));
  }
  return { members, servers, subnetId: subnet.id };
}

/** Runs inside a namespace: one new connection every 20 ms, bounded in count and time; prints a summary. */
const CLIENT_LOOP = `
const net = require('net');
const [vip, port, expect, maxMs] = [process.argv[1], Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
const started = Date.now();
const successes = [];
let failures = 0;
let pending = 0;
let stopping = false;
const attempt = () => {
  const at = Date.now();
  pending++;
  const socket = net.connect({ host: vip, port, timeout: 500 });
  let data = '';
  socket.on('connect', () => socket.write('GET / HTTP/1.0\\r\\n\\r\\n'));
  socket.on('data', (d) => (data += d));
  const done = (ok) => { if (socket.done) return; socket.done = true; pending--; socket.destroy(); if (ok && data.includes(expect)) successes.push(at); else failures++; };
  socket.on('end', () => done(true));
  socket.on('timeout', () => done(false));
  socket.on('error', () => done(false));
};
process.stdin.on('data', () => {});
process.stdin.on('end', () => (stopping = true));
const timer = setInterval(() => { if (stopping || Date.now() - started >= maxMs) { clearInterval(timer); finish(); } else attempt(); }, 20);
const finish = () => {
  const endedAt = Date.now();
  const wait = setInterval(() => {
    if (pending > 0 && Date.now() - endedAt < 2000) return;
    clearInterval(wait);
    successes.sort((a, b) => a - b);
    let longestGapMs = 0;
    for (let i = 1; i < successes.length; i++) longestGapMs = Math.max(longestGapMs, successes[i] - successes[i - 1]);
    console.log(JSON.stringify({ successes: successes.length, failures, longestGapMs }));
    process.exit(0);
  }, 50);
};
`;

export interface ClientLoop {
  child: ChildProcess;
  /** Ends the loop early; `result` follows once its connections are done. */
  stop: () => void;
  result: Promise<ClientLoopResult>;
}

/**
 * A new connection to vip:port every 20 ms from `netns`, an answer counting when it contains `expect`; runs until
 * `stop()` or `maxMs`, then gives the longest gap between answered connections.
 */
export function clientLoop(netns: string, vip: string, port: number, expect: string, maxMs: number): ClientLoop {
  const child = spawnNodeInNamespace(netns, CLIENT_LOOP, [vip, String(port), expect, String(maxMs)]);
  const result = outputOf(child, 'client loop').then((out) => JSON.parse(out) as ClientLoopResult);
  return { child, stop: () => child.stdin!.end(), result };
}

/** Of `amphorae`, the one that holds `vip` on one of its interfaces now; throws unless exactly one does. */
export async function vipHolder(lab: Lab, amphorae: AmphoraListed[], vip: string): Promise<{ amphora: AmphoraListed; record: AmphoraRecord }> {
  const holders: { amphora: AmphoraListed; record: AmphoraRecord }[] = [];
  for (const amphora of amphorae) {
    const record = lab.state().amphorae[amphora.compute_id];
    if (!record) continue;
    const { stdout } = await execTool('ip', ['-n', record.netns, '-o', 'addr', 'show']);
    if (stdout.includes(` ${vip}/`)) holders.push({ amphora, record });
  }
  if (holders.length !== 1) throw new Error(`${holders.length} amphorae hold ${vip}: ${holders.map((h) => h.amphora.id).join(', ')}`);
  return holders[0]!;
}

/**
 * A crash, as far as the lab can make one: first its links go (so keepalived cannot say goodbye with a
 * priority-0 advert, as a VM that vanishes cannot), then the agent and everything in the amphora are killed,
 * then the namespace.
 */
export async function crashAmphora(record: AmphoraRecord): Promise<void> {
  for (const i of record.interfaces) await execTool('ip', ['-n', record.netns, 'link', 'del', i.name]);
  if (record.agent) process.kill(record.agent.pid, 'SIGKILL');
  await killNamespaceProcesses(record.netns);
  await deleteNetns(record.netns);
}

/** Until the balancer has two allocated amphorae again, none of them `victimId`, and is ONLINE (bounded; `admin`'s API). */
export function waitPairRestored(admin: BalancerApi, balancerId: string, victimId: string, timeoutMs = 60_000): Promise<boolean> {
  return waitUntil(async () => {
    const now = await admin.amphorae(balancerId);
    const balancer = await admin.balancer(balancerId);
    return now.length === 2 && now.every((a) => a.status === 'ALLOCATED' && a.id !== victimId) && balancer.operating_status === 'ONLINE';
  }, timeoutMs, 100);
}

/** A process that outlives its namespace's use stopped by its pid, if it still runs. */
function kill(child: ChildProcess): void {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch (err) {
    // Gone between its exit and the event telling us so.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export interface BalancerLab {
  readonly testLab: TestLab;
  cliEnv(user: 'admin' | 'demo'): NodeJS.ProcessEnv;
  api(user: 'admin' | 'demo'): BalancerApi;
  /** `openstack loadbalancer amphora list --loadbalancer <id> --long` as the admin. */
  amphorae(balancerId: string): Promise<AmphoraListed[]>;
  /** A node process running `script` in a VM's namespace with `env`; killed by its pid after the file. */
  startServer(netns: string, script: string, env: Record<string, string>): ChildProcess;
  /** Member VMs web1 and web2 with their web servers (see `createWebMembers`); the servers killed after the file. */
  createWebMembers(): ReturnType<typeof createWebMembers>;
  /** Runs a command in the public namespace (the lab's outside client). */
  fromPublic(argv: string[], timeoutMs?: number): Promise<string>;
  /** `clientLoop` from the public namespace, killed after the file if it still runs. */
  clientLoop(vip: string, port: number, expect: string, maxMs: number): ClientLoop;
}

/** A lab of `hosts` hosts for the balancer tests of one file, with the helpers above bound to it. */
export function balancerLab(name: string, hosts: number, options: Pick<LabOptions, 'serverArgs'> = {}): BalancerLab {
  const testLab = labForTests(name, { hosts, ...options });
  const lab = () => testLab.lab;
  const processes: ChildProcess[] = [];
  // The member VMs' servers run inside their namespaces, which outlive nothing: they are stopped by their pids.
  after(() => processes.forEach(kill));
  const owned = <T extends ChildProcess>(child: T): T => {
    processes.push(child);
    return child;
  };

  return {
    testLab,
    cliEnv: (user) => cliEnv(lab(), user),
    api: (user) => new BalancerApi(lab(), user),
    amphorae: (balancerId) => json(cliEnv(lab(), 'admin'), 'loadbalancer', 'amphora', 'list', '--loadbalancer', balancerId, '--long'),
    startServer(netns, script, env) {
      const child = owned(spawnNodeInNamespace(netns, script, [], env));
      child.stdout!.resume();
      child.stderr!.resume();
      return child;
    },
    async createWebMembers() {
      const web = await createWebMembers(lab());
      web.servers.forEach(owned);
      return web;
    },
    async fromPublic(argv, timeoutMs = 10_000) {
      const { stdout } = await execTool('ip', ['netns', 'exec', lab().state().public!.netns, ...argv], { timeoutMs });
      return stdout;
    },
    clientLoop(vip, port, expect, maxMs) {
      const loop = clientLoop(lab().state().public!.netns, vip, port, expect, maxMs);
      owned(loop.child);
      return loop;
    },
  };
}
