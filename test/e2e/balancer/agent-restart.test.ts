// An amphora agent restart touches no traffic: the agent of the amphora in VRRP MASTER state (the one holding the
// VIP, whichever role the API gave it: with nopreempt the first up keeps it) is killed under a 20 ms client loop, the
// lab (the compute service) starts it again as a VM's init would, and the new agent adopts the HAProxy and
// keepalived the dead one left instead of starting second copies; the health manager, heard from again within
// the heartbeat timeout, replaces nothing. Deleting the balancer still leaves no daemon behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execTool } from '../../../src/lib/exec.js';
import { listNetns } from '../../../src/lib/netns.js';
import { processStartTime } from '../../../src/lib/proc.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { balancerLab, vipHolder, type AmphoraListed } from './support.js';

// The server's default is 3 s; an agent run from source (tsx) on a shared machine takes about that to start.
const HEARTBEAT_TIMEOUT_S = 10;
const fixture = balancerLab('lb-adopt', 2, { serverArgs: ['--amphora-heartbeat-timeout', String(HEARTBEAT_TIMEOUT_S)] });
const lab = () => fixture.testLab.lab;

/** What runs in a namespace, by program name (`/proc/PID/comm`), pids sorted. */
async function daemonsIn(netns: string): Promise<Record<string, number[]>> {
  const { stdout } = await execTool('ip', ['netns', 'pids', netns]);
  const byName: Record<string, number[]> = {};
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    (byName[name] ??= []).push(pid);
  }
  for (const pids of Object.values(byName)) pids.sort((a, b) => a - b);
  return byName;
}

const rolesOf = (amphorae: AmphoraListed[]) => Object.fromEntries(amphorae.map((a) => [a.id, `${a.role} ${a.status}`]));

let balancerId = '';
let vip = '';
const namespaces: string[] = [];
const daemons: { pid: number; startTime: string | undefined }[] = [];

