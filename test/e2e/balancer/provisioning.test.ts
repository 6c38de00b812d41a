// A load balancer in the lab, end to end, driven by the real `openstack loadbalancer` CLI as the demo user:
// the VIP on `public`, two amphorae on different hosts, two member VMs on demo-net, a client in the public
// namespace that sees both members; then the active amphora dies (its namespace deleted under a client loop)
// and the health manager restores the pair. Prints the create->ACTIVE time and the failover's longest gap.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { amphoraeOf, type AmphoraRow } from '../../../src/controllers/balancer/records.js';
import { openDatabase } from '../../../src/store/database.js';
import { execTool } from '../../../src/lib/exec.js';
import { deleteNetns } from '../../../src/lib/netns.js';
import { KeystoneSession } from '../../../src/lib/openstack-session.js';
import { killNamespaceProcesses } from '../../../src/lab/netns.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { labForTests } from '../lab/support.js';
import { json, openstack } from '../openstack-cli/openstackCli.js';

const testLab = labForTests('lb-e2e', { hosts: 3 });
const lab = () => testLab.lab;
const servers: ChildProcess[] = [];

/** The environment of a process acting as `user` in the lab: ours without OS_*, plus the lab's openrc. */
function cliEnv(user: 'admin' | 'demo'): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  return { ...base, ...lab().openrcEnv(user) };
}

const session = (user: 'admin' | 'demo') => KeystoneSession.fromEnvironment(lab().openrcEnv(user));

async function getJson(s: KeystoneSession, path: string): Promise<any> {
  const response = await s.fetch(lab().state().server!.url + path);
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

/** The balancer's amphora rows, read from the lab server's SQLite database (WAL: a reader beside its writer). */
async function amphoraRows(balancerId: string): Promise<AmphoraRow[]> {
  const database = await openDatabase(lab().state().server!.db);
  try {
    return await amphoraeOf(database.db, balancerId);
  } finally {
    await database.close();
  }
}

/** Until the balancer is ACTIVE again after a change (bounded); ERROR fails at once with its status. */
async function waitActive(s: KeystoneSession, id: string, timeoutMs = 60_000): Promise<void> {
  let last: any;
  const ok = await waitUntil(async () => {
    last = (await getJson(s, `/load-balancer/v2/lbaas/loadbalancers/${id}`)).loadbalancer;
    if (last.provisioning_status === 'ERROR') throw new Error(`balancer ${id} went to ERROR: ${JSON.stringify(last)}`);
    return last.provisioning_status === 'ACTIVE';
  }, timeoutMs, 50);
  assert.ok(ok, `balancer ${id} not ACTIVE within ${timeoutMs / 1000} s: ${JSON.stringify(last)}`);
}

/** A member VM's web server: answers every request with its own name. */
function startWebServer(netns: string, name: string): void {
  const script = "require('http').createServer((q, s) => s.end(process.env.NAME + '\\n')).listen(80)";
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { env: { ...process.env, NAME: name }, stdio: 'ignore' });
  servers.push(child);
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

function clientLoop(publicNetns: string, vip: string, durationMs: number): Promise<{ successes: number; failures: number; longestGapMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', publicNetns, process.execPath, '-e', CLIENT_LOOP, vip, String(durationMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`client loop exited ${code}: ${err}`))));
  });
}

async function fetchFromPublic(vip: string): Promise<string> {
  const { stdout } = await execTool('ip', ['netns', 'exec', lab().state().public!.netns, 'curl', '-s', '--max-time', '2', `http://${vip}/`]);
  return stdout.trim();
}

