import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_NETWORK, PUBLIC_NETWORK, publicGatewayAddress, tunnelIp, vmInterfaceConfig, type SubnetView } from '../../../src/lab/addresses.js';
import { cidrContains, cidrsOverlap, parseCidr, parseIp } from '../../../src/lib/ip.js';

const SAFE = ['198.18.0.0/15', 'fd00::/8'].map((c) => parseCidr(c)!);
const inSafeSpace = (address: string) => SAFE.some((c) => cidrContains(c, parseIp(address.split('/')[0])!));

test('tunnel IPs: 198.18.0.(10+i)', () => {
  assert.equal(tunnelIp(1), '198.18.0.11');
  assert.equal(tunnelIp(200), '198.18.0.210');
  assert.throws(() => tunnelIp(0));
});

test('every planned address is inside 198.18.0.0/15 or fd00::/8, and the planned subnets do not overlap', () => {
  const subnets = [...PUBLIC_NETWORK.subnets, ...DEMO_NETWORK.subnets];
  for (const s of subnets) {
    assert.ok(inSafeSpace(s.cidr), s.cidr);
    assert.ok(inSafeSpace(s.gatewayIp), s.gatewayIp);
  }
  const cidrs = [...subnets.map((s) => s.cidr), '198.18.0.0/24'].map((c) => parseCidr(c)!);
  for (let i = 0; i < cidrs.length; i++) for (let j = i + 1; j < cidrs.length; j++) assert.equal(cidrsOverlap(cidrs[i], cidrs[j]), false);
  assert.ok(inSafeSpace(tunnelIp(200)));
  assert.equal(publicGatewayAddress(), '198.19.0.1/24');
});

const v4: SubnetView = { id: 's4', cidr: '198.18.1.0/24', ip_version: 4, gateway_ip: '198.18.1.1' };
const v6: SubnetView = { id: 's6', cidr: 'fd00:18:1::/64', ip_version: 6, gateway_ip: 'fd00:18:1::1' };
const noGateway: SubnetView = { id: 'sn', cidr: '198.18.2.0/23', ip_version: 4, gateway_ip: null };

test('a VM interface: addresses with their subnet prefix, IPv4 first, a default route per family with a gateway', () => {
  const cases: { name: string; fixed: [string, string][]; subnets: SubnetView[]; addresses: string[]; routes: { ipVersion: 4 | 6; via: string }[] }[] = [
    { name: 'dual stack', fixed: [['s6', 'FD00:18:1::0:5'], ['s4', '198.18.1.5']], subnets: [v4, v6], addresses: ['198.18.1.5/24', 'fd00:18:1::5/64'], routes: [{ ipVersion: 4, via: '198.18.1.1' }, { ipVersion: 6, via: 'fd00:18:1::1' }] },
    { name: 'no gateway', fixed: [['sn', '198.18.3.7']], subnets: [noGateway], addresses: ['198.18.3.7/23'], routes: [] },
    { name: 'first gateway wins', fixed: [['sn', '198.18.2.9'], ['s4', '198.18.1.9']], subnets: [noGateway, v4], addresses: ['198.18.2.9/23', '198.18.1.9/24'], routes: [{ ipVersion: 4, via: '198.18.1.1' }] },
    { name: 'no addresses', fixed: [], subnets: [v4], addresses: [], routes: [] },
  ];
  for (const c of cases) {
    const port = { id: 'p', mac_address: 'fa:16:3e:00:00:01', fixed_ips: c.fixed.map(([subnet_id, ip_address]) => ({ subnet_id, ip_address })) };
    const config = vmInterfaceConfig(port, c.subnets, 1450);
    assert.deepEqual(config, { mac: 'fa:16:3e:00:00:01', mtu: 1450, addresses: c.addresses, defaultRoutes: c.routes }, c.name);
  }
});

test('a fixed IP on an unknown subnet is an error', () => {
  assert.throws(() => vmInterfaceConfig({ id: 'p', mac_address: 'fa:16:3e:00:00:01', fixed_ips: [{ subnet_id: 'x', ip_address: '198.18.1.2' }] }, [v4], 1450), /subnet x/);
});
