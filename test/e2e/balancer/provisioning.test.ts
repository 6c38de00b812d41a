// A load balancer in the lab, end to end, driven by the real `openstack loadbalancer` CLI as the demo user:
// the VIP on `public`, two amphorae on different hosts, two member VMs on demo-net, a client in the public
// namespace that sees both members; then the active amphora dies (its namespace deleted under a client loop)
// and the health manager restores the pair. Prints the create->ACTIVE time and the failover's longest gap.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execTool } from '../../../src/lib/exec.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { labForTests } from '../lab/support.js';
import { json, openstack } from '../openstack-cli/openstackCli.js';
import { amphoraRows, BalancerApi, clientLoop, crashAmphora, createWebMembers, vipHolder, waitPairRestored } from './support.js';

const testLab = labForTests('lb-e2e', { hosts: 3 });
const lab = () => testLab.lab;
const servers: ChildProcess[] = [];

/** The environment of a process acting as `user` in the lab: ours without OS_*, plus the lab's openrc. */
function cliEnv(user: 'admin' | 'demo'): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  return { ...base, ...lab().openrcEnv(user) };
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
  const demoApi = new BalancerApi(lab(), 'demo');

  const web = await createWebMembers(lab());
  servers.push(...web.servers);
  const { members, subnetId } = web;

  const started = performance.now();
  const lb = await json(demo, 'loadbalancer', 'create', '--name', 'lb1', '--vip-network-id', lab().state().networks.public.id);
  const created = performance.now();
  balancerId = lb.id;
  await demoApi.waitActive(balancerId);
  const active = performance.now();
  process.stdout.write(
    `# loadbalancer create -> ACTIVE: ${((active - started) / 1000).toFixed(2)} s with the CLI's own start, ${((active - created) / 1000).toFixed(2)} s from its answer\n`,
  );

  const amphorae = await amphoraRows(lab(), balancerId);
  assert.deepEqual(amphorae.map((a) => a.role).sort(), ['BACKUP', 'MASTER']);
  assert.notEqual(amphorae[0].compute_id, null);
  const hosts = amphorae.map((a) => lab().state().amphorae[a.compute_id!]?.host);
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
  const admin = new BalancerApi(lab(), 'admin');
  const state = lab().state();
  const { row: victim, record } = await vipHolder(lab(), balancerId, vip);

  const loop = clientLoop(state.public!.netns, vip, 15_000);
  await new Promise((r) => setTimeout(r, 2000));
  const killedAt = performance.now();
  await crashAmphora(record);
  const restoring = waitPairRestored(lab(), admin, balancerId, victim.id).then((ok) => ({ ok, seconds: (performance.now() - killedAt) / 1000 }));
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
