// A UDP listener in the lab, end to end, driven by the real `openstack loadbalancer` CLI as the demo user: two
// member VMs on demo-net run a UDP server answering with its own name, a client in the public namespace sees
// both through the VIP (nftables DNAT in the amphorae, no HAProxy); a stopped member's ICMP port unreachable
// makes the UDP-CONNECT monitor mark it ERROR and every answer comes from the other; started again it is ONLINE.
// Then the VIP holder crashes and UDP keeps being answered through the standby. Prints the times it measures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { VmRecord } from '../../../src/lab/state.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { json } from '../openstack-cli/openstackCli.js';
import { balancerLab, crashAmphora, runNodeInNamespace, vipHolder } from './support.js';

const fixture = balancerLab('lb-udp', 3);
const lab = () => fixture.testLab.lab;
const demo = () => fixture.cliEnv('demo');

const PORT = 5353;
const UDP_SERVER = `
const socket = require('dgram').createSocket('udp4');
socket.on('message', (message, from) => socket.send(process.env.NAME, from.port, from.address));
socket.bind(Number(process.env.PORT));
`;

/** One datagram per new socket (a new flow each), `count` of them, each answered within 500 ms or counted as none. */
const UDP_CLIENT = `
const dgram = require('dgram');
const [host, port, count] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const once = () => new Promise((resolve) => {
  const socket = dgram.createSocket('udp4');
  const end = (answer) => { clearTimeout(timer); socket.close(); resolve(answer); };
  const timer = setTimeout(() => end('none'), 500);
  socket.on('message', (m) => end(String(m)));
  socket.on('error', () => end('none'));
  socket.send('hello', port, host);
});
(async () => { const answers = []; for (let i = 0; i < count; i++) answers.push(await once()); console.log(answers.join(' ')); })();
`;

let vip = '';
let balancerId = '';
let poolId = '';
const memberIds: Record<string, string> = {};
const vms: Record<string, VmRecord> = {};
const servers: Record<string, ChildProcess> = {};

async function udpAnswers(count: number): Promise<string[]> {
  return (await runNodeInNamespace(lab().state().public!.netns, UDP_CLIENT, [vip, String(PORT), String(count)])).split(' ');
}

/** Through the API rather than the CLI, whose own start (about 2 s) would blur the times measured. */
async function memberStatus(name: string): Promise<string> {
  return (await fixture.api('demo').request('GET', `pools/${poolId}/members/${memberIds[name]}`, 200)).member.operating_status;
}

function startUdpServer(name: string): void {
  servers[name] = fixture.startServer(vms[name]!.netns, UDP_SERVER, { NAME: name, PORT: String(PORT) });
}

