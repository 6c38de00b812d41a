// The lab as a whole, without host agents: server, topology, bootstrap, VMs through the Network API,
// lab.json and teardown. Every namespace is removed at the end, also on failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/lib/logger.js';
import { Lab } from '../../../src/lab/lab.js';
import { deleteNetns, listNetns } from '../../../src/lib/netns.js';
import { runIp } from '../../../src/lab/netns.js';
import { isRunning, processStartTime, waitUntil } from '../../../src/lab/processes.js';
import type { ProcessIdentity } from '../../../src/lib/proc.js';
import { readLabState, type LabState } from '../../../src/lab/state.js';

const dir = mkdtempSync(join(tmpdir(), 'cloudnet-lab-'));
let lab: Lab;
let prefix = '';
let rootLinksBefore = '';
const rootLinks = async () => (await runIp(['-o', 'link', 'show'])).split('\n').map((l) => l.split(':')[1]?.trim()).sort().join(',');

before(async () => {
  rootLinksBefore = await rootLinks();
  lab = await Lab.start({ dir, hosts: 2, agents: false, logger: createLogger('lab-test', process.env.CLOUDNET_TEST_LOG_LEVEL ?? 'warn') });
  prefix = lab.state().namespacePrefix;
});

after(async () => {
  await lab?.down();
  for (const ns of await listNetns()) if (prefix && ns.startsWith(prefix)) await deleteNetns(ns);
  rmSync(dir, { recursive: true, force: true });
});

test('lab.json records the server, the namespaces, the hosts and the bootstrapped networks', async () => {
  const state = readLabState(dir)!;
  assert.equal(state.phase, 'ready');
  assert.match(state.namespacePrefix, /^cn-[a-z0-9]{6}-$/);
  assert.deepEqual(state.namespaces, ['fabric', 'public', 'host1', 'host2'].map((n) => prefix + n));
  const live = await listNetns();
  for (const ns of state.namespaces) assert.ok(live.includes(ns), ns);
  assert.deepEqual(state.hosts.map((h) => [h.name, h.tunnelIp, h.providerInterfaces.public]), [['host1', '198.18.0.11', 'phy-public'], ['host2', '198.18.0.12', 'phy-public']]);
  assert.ok(isRunning(state.server!));
  assert.deepEqual(Object.keys(state.networks).sort(), ['demo-net', 'public']);
  assert.deepEqual(state.networks['demo-net'].subnets.map((s) => s.cidr), ['198.18.1.0/24', 'fd00:18:1::/64']);
  assert.ok(existsSync(join(dir, 'openrc')) && existsSync(join(dir, 'openrc-demo')));
});

test('the demo user can log in with openrc-demo and sees demo-net as its own', async () => {
  const env = lab.openrcEnv('demo');
  const login = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: env.OS_USERNAME, domain: { name: 'Default' }, password: env.OS_PASSWORD } } }, scope: { project: { name: env.OS_PROJECT_NAME, domain: { name: 'Default' } } } } }),
  });
  assert.equal(login.status, 201);
  const token = login.headers.get('x-subject-token')!;
  const { networks } = (await (await fetch(`${lab.state().server!.url}/network/v2.0/networks?name=demo-net`, { headers: { 'x-auth-token': token } })).json()) as { networks: { project_id: string }[] };
  assert.equal(networks.length, 1);
  assert.equal(networks[0].project_id, lab.state().networks['demo-net'].projectId);
});

test('VMs: a bound port, a namespace configured from it, placement on the least loaded host', async () => {
  const web = await lab.createVm({ name: 'web', network: 'demo-net' });
  const db = await lab.createVm({ name: 'db', network: 'demo-net' });
  const edge = await lab.createVm({ name: 'edge', network: 'public', host: 'host2' });
  assert.deepEqual([web.host, db.host, edge.host], ['host1', 'host2', 'host2']);

  const port = await lab.cloud().getPort(web.portId);
  assert.equal(port['binding:host_id'], 'host1');
  assert.equal(port.device_owner, 'compute:lab');
  assert.equal(port.device_id, 'web');
  assert.match(web.addresses[0], /^198\.18\.1\.\d+\/24$/);
  assert.match(web.addresses[1], /^fd00:18:1::[0-9a-f:]+\/64$/);
  assert.match(edge.addresses[0], /^198\.19\.0\.\d+\/24$/);

  const eth0 = await runIp(['-n', web.netns, 'addr', 'show', 'eth0']);
  assert.match(eth0, new RegExp(`link/ether ${port.mac_address}`));
  assert.match(eth0, /mtu 1450/);
  for (const a of web.addresses) assert.ok(eth0.includes(a), a);
  assert.match(await runIp(['-n', web.netns, 'route', 'show', 'default']), /via 198\.18\.1\.1 dev eth0/);
  assert.match(await runIp(['-n', web.netns, '-6', 'route', 'show', 'default']), /via fd00:18:1::1 dev eth0/);
  assert.match(await runIp(['-n', prefix + 'host1', 'link', 'show', web.tap]), /mtu 1450/);

  const state = readLabState(dir)!;
  assert.deepEqual(Object.keys(state.vms).sort(), ['db', 'edge', 'web']);
  assert.ok(state.namespaces.includes(web.netns));
});

