// The lab as the balancer controller's compute service, through its control socket: an amphora VM on a host
// other than the ones to avoid, its ports bound there and wired as eth0, eth1, … (reachable over the SDN), the
// same VM returned when asked twice, and everything gone after the delete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listNetns } from '../../../src/lib/netns.js';
import { LabControlClient } from '../../../src/lab/control.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { readLabState } from '../../../src/lab/state.js';
import { labForTests } from './support.js';

const run = promisify(execFile);
const testLab = labForTests('lab-amphora', { hosts: 3 });
const ping = (netns: string, target: string) => run('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', target]).then(() => true, () => false);


test('an amphora VM: placed away from the avoided hosts, ports bound and wired in order, idempotent, removed whole', async () => {
  const { lab, dir } = testLab;
  const state = lab.state();
  const prefix = state.namespacePrefix;
  const compute = new LabControlClient(state.controlSocket);
  const amphoraId = '0a1b2c3d-0000-4000-8000-000000000001';
  // No port security, so that the public namespace may ping them without a group in the way.
  const vrrp = await lab.cloud().createPort({ network_id: state.networks.public.id, device_owner: 'Octavia', device_id: amphoraId, port_security_enabled: false });
  const member = await lab.cloud().createPort({ network_id: state.networks['demo-net'].id, device_owner: 'Octavia', device_id: amphoraId, port_security_enabled: false });

  const vm = await compute.createAmphoraVm({ amphoraId, ports: [vrrp.id], avoidHosts: ['host1', 'host2'] });
  assert.deepEqual(vm, { host: 'host3', computeId: amphoraId });
  assert.deepEqual(await compute.createAmphoraVm({ amphoraId, ports: [vrrp.id], avoidHosts: ['host1', 'host2'] }), vm, 'asked again: the same VM');
  await compute.attachPort(amphoraId, member.id);
  await compute.attachPort(amphoraId, member.id);

  const record = readLabState(dir)!.amphorae[amphoraId];
  assert.equal(record.netns, `${prefix}amp-${amphoraId}`);
  assert.deepEqual(record.interfaces.map((i) => [i.name, i.portId]), [['eth0', vrrp.id], ['eth1', member.id]]);
  // Its agent was started (whether it still runs depends on the server knowing the amphora, which it does not here).
  assert.ok(existsSync(join(dir, 'logs', `amphora-${amphoraId}.log`)));
  assert.ok(existsSync(record.stateDir));
  for (const port of [vrrp, member]) assert.equal((await lab.cloud().getPort(port.id))['binding:host_id'], 'host3');
  const { stdout: routes } = await run('ip', ['-n', record.netns, '-4', 'route', 'show', 'default']);
  assert.match(routes, /default via 198\.19\.0\.1 dev eth0/);
  const { stdout: bind } = await run('ip', ['netns', 'exec', record.netns, 'sysctl', '-n', 'net.ipv4.ip_nonlocal_bind']);
  assert.equal(bind.trim(), '1');
  const vrrpAddress = vrrp.fixed_ips[0].ip_address;
  assert.ok(await waitUntil(() => ping(state.public!.netns, vrrpAddress), 15_000, 200), `public reaches the amphora's eth0 at ${vrrpAddress}`);

  await compute.deleteAmphoraVm(amphoraId);
  await compute.deleteAmphoraVm(amphoraId);
  assert.ok(!(await listNetns()).includes(record.netns));
  assert.ok(!existsSync(record.stateDir), 'its state directory is gone');
  assert.deepEqual(readLabState(dir)!.amphorae, {});
  await assert.rejects(compute.attachPort(amphoraId, member.id), /no amphora VM/);
});