test('a UDP listener with a round-robin pool of two member VMs: the client sees both answer', async () => {
  const demoNet = lab().state().networks['demo-net'];
  const subnet = demoNet.subnets.find((s) => s.cidr === '198.18.1.0/24')!;
  const group = await lab().cloud().createSecurityGroup({ name: 'udp-members', project_id: demoNet.projectId });
  await lab().cloud().createSecurityGroupRule({ security_group_id: group.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'udp', port_range_min: PORT, port_range_max: PORT, remote_ip_prefix: subnet.cidr });
  for (const [name, host] of [['u1', 'host1'], ['u2', 'host2']] as const) {
    vms[name] = await lab().createVm({ name, network: 'demo-net', host, securityGroups: ['default', 'udp-members'] });
    startUdpServer(name);
  }

  const api = fixture.api('demo');
  balancerId = (await json(demo(), 'loadbalancer', 'create', '--name', 'lb-udp', '--vip-network-id', lab().state().networks.public.id)).id;
  await api.waitActive(balancerId);
  const listener = await json(demo(), 'loadbalancer', 'listener', 'create', '--name', 'udp', '--protocol', 'UDP', '--protocol-port', String(PORT), balancerId);
  await api.waitActive(balancerId);
  poolId = (await json(demo(), 'loadbalancer', 'pool', 'create', '--name', 'udp', '--protocol', 'UDP', '--lb-algorithm', 'ROUND_ROBIN', '--listener', listener.id)).id;
  await api.waitActive(balancerId);
  for (const [name, vm] of Object.entries(vms)) {
    const created = await json(demo(), 'loadbalancer', 'member', 'create', '--name', name, '--subnet-id', subnet.id, '--address', vm.addresses[0]!.split('/')[0]!, '--protocol-port', String(PORT), poolId);
    memberIds[name] = created.id;
    await api.waitActive(balancerId);
  }
  await json(demo(), 'loadbalancer', 'healthmonitor', 'create', '--name', 'udp', '--type', 'UDP-CONNECT', '--delay', '3', '--timeout', '1', '--max-retries', '1', '--max-retries-down', '2', poolId);
  await api.waitActive(balancerId);
  const monitoredAt = performance.now();
  assert.ok(
    await waitUntil(async () => (await memberStatus('u1')) === 'ONLINE' && (await memberStatus('u2')) === 'ONLINE', 20_000, 100),
    'both members ONLINE by their UDP-CONNECT checks',
  );
  process.stdout.write(`# health monitor ACTIVE -> both members ONLINE: ${((performance.now() - monitoredAt) / 1000).toFixed(2)} s\n`);
  vip = (await json(demo(), 'loadbalancer', 'show', balancerId)).vip_address;

  const seen = new Set<string>();
  assert.ok(
    await waitUntil(async () => {
      for (const answer of await udpAnswers(4)) seen.add(answer);
      return seen.has('u1') && seen.has('u2');
    }, 20_000, 100),
    `the client saw ${[...seen].join(', ')} through ${vip}:${PORT}/udp`,
  );
  assert.deepEqual(new Set(await udpAnswers(6)), new Set(['u1', 'u2']), 'every datagram answered, by both members');
  assert.ok(await waitUntil(async () => (await api.balancer(balancerId)).operating_status === 'ONLINE', 10_000, 100), 'the balancer, with only a UDP listener, ONLINE');
  assert.equal((await json(demo(), 'loadbalancer', 'listener', 'show', listener.id)).operating_status, 'ONLINE');
  assert.deepEqual((await json(demo(), 'loadbalancer', 'member', 'list', poolId)).map((m: { operating_status: string }) => m.operating_status), ['ONLINE', 'ONLINE']);
});

test('a member stops: UDP-CONNECT marks it ERROR and traffic goes to the other; started again: ONLINE and served', async () => {
  assert.ok(poolId, 'needs the balancer of the first test');
  const waitStatus = async (name: string, status: string) => {
    let last = '';
    const started = performance.now();
    assert.ok(await waitUntil(async () => (last = await memberStatus(name)) === status, 30_000, 100), `${name} ${last}, not ${status}`);
    return (performance.now() - started) / 1000;
  };
  process.kill(servers.u2!.pid!, 'SIGKILL');
  const down = await waitStatus('u2', 'ERROR');
  process.stdout.write(`# UDP server stopped -> member ERROR: ${down.toFixed(2)} s (checks every 3 s, Octavia's minimum for UDP-CONNECT; fall 2; heartbeat 1 s)\n`);
  assert.equal((await json(demo(), 'loadbalancer', 'member', 'show', poolId, memberIds.u2!)).operating_status, 'ERROR');
  assert.equal((await json(demo(), 'loadbalancer', 'pool', 'show', poolId)).operating_status, 'DEGRADED');
  assert.deepEqual(new Set(await udpAnswers(6)), new Set(['u1']), 'only the member left answers, and every datagram is answered');

  startUdpServer('u2');
  const up = await waitStatus('u2', 'ONLINE');
  process.stdout.write(`# UDP server started -> member ONLINE: ${up.toFixed(2)} s\n`);
  assert.ok(await waitUntil(async () => new Set(await udpAnswers(4)).has('u2'), 10_000, 100), 'u2 answers again');
  assert.deepEqual(new Set(await udpAnswers(6)), new Set(['u1', 'u2']));
});

test('the VIP holder crashes: the standby, which has the same table, answers UDP', async () => {
  assert.ok(vip, 'needs the balancer of the first test');
  const { record } = await vipHolder(lab(), await fixture.amphorae(balancerId), vip);
  const crashedAt = performance.now();
  await crashAmphora(record);
  assert.ok(await waitUntil(async () => (await udpAnswers(1))[0] !== 'none', 10_000, 20), 'UDP answered through the other amphora');
  process.stdout.write(`# VIP holder crashed -> UDP answered again: ${((performance.now() - crashedAt) / 1000).toFixed(2)} s (each try a new client process waiting up to 500 ms)\n`);
  assert.deepEqual(new Set(await udpAnswers(6)), new Set(['u1', 'u2']));
});
