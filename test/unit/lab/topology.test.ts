import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, parseCidr, parseIp } from '../../../src/lib/ip.js';
import { publicGatewayAddress } from '../../../src/lab/addresses.js';
import { hostName, namespaceNames } from '../../../src/lab/names.js';
import { amphoraNamespaceCommands, fabricCommands, hostCommands, publicCommands, vmCommands, vmInterfaceCommands, type IpCommand } from '../../../src/lab/topology.js';

const RUN = 'a1b2c3';
const fabric = namespaceNames.fabric(RUN);

function wholeLab(): IpCommand[] {
  return [
    ...fabricCommands(fabric, ['public']),
    ...publicCommands({ fabric, netns: namespaceNames.public(RUN), physicalNetwork: 'public', address: publicGatewayAddress() }),
    ...[1, 2, 3].flatMap((i) => hostCommands({ fabric, netns: namespaceNames.host(RUN, hostName(i)), name: hostName(i), index: i, physicalNetworks: ['public'] })),
    ...vmCommands({
      netns: namespaceNames.vm(RUN, 'web'),
      hostNetns: namespaceNames.host(RUN, 'host1'),
      tap: 'tap3f2a9c1e-7b',
      config: { mac: 'fa:16:3e:00:00:01', mtu: 1450, addresses: ['198.18.1.5/24', 'fd00:18:1::5/64'], defaultRoutes: [{ ipVersion: 4, via: '198.18.1.1' }, { ipVersion: 6, via: 'fd00:18:1::1' }] },
    }),
    ...amphoraNamespaceCommands(namespaceNames.amphora(RUN, 'amp1')),
    ...vmInterfaceCommands({
      netns: namespaceNames.amphora(RUN, 'amp1'),
      hostNetns: namespaceNames.host(RUN, 'host2'),
      tap: 'tap0a1b2c3d-4e',
      dev: 'eth1',
      defaultRoutes: false,
      config: { mac: 'fa:16:3e:00:00:02', mtu: 1450, addresses: ['198.18.1.9/24'], defaultRoutes: [{ ipVersion: 4, via: '198.18.1.1' }] },
    }),
  ];
}

/** The namespace a command acts in, or undefined for the root namespace. */
function namespaceOf(command: IpCommand): string | undefined {
  if (command[0] === '-n') return command[1];
  if (command[0] === 'netns') return command[2];
  return undefined;
}

test('safety: nothing is made, addressed or routed in the root namespace', () => {
  for (const command of wholeLab()) {
    if (namespaceOf(command) !== undefined) {
      assert.ok(namespaceOf(command)!.startsWith(`cn-${RUN}-`), command.join(' '));
      continue;
    }
    // The one kind of command run from the root: a veth pair whose two ends are born in the run's namespaces.
    assert.deepEqual(command.slice(0, 3), ['link', 'add', 'name'], command.join(' '));
    const targets = command.flatMap((word, i) => (word === 'netns' ? [command[i + 1]] : []));
    assert.equal(targets.length, 2, command.join(' '));
    for (const ns of targets) assert.ok(ns.startsWith(`cn-${RUN}-`), command.join(' '));
  }
});

test('safety: every address and route is inside 198.18.0.0/15 or fd00::/8', () => {
  const safe = ['198.18.0.0/15', 'fd00::/8'].map((c) => parseCidr(c)!);
  const inSafe = (text: string) => safe.some((c) => cidrContains(c, parseIp(text.split('/')[0])!));
  for (const command of wholeLab()) {
    const addr = command.indexOf('addr');
    if (addr >= 0 && command[addr + 1] === 'add') assert.ok(inSafe(command[addr + 2]), command.join(' '));
    const via = command.indexOf('via');
    if (via >= 0) assert.ok(inSafe(command[via + 1]), command.join(' '));
  }
});

