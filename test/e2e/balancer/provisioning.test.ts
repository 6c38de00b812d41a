// A load balancer in the lab, end to end, driven by the real `openstack loadbalancer` CLI as the demo user:
// the VIP on `public`, two amphorae on different hosts, two member VMs on demo-net, a client in the public
// namespace that sees both members; then the active amphora dies (its namespace deleted under a client loop)
// and the health manager restores the pair. Prints the create->ACTIVE time and the failover's longest gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execTool } from '../../../src/lib/exec.js';
import { deleteNetns } from '../../../src/lib/netns.js';
import { killNamespaceProcesses } from '../../../src/lab/netns.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { json, openstack } from '../openstack-cli/openstackCli.js';
import { balancerLab, type AmphoraListed } from './support.js';

const fixture = balancerLab('lb-e2e', 3);
const lab = () => fixture.testLab.lab;
const { cliEnv, session, getJson, waitActive } = fixture;

/** A member VM's web server: answers every request with its own name. */
function startWebServer(netns: string, name: string): void {
  fixture.startServer(netns, "require('http').createServer((q, s) => s.end(process.env.NAME + '\\n')).listen(80)", { NAME: name });
}

async function fetchFromPublic(vip: string): Promise<string> {
  return (await fixture.fromPublic(['curl', '-s', '--max-time', '2', `http://${vip}/`])).trim();
}

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

  const amphorae = await fixture.amphorae(balancerId);
  assert.deepEqual(amphorae.map((a) => a.role).sort(), ['BACKUP', 'MASTER']);
  assert.ok(amphorae.every((a) => a.compute_id), 'both amphorae have a VM');
  const hosts = amphorae.map((a) => lab().state().amphorae[a.compute_id]?.host);
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
  const amphorae = await fixture.amphorae(balancerId);
  const holders: string[] = [];
  for (const a of amphorae) {
    const record = state.amphorae[a.compute_id];
    const { stdout } = await execTool('ip', ['-n', record.netns, '-o', 'addr', 'show']);
    if (stdout.includes(` ${vip}/`)) holders.push(a.id);
  }
  assert.equal(holders.length, 1, `exactly one amphora holds ${vip}: ${holders.join(', ')}`);
  const victim = amphorae.find((a) => a.id === holders[0])!;
  const record = state.amphorae[victim.compute_id];

  const loop = fixture.clientLoop(vip, 80, 'web', 15_000).result;
  await new Promise((r) => setTimeout(r, 2000));
  // A crash, as far as the lab can make one: first its links go (so keepalived cannot say goodbye with a priority-0
  // advert, as a VM that vanishes cannot), then the agent and everything in the amphora are killed, then the namespace.
  const killedAt = performance.now();
  for (const i of record.interfaces) await execTool('ip', ['-n', record.netns, 'link', 'del', i.name]);
  if (record.agent) process.kill(record.agent.pid, 'SIGKILL');
  await killNamespaceProcesses(record.netns);
  await deleteNetns(record.netns);
  const restoring = waitUntil(async () => {
    const now = (await getJson(admin, `/load-balancer/v2/octavia/amphorae?loadbalancer_id=${balancerId}`)).amphorae as AmphoraListed[];
    const balancer = (await getJson(admin, `/load-balancer/v2/lbaas/loadbalancers/${balancerId}`)).loadbalancer;
    return now.length === 2 && now.every((a) => a.status === 'ALLOCATED' && a.id !== victim.id) && balancer.operating_status === 'ONLINE';
  }, 60_000, 100).then((ok) => ({ ok, seconds: (performance.now() - killedAt) / 1000 }));
  const [result, restored] = await Promise.all([loop, restoring]);
  process.stdout.write(`# failover under a 20 ms connection loop: longest gap ${result.longestGapMs} ms (${result.successes} answered, ${result.failures} failed)\n`);
  assert.ok(result.successes > 0);
  assert.ok(restored.ok, 'two amphorae again, the dead one replaced, the balancer ONLINE');
  process.stdout.write(`# amphora killed -> pair restored and ONLINE: ${restored.seconds.toFixed(1)} s (heartbeat timeout 3 s)\n`);
  const listed = await fixture.amphorae(balancerId);
  assert.deepEqual(listed.map((a) => a.role).sort(), ['BACKUP', 'MASTER']);
  assert.ok(listed.every((a) => a.status === 'ALLOCATED' && a.id !== victim.id), `the CLI lists the new pair: ${JSON.stringify(listed)}`);
  const answer = await fetchFromPublic(vip);
  assert.match(answer, /^web[12]$/);
  const r = await openstack(cliEnv('demo'), 'loadbalancer', 'show', balancerId, '-f', 'value', '-c', 'provisioning_status');
  assert.equal(r.stdout.trim(), 'ACTIVE');
});
