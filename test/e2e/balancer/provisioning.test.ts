// A load balancer in the lab, end to end, driven by the real `openstack loadbalancer` CLI as the demo user:
// the VIP on `public`, two amphorae on different hosts, two member VMs on demo-net, a client in the public
// namespace that sees both members; then the active amphora dies (its namespace deleted under a client loop)
// and the health manager restores the pair. Prints the create->ACTIVE time and the failover's longest gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from '../../../src/lab/processes.js';
import { json, openstack } from '../openstack-cli/openstackCli.js';
import { balancerLab, crashAmphora, vipHolder, waitPairRestored } from './support.js';

const fixture = balancerLab('lb-e2e', 3);
const lab = () => fixture.testLab.lab;
const { cliEnv, api } = fixture;

async function fetchFromPublic(vip: string): Promise<string> {
  return (await fixture.fromPublic(['curl', '-s', '--max-time', '2', `http://${vip}/`])).trim();
}

let balancerId = '';
let vip = '';

test('a balancer on public with a TCP listener and a round-robin pool of two member VMs serves both', async () => {
  const demo = cliEnv('demo');
  const demoApi = api('demo');
  const { members, subnetId } = await fixture.createWebMembers();

  const started = performance.now();
  const lb = await json(demo, 'loadbalancer', 'create', '--name', 'lb1', '--vip-network-id', lab().state().networks.public.id);
  const created = performance.now();
  balancerId = lb.id;
  await demoApi.waitActive(balancerId);
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
  await demoApi.waitActive(balancerId);
  const pool = await json(demo, 'loadbalancer', 'pool', 'create', '--name', 'web', '--protocol', 'TCP', '--lb-algorithm', 'ROUND_ROBIN', '--listener', listener.id);
  await demoApi.waitActive(balancerId);
  for (const m of members) {
    await json(demo, 'loadbalancer', 'member', 'create', '--name', m.name, '--subnet-id', subnetId, '--address', m.addresses[0].split('/')[0], '--protocol-port', '80', pool.id);
    await demoApi.waitActive(balancerId);
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
  const { amphora: victim, record } = await vipHolder(lab(), await fixture.amphorae(balancerId), vip);

  const loop = fixture.clientLoop(vip, 80, 'web', 15_000).result;
  await new Promise((r) => setTimeout(r, 2000));
  const killedAt = performance.now();
  await crashAmphora(record);
  const restoring = waitPairRestored(api('admin'), balancerId, victim.id).then((ok) => ({ ok, seconds: (performance.now() - killedAt) / 1000 }));
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