test("the VIP holder's agent is killed, then stopped, under a client loop: restarted, it adopts HAProxy and keepalived and no connection fails", async () => {
  const demo = fixture.api('demo');
  const admin = fixture.api('admin');
  const { members, subnetId } = await fixture.createWebMembers();
  const lb = (await demo.request('POST', 'loadbalancers', 201, { loadbalancer: { name: 'adopt', vip_network_id: lab().state().networks.public!.id } })).loadbalancer;
  balancerId = lb.id;
  await demo.waitActive(balancerId);
  vip = (await demo.balancer(balancerId)).vip_address;
  const listener = (await demo.request('POST', 'listeners', 201, { listener: { loadbalancer_id: balancerId, protocol: 'TCP', protocol_port: 80 } })).listener;
  await demo.waitActive(balancerId);
  const pool = (await demo.request('POST', 'pools', 201, { pool: { listener_id: listener.id, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' } })).pool;
  await demo.waitActive(balancerId);
  for (const m of members) {
    await demo.request('POST', `pools/${pool.id}/members`, 201, { member: { address: m.addresses[0]!.split('/')[0], protocol_port: 80, subnet_id: subnetId } });
    await demo.waitActive(balancerId);
  }
  assert.ok(
    await waitUntil(async () => /^web[12]$/.test((await fixture.fromPublic(['curl', '-s', '--max-time', '1', `http://${vip}/`]).catch(() => '')).trim()), 20_000, 100),
    `the VIP ${vip} serves`,
  );
  assert.ok(await waitUntil(async () => (await admin.balancer(balancerId)).operating_status === 'ONLINE', 10_000, 100), 'the balancer ONLINE');

  const amphoraeBefore = await admin.amphorae(balancerId);
  const { amphora: master, record } = await vipHolder(lab(), amphoraeBefore, vip);
  assert.equal(readFileSync(`${record.stateDir}/vrrp-state`, 'utf8').trim(), 'MASTER', 'keepalived says MASTER where the VIP is');
  for (const a of amphoraeBefore) namespaces.push(lab().state().amphorae[a.compute_id]!.netns);
  const before = await daemonsIn(record.netns);
  assert.equal(before.haproxy?.length, 2, `an HAProxy master and its worker: ${JSON.stringify(before)}`);
  assert.equal(before.keepalived?.length, 2, `keepalived and its VRRP child: ${JSON.stringify(before)}`);
  for (const a of amphoraeBefore) {
    for (const pid of Object.values(await daemonsIn(lab().state().amphorae[a.compute_id]!.netns)).flat()) daemons.push({ pid, startTime: processStartTime(pid) });
  }
  const log = record.agent!.log;

  /** Signals the amphora's agent; resolves once the lab has started a new one and that one has applied its target. */
  const restartAgent = async (signal: NodeJS.Signals) => {
    const old = lab().state().amphorae[master.compute_id]!.agent!;
    const offset = readFileSync(log, 'utf8').length;
    const newLog = () => readFileSync(log, 'utf8').slice(offset);
    const signalledAt = performance.now();
    process.kill(old.pid, signal);
    const agentBack = await waitUntil(() => {
      const agent = lab().state().amphorae[master.compute_id]?.agent;
      return agent !== null && agent !== undefined && agent.pid !== old.pid;
    }, 10_000, 20);
    assert.ok(agentBack, `the lab restarts the agent after ${signal}`);
    const restartedAt = performance.now();
    // The new agent's first report follows its first apply, which it logs.
    assert.ok(await waitUntil(() => newLog().includes('"target applied"'), HEARTBEAT_TIMEOUT_S * 1000, 20), `the new agent applies its target:\n${newLog()}`);
    process.stdout.write(
      `# agent ${signal} -> restarted by the lab ${(restartedAt - signalledAt).toFixed(0)} ms -> target applied (adopted) ${(performance.now() - signalledAt).toFixed(0)} ms (its report follows at once)\n`,
    );
    assert.match(newLog(), /"process":"haproxy".*"adopted the daemon a previous agent left running"/);
    assert.match(newLog(), /"process":"keepalived".*"adopted the daemon a previous agent left running"/);
    assert.match(newLog(), /"action":"unchanged".*"target applied"/, 'the same config: no reload');
  };

  const loop = fixture.clientLoop(vip, 80, 'web', (HEARTBEAT_TIMEOUT_S + 15) * 1000);
  await new Promise((r) => setTimeout(r, 1000));
  const killedAt = performance.now();
  await restartAgent('SIGKILL');
  // An orderly stop (an upgrade) is the same to the data plane.
  await restartAgent('SIGTERM');
  // Past a heartbeat timeout from the kill, under the loop: the health manager would have acted by now.
  await new Promise((r) => setTimeout(r, Math.max(0, (HEARTBEAT_TIMEOUT_S + 2) * 1000 - (performance.now() - killedAt))));
  loop.stop();
  const result = await loop.result;
  process.stdout.write(`# agent restart under a 20 ms connection loop: ${result.successes} answered, ${result.failures} failed, longest gap ${result.longestGapMs} ms\n`);
  assert.equal(result.failures, 0);
  assert.ok(result.successes > 100, `${result.successes} answered`);

  assert.deepEqual(await daemonsIn(record.netns), before, 'the same HAProxy and keepalived processes, no second copies');
  const amphoraeAfter = await admin.amphorae(balancerId);
  assert.deepEqual(rolesOf(amphoraeAfter), rolesOf(amphoraeBefore), 'the same amphorae in the same roles: none replaced');
  assert.equal((await vipHolder(lab(), amphoraeAfter, vip)).amphora.id, master.id, 'the MASTER keeps the VIP');
  assert.equal(readFileSync(`${record.stateDir}/vrrp-state`, 'utf8').trim(), 'MASTER');
  const shown = await admin.balancer(balancerId);
  assert.deepEqual([shown.provisioning_status, shown.operating_status], ['ACTIVE', 'ONLINE']);
});

test("deleting the balancer removes its amphorae's HAProxy and keepalived with them", async () => {
  assert.ok(balancerId && daemons.length, 'needs the balancer of the first test');
  await fixture.api('demo').request('DELETE', `loadbalancers/${balancerId}?cascade=true`, 204);
  assert.ok(
    await waitUntil(async () => {
      const left = await listNetns();
      return namespaces.every((ns) => !left.includes(ns));
    }, 30_000, 100),
    `the amphora namespaces ${namespaces.join(', ')} are deleted`,
  );
  const alive = daemons.filter((d) => processStartTime(d.pid) === d.startTime);
  assert.deepEqual(alive, [], 'no daemon of the amphorae outlives them');
});