test('a host: underlay into br-underlay with its tunnel IP, provider link into br-public without an address', () => {
  const host = namespaceNames.host(RUN, 'host2');
  assert.deepEqual(hostCommands({ fabric, netns: host, name: 'host2', index: 2, physicalNetworks: ['public'] }), [
    ['netns', 'add', host],
    ['-n', host, 'link', 'set', 'lo', 'up'],
    ['link', 'add', 'name', 'u-host2', 'netns', fabric, 'type', 'veth', 'peer', 'name', 'underlay', 'netns', host],
    ['-n', fabric, 'link', 'set', 'u-host2', 'master', 'br-underlay', 'up'],
    ['netns', 'exec', host, 'sysctl', '-qw', 'net.ipv6.conf.underlay.disable_ipv6=1'],
    ['-n', host, 'addr', 'add', '198.18.0.12/24', 'dev', 'underlay'],
    ['-n', host, 'link', 'set', 'underlay', 'up'],
    ['link', 'add', 'name', 'p-host2', 'netns', fabric, 'type', 'veth', 'peer', 'name', 'phy-public', 'netns', host],
    ['-n', fabric, 'link', 'set', 'p-host2', 'master', 'br-public', 'up'],
    ['netns', 'exec', host, 'sysctl', '-qw', 'net.ipv6.conf.phy-public.disable_ipv6=1'],
    ['-n', host, 'link', 'set', 'phy-public', 'up'],
  ]);
});

test('a VM: cloud-init by hand, then the tap up in its host', () => {
  const vm = namespaceNames.vm(RUN, 'db');
  const host = namespaceNames.host(RUN, 'host1');
  const config = { mac: 'fa:16:3e:aa:bb:cc', mtu: 1450, addresses: ['198.18.1.7/24', 'fd00:18:1::7/64'], defaultRoutes: [{ ipVersion: 4 as const, via: '198.18.1.1' }] };
  assert.deepEqual(vmCommands({ netns: vm, hostNetns: host, tap: 'tapabc', config }), [
    ['netns', 'add', vm],
    ['-n', vm, 'link', 'set', 'lo', 'up'],
    ['link', 'add', 'name', 'tapabc', 'netns', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm],
    ['-n', vm, 'link', 'set', 'eth0', 'address', 'fa:16:3e:aa:bb:cc', 'mtu', '1450'],
    ['-n', vm, 'addr', 'add', '198.18.1.7/24', 'dev', 'eth0'],
    ['-n', vm, 'addr', 'add', 'fd00:18:1::7/64', 'dev', 'eth0', 'nodad'],
    ['-n', vm, 'link', 'set', 'eth0', 'up'],
    ['-n', vm, '-4', 'route', 'add', 'default', 'via', '198.18.1.1', 'dev', 'eth0'],
    ['-n', host, 'link', 'set', 'tapabc', 'mtu', '1450', 'up'],
  ]);
});

test("an amphora: it may bind the VIP it does not hold; a second interface adds no default route", () => {
  const amp = namespaceNames.amphora(RUN, 'amp1');
  const host = namespaceNames.host(RUN, 'host2');
  assert.deepEqual(amphoraNamespaceCommands(amp), [
    ['netns', 'add', amp],
    ['-n', amp, 'link', 'set', 'lo', 'up'],
    ['netns', 'exec', amp, 'sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1'],
    ['netns', 'exec', amp, 'sysctl', '-qw', 'net.ipv6.ip_nonlocal_bind=1'],
  ]);
  const config = { mac: 'fa:16:3e:aa:bb:01', mtu: 1450, addresses: ['198.18.1.9/24'], defaultRoutes: [{ ipVersion: 4 as const, via: '198.18.1.1' }] };
  assert.deepEqual(vmInterfaceCommands({ netns: amp, hostNetns: host, tap: 'tapdef', dev: 'eth1', config, defaultRoutes: false }), [
    ['link', 'add', 'name', 'tapdef', 'netns', host, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', amp],
    ['-n', amp, 'link', 'set', 'eth1', 'address', 'fa:16:3e:aa:bb:01', 'mtu', '1450'],
    ['-n', amp, 'addr', 'add', '198.18.1.9/24', 'dev', 'eth1'],
    ['-n', amp, 'link', 'set', 'eth1', 'up'],
    ['-n', host, 'link', 'set', 'tapdef', 'mtu', '1450', 'up'],
  ]);
});
