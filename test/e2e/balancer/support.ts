// What the balancer e2e and bench/loadbalancer share: the Load Balancer API of a running lab, the member web
// servers, a client loop in the public namespace, and the crash of an amphora as far as the lab can make one.
import { spawn, type ChildProcess } from 'node:child_process';
import { amphoraeOf, type AmphoraRow } from '../../../src/controllers/balancer/records.js';
import { openDatabase } from '../../../src/store/database.js';
import { execTool } from '../../../src/lib/exec.js';
import { deleteNetns } from '../../../src/lib/netns.js';
import { KeystoneSession } from '../../../src/lib/openstack-session.js';
import type { Lab } from '../../../src/lab/lab.js';
import { killNamespaceProcesses } from '../../../src/lab/netns.js';
import type { AmphoraRecord, VmRecord } from '../../../src/lab/state.js';
import { waitUntil } from '../../../src/lab/processes.js';

/** The Load Balancer API of a lab as one of its users. */
export class BalancerApi {
  private readonly session: KeystoneSession;

  constructor(
    private readonly lab: Lab,
    user: 'admin' | 'demo',
  ) {
    this.session = KeystoneSession.fromEnvironment(lab.openrcEnv(user));
  }

  /** Sends a request to `/load-balancer/v2/lbaas/<path>`; throws unless the answer is `expected`. */
  async request(method: string, path: string, expected: number, body?: unknown): Promise<any> {
    const response = await this.session.fetch(`${this.lab.state().server!.url}/load-balancer/v2/lbaas/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  async balancer(id: string): Promise<any> {
    return (await this.request('GET', `loadbalancers/${id}`, 200)).loadbalancer;
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
}

/** The balancer's amphora rows, read from the lab server's SQLite database (WAL: a reader beside its writer). */
export async function amphoraRows(lab: Lab, balancerId: string): Promise<AmphoraRow[]> {
  const database = await openDatabase(lab.state().server!.db);
  try {
    return await amphoraeOf(database.db, balancerId);
  } finally {
    await database.close();
  }
}

/** A member VM's web server on port 80: answers every request with its own name. Its caller stops it by pid. */
export function startWebServer(netns: string, name: string): ChildProcess {
  const script = "require('http').createServer((q, s) => s.end(process.env.NAME + '\\n')).listen(80)";
  return spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { env: { ...process.env, NAME: name }, stdio: 'ignore' });
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

/** Runs inside the public namespace: one new connection every 20 ms, bounded in count and time; prints a summary. */
const CLIENT_LOOP = `
const net = require('net');
const [vip, durationMs] = [process.argv[1], Number(process.argv[2])];
const started = Date.now();
const successes = [];
let failures = 0;
let pending = 0;
const attempt = () => {
  const at = Date.now();
  pending++;
  const socket = net.connect({ host: vip, port: 80, timeout: 500 });
  let data = '';
  socket.on('connect', () => socket.write('GET / HTTP/1.0\\r\\n\\r\\n'));
  socket.on('data', (d) => (data += d));
  const done = (ok) => { if (socket.done) return; socket.done = true; pending--; socket.destroy(); if (ok && data.includes('web')) successes.push(at); else failures++; };
  socket.on('end', () => done(true));
  socket.on('timeout', () => done(false));
  socket.on('error', () => done(false));
};
const timer = setInterval(() => { if (Date.now() - started >= durationMs) { clearInterval(timer); finish(); } else attempt(); }, 20);
const finish = () => {
  const wait = setInterval(() => {
    if (pending > 0 && Date.now() - started < durationMs + 2000) return;
    clearInterval(wait);
    successes.sort((a, b) => a - b);
    let longestGapMs = 0;
    for (let i = 1; i < successes.length; i++) longestGapMs = Math.max(longestGapMs, successes[i] - successes[i - 1]);
    console.log(JSON.stringify({ successes: successes.length, failures, longestGapMs }));
    process.exit(0);
  }, 50);
};
`;

export interface ClientLoopResult {
  successes: number;
  failures: number;
  longestGapMs: number;
}

/** The client loop above, run in `netns` against `vip`:80 for `durationMs`. */
export function clientLoop(netns: string, vip: string, durationMs: number): Promise<ClientLoopResult> {
  return runNodeInNamespace(netns, CLIENT_LOOP, [vip, String(durationMs)]).then((out) => JSON.parse(out));
}

/** Runs a node script in a namespace and resolves to its trimmed stdout once it exits 0. */
export function runNodeInNamespace(netns: string, script: string, args: string[], onStdout?: (chunk: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      onStdout?.(d.toString());
    });
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`node in ${netns} exited ${code}: ${err}`))));
  });
}

/** The balancer's amphora that holds `vip` on one of its interfaces now; throws unless exactly one does. */
export async function vipHolder(lab: Lab, balancerId: string, vip: string): Promise<{ row: AmphoraRow; record: AmphoraRecord }> {
  const holders: { row: AmphoraRow; record: AmphoraRecord }[] = [];
  for (const row of await amphoraRows(lab, balancerId)) {
    const record = lab.state().amphorae[row.compute_id!];
    if (!record) continue;
    const { stdout } = await execTool('ip', ['-n', record.netns, '-o', 'addr', 'show']);
    if (stdout.includes(` ${vip}/`)) holders.push({ row, record });
  }
  if (holders.length !== 1) throw new Error(`${holders.length} amphorae hold ${vip}: ${holders.map((h) => h.row.id).join(', ')}`);
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

/** Until the balancer has two allocated amphorae again, none of them `victimId`, and is ONLINE (bounded). */
export function waitPairRestored(lab: Lab, api: BalancerApi, balancerId: string, victimId: string, timeoutMs = 60_000): Promise<boolean> {
  return waitUntil(async () => {
    const now = await amphoraRows(lab, balancerId);
    const lb = await api.balancer(balancerId);
    return now.length === 2 && now.every((a) => a.status === 'ALLOCATED' && a.id !== victimId) && lb.operating_status === 'ONLINE';
  }, timeoutMs, 100);
}