// The member VMs' web servers run inside their namespaces, which outlive nothing: they are stopped by their pids.
after(() => {
  for (const child of servers) if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

let balancerId = '';
let vip = '';

test('a balancer on public with a TCP listener and a round-robin pool of two member VMs serves both', async () => {
  const demo = cliEnv('demo');
  const demoApi = session('demo');
  const demoProject = lab().state().networks['demo-net'].projectId;
  const demoSubnet = lab().state().networks['demo-net'].subnets.find((s) => s.cidr === '198.18.1.0/24')!;

  // The members let the amphorae (on demo-net) in on port 80.
  const web = await lab().cloud().createSecurityGroup({ name: 'web', project_id: demoProject });
  await lab().cloud().createSecurityGroupRule({ security_group_id: web.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: demoSubnet.cidr });
  const members = [await lab().createVm({ name: 'web1', network: 'demo-net', host: 'host1', securityGroups: ['default', 'web'] }), await lab().createVm({ name: 'web2', network: 'demo-net', host: 'host2', securityGroups: ['default', 'web'] })];
  for (const m of members) startWebServer(m.netns, m.name);

  const started = performance.now();
  const lb = await json(demo, 'loadbalancer', 'create', '--name', 'lb1', '--vip-network-id', lab().state().networks.public.id);
  const created = performance.now();
  balancerId = lb.id;
  await waitActive(demoApi, balancerId);
  const active = performance.now();
  process.stdout.write(
    `# loadbalancer create -> ACTIVE: ${((active - started) / 1000).toFixed(2)} s with the CLI's own start, ${((active - created) / 1000).toFixed(2)} s from its answer\n`,
  );

  const amphorae = await amphoraRows(balancerId);
  assert.deepEqual(amphorae.map((a) => a.role).sort(), ['BACKUP', 'MASTER']);
  assert.notEqual(amphorae[0].compute_id, null);
  const hosts = amphorae.map((a) => lab().state().amphorae[a.compute_id!]?.host);
  assert.equal(new Set(hosts).size, 2, `amphorae on different hosts: ${hosts.join(', ')}`);

  const listener = await json(demo, 'loadbalancer', 'listener', 'create', '--name', 'tcp80', '--protocol', 'TCP', '--protocol-port', '80', balancerId);
  await waitActive(demoApi, balancerId);
  const pool = await json(demo, 'loadbalancer', 'pool', 'create', '--name', 'web', '--protocol', 'TCP', '--lb-algorithm', 'ROUND_ROBIN', '--listener', listener.id);
  await waitActive(demoApi, balancerId);
  for (const m of members) {
    await json(demo, 'loadbalancer', 'member', 'create', '--name', m.name, '--subnet-id', demoSubnet.id, '--address', m.addresses[0].split('/')[0], '--protocol-port', '80', pool.id);
    await waitActive(demoApi, balancerId);
  }

  vip = (await json(demo, 'loadbalancer', 'show', balancerId)).vip_address;
  const seen = new Set<string>();
  assert.ok(
    await waitUntil(async () => {
      const answer = await fetchFromPublic(vip).catch(() => '');
      if (answer) seen.add(answer);
      return seen.has('web1') && seen.has('web2');
    }, 20_000, 100),
    `the client saw ${[...seen].join(', ') || 'nothing'} through ${vip}`,
  );
});

test('the active amphora dies under a client loop; the standby takes over and the health manager restores the pair', async () => {
  assert.ok(balancerId && vip, 'needs the balancer of the first test');
  const admin = session('admin');
  const state = lab().state();
  const amphorae = await amphoraRows(balancerId);
  const holders: string[] = [];
  for (const a of amphorae) {
    const record = state.amphorae[a.compute_id!];
    const { stdout } = await execTool('ip', ['-n', record.netns, '-o', 'addr', 'show']);
    if (stdout.includes(` ${vip}/`)) holders.push(a.id);
  }
  assert.equal(holders.length, 1, `exactly one amphora holds ${vip}: ${holders.join(', ')}`);
  const victim = amphorae.find((a) => a.id === holders[0])!;
  const record = state.amphorae[victim.compute_id!];

  const loop = clientLoop(state.public!.netns, vip, 15_000);
  await new Promise((r) => setTimeout(r, 2000));
  // A crash, as far as the lab can make one: first its links go (so keepalived cannot say goodbye with a priority-0
  // advert, as a VM that vanishes cannot), then the agent and everything in the amphora are killed, then the namespace.
  const killedAt = performance.now();
  for (const i of record.interfaces) await execTool('ip', ['-n', record.netns, 'link', 'del', i.name]);
  if (record.agent) process.kill(record.agent.pid, 'SIGKILL');
  await killNamespaceProcesses(record.netns);
  await deleteNetns(record.netns);
  const restoring = waitUntil(async () => {
    const now = await amphoraRows(balancerId);
    const lb = (await getJson(admin, `/load-balancer/v2/lbaas/loadbalancers/${balancerId}`)).loadbalancer;
    return now.length === 2 && now.every((a) => a.status === 'ALLOCATED' && a.id !== victim.id) && lb.operating_status === 'ONLINE';
  }, 60_000, 100).then((ok) => ({ ok, seconds: (performance.now() - killedAt) / 1000 }));
  const [result, restored] = await Promise.all([loop, restoring]);
  process.stdout.write(`# failover under a 20 ms connection loop: longest gap ${result.longestGapMs} ms (${result.successes} answered, ${result.failures} failed)\n`);
  assert.ok(result.successes > 0);
  assert.ok(restored.ok, 'two amphorae again, the dead one replaced, the balancer ONLINE');
  process.stdout.write(`# amphora killed -> pair restored and ONLINE: ${restored.seconds.toFixed(1)} s (heartbeat timeout 3 s)\n`);
  const answer = await fetchFromPublic(vip);
  assert.match(answer, /^web[12]$/);
  const r = await openstack(cliEnv('demo'), 'loadbalancer', 'show', balancerId, '-f', 'value', '-c', 'provisioning_status');
  assert.equal(r.stdout.trim(), 'ACTIVE');
});
