// The lab's wiring against the real kernel: the fabric, three hosts, the public namespace and a VM,
// without the control plane. Every namespace carries this run's prefix and is deleted at the end, also on failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { publicGatewayAddress } from '../../../src/lab/addresses.js';
import { hostName, namespaceNames, namespacePrefix, newRunId } from '../../../src/lab/names.js';
import { deleteNetns, listNetns } from '../../../src/lib/netns.js';
import { runIp, runIpCommands } from '../../../src/lab/netns.js';
import { fabricCommands, hostCommands, publicCommands, vmCommands } from '../../../src/lab/topology.js';

const run = promisify(execFile);
const RUN = newRunId();
const fabric = namespaceNames.fabric(RUN);
const publicNs = namespaceNames.public(RUN);
const host = (i: number) => namespaceNames.host(RUN, hostName(i));
const vm = namespaceNames.vm(RUN, 'web');
let rootLinksBefore = '';

const inNs = (ns: string, ...command: string[]) => run('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8' });
const rootLinks = async () => (await runIp(['-o', 'link', 'show'])).split('\n').map((l) => l.split(':')[1]?.trim()).sort().join(',');

before(async () => {
  rootLinksBefore = await rootLinks();
  await runIpCommands(fabricCommands(fabric, ['public']));
  await runIpCommands(publicCommands({ fabric, netns: publicNs, physicalNetwork: 'public', address: publicGatewayAddress() }));
  for (const i of [1, 2, 3]) await runIpCommands(hostCommands({ fabric, netns: host(i), name: hostName(i), index: i, physicalNetworks: ['public'] }));
  await runIpCommands(
    vmCommands({
      netns: vm,
      hostNetns: host(1),
      tap: 'tapweb',
      config: { mac: 'fa:16:3e:12:34:56', mtu: 1500, addresses: ['198.19.0.20/24', 'fd00:19::20/64'], defaultRoutes: [{ ipVersion: 4, via: '198.19.0.1' }] },
    }),
  );
});

after(async () => {
  for (const ns of await listNetns()) if (ns.startsWith(namespacePrefix(RUN))) await deleteNetns(ns);
});

test('hosts reach each other over the underlay', async () => {
  const { stdout } = await inNs(host(1), 'ping', '-c', '1', '-W', '2', '198.18.0.13');
  assert.match(stdout, /1 received/);
});

test('the VM is configured as its port says', async () => {
  const link = await runIp(['-n', vm, 'link', 'show', 'eth0']);
  assert.match(link, /mtu 1500/);
  assert.match(link, /link\/ether fa:16:3e:12:34:56/);
  const addresses = await runIp(['-n', vm, 'addr', 'show', 'eth0']);
  assert.match(addresses, /inet 198\.19\.0\.20\/24/);
  assert.match(addresses, /inet6 fd00:19::20\/64/);
  assert.match(await runIp(['-n', vm, 'route', 'show', 'default']), /default via 198\.19\.0\.1 dev eth0/);
  assert.match(await runIp(['-n', host(1), 'link', 'show', 'tapweb']), /<[^>]*\bUP\b[^>]*> mtu 1500/);
});

test('a VM bridged to its host\'s provider link (what the agent does for public) reaches the public namespace', async () => {
  // Stands in for the host agent's wiring of a flat network: one bridge holding the provider link and the tap.
  await runIpCommands([
    ['-n', host(1), 'link', 'add', 'brq-test', 'type', 'bridge'],
    ['-n', host(1), 'link', 'set', 'phy-public', 'master', 'brq-test'],
    ['-n', host(1), 'link', 'set', 'tapweb', 'master', 'brq-test'],
    ['-n', host(1), 'link', 'set', 'brq-test', 'up'],
  ]);
  const { stdout } = await inNs(publicNs, 'ping', '-c', '1', '-W', '2', '198.19.0.20');
  assert.match(stdout, /1 received/);
});

test('the root namespace gained no interface', async () => {
  assert.equal(await rootLinks(), rootLinksBefore);
});