test('security groups are named in the network\'s project', async () => {
  const demo = lab.state().networks['demo-net'].projectId;
  const group = await lab.cloud().createSecurityGroup({ name: 'web-sg', project_id: demo });
  const vm = await lab.createVm({ name: 'api', network: 'demo-net', securityGroups: ['web-sg'] });
  assert.deepEqual((await lab.cloud().getPort(vm.portId)).security_groups, [group.id]);
  await assert.rejects(lab.createVm({ name: 'api2', network: 'demo-net', securityGroups: ['nope'] }), /no security group named 'nope'/);
  await lab.deleteVm('api');
});

test('VM requests the lab refuses, with reasons', async () => {
  await assert.rejects(lab.createVm({ name: 'web', network: 'demo-net' }), /a VM named 'web' exists/);
  await assert.rejects(lab.createVm({ name: 'x', network: 'demo-net', host: 'host9' }), /no host 'host9'/);
  await assert.rejects(lab.createVm({ name: 'x', network: 'nope' }), /no network named 'nope'/);
  await assert.rejects(lab.createVm({ name: 'host1', network: 'demo-net' }), /lab node/);
  await assert.rejects(lab.deleteVm('nope'), /no VM named 'nope'/);
});

/** Starts a process inside a namespace, as `lab exec VM -- cmd &` would. */
async function runInside(netns: string): Promise<ProcessIdentity> {
  const child = spawn('ip', ['netns', 'exec', netns, 'sleep', '300'], { detached: true, stdio: 'ignore' });
  child.unref();
  assert.ok(await waitUntil(async () => (await runIp(['netns', 'pids', netns])).trim() === String(child.pid), 5000, 20), `a process in ${netns}`);
  return { pid: child.pid!, startTime: processStartTime(child.pid!)! };
}

/** Whether it is gone once reaped (this process is its parent). */
const ended = (p: ProcessIdentity) => waitUntil(async () => !isRunning(p), 5000, 20);

test('deleting a VM removes its port, its namespace and what ran inside', async () => {
  const { portId, netns } = lab.state().vms.db;
  const inside = await runInside(netns);
  await lab.deleteVm('db');
  assert.ok(await ended(inside), 'a process in the VM would outlive it and keep its namespace alive');
  await assert.rejects(lab.cloud().getPort(portId), /HTTP 404/);
  assert.ok(!(await listNetns()).includes(netns));
  assert.equal(readLabState(dir)!.vms.db, undefined);
});

test('a second lab in the same directory is refused while the first runs', async () => {
  await assert.rejects(Lab.start({ dir, hosts: 1, agents: false, logger: createLogger('lab-test', 'silent') }), /a lab is running in .* 'cloudnet lab down --dir/);
  assert.equal(readLabState(dir)!.runId, lab.state().runId);
});

test('down removes every namespace, process and file the lab made, and keeps the logs', async () => {
  const state: LabState = lab.state();
  const inside = await runInside(state.vms.web!.netns);
  await lab.down();
  assert.ok(await ended(inside), 'a process started in a VM');
  assert.deepEqual((await listNetns()).filter((ns) => ns.startsWith(prefix)), []);
  assert.equal(isRunning(state.server!), false);
  for (const f of state.files) assert.equal(existsSync(f), false, f);
  assert.ok(existsSync(join(dir, 'logs', 'server.log')));
  assert.equal(await rootLinks(), rootLinksBefore, 'the root namespace has the interfaces it had');
});
