import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllowedAddressOption, parseFixedIpOption, vmPortBody, type ResolvedPortContext } from '../../../src/lab/vm-port.js';

test('--fixed-ip: subnet and/or address, as the openstack CLI spells it', () => {
  const cases: [string, ReturnType<typeof parseFixedIpOption> | RegExp][] = [
    ['subnet=demo-v4,ip-address=198.18.1.50', { subnet: 'demo-v4', ipAddress: '198.18.1.50' }],
    ['ip-address=FD00:18:1::50', { ipAddress: 'fd00:18:1::50' }],
    ['subnet=8c0f2a9e-1111-4c6b-9c7d-0123456789ab', { subnet: '8c0f2a9e-1111-4c6b-9c7d-0123456789ab' }],
    ['ip-address=198.18.1.500', /198.18.1.500/],
    ['subnet=', /subnet=/],
    ['mac=fa:16:3e:00:00:01', /mac=/],
    ['', /expected subnet/],
  ];
  for (const [text, expected] of cases) {
    if (expected instanceof RegExp) assert.throws(() => parseFixedIpOption(text), expected, text);
    else assert.deepEqual(parseFixedIpOption(text), expected, text);
  }
});

test('--allowed-address: an address or CIDR, optionally with its MAC', () => {
  const cases: [string, ReturnType<typeof parseAllowedAddressOption> | RegExp][] = [
    ['198.18.1.100', { ipAddress: '198.18.1.100' }],
    ['198.18.64.0/18,mac=FA:16:3E:00:00:AA', { ipAddress: '198.18.64.0/18', macAddress: 'fa:16:3e:00:00:aa' }],
    ['fd00:18:1::/64', { ipAddress: 'fd00:18:1::/64' }],
    ['198.18.1.100,mac=nope', /mac=nope/],
    ['198.18.1.100,mac=fa:16:3e:00:00:01,mac=fa:16:3e:00:00:02', /mac=fa:16:3e:00:00:02/],
    ['web', /'web' is not an address/],
  ];
  for (const [text, expected] of cases) {
    if (expected instanceof RegExp) assert.throws(() => parseAllowedAddressOption(text), expected, text);
    else assert.deepEqual(parseAllowedAddressOption(text), expected, text);
  }
});

test('the port body: subnets by name or id, pairs, groups, port security off', () => {
  const ctx: ResolvedPortContext = {
    network: { id: 'net-1', name: 'demo-net', project_id: 'p1' },
    subnets: [{ id: 'sub-4', name: 'demo-v4' }, { id: 'sub-6', name: 'demo-v6' }],
    securityGroupIds: [],
  };
  const base = { network_id: 'net-1', project_id: 'p1', name: 'web', device_owner: 'compute:lab', device_id: 'web', 'binding:host_id': 'host2' };
  assert.deepEqual(vmPortBody('web', 'host2', { network: 'demo-net' }, ctx), base);
  assert.deepEqual(
    vmPortBody(
      'web',
      'host2',
      {
        network: 'demo-net',
        fixedIps: [{ subnet: 'demo-v4', ipAddress: '198.18.1.50' }, { subnet: 'sub-6' }, { ipAddress: '198.18.1.51' }],
        allowedAddresses: [{ ipAddress: '198.18.1.100' }, { ipAddress: '198.18.64.0/18', macAddress: 'fa:16:3e:00:00:aa' }],
      },
      { ...ctx, securityGroupIds: ['sg-1'] },
    ),
    {
      ...base,
      fixed_ips: [{ subnet_id: 'sub-4', ip_address: '198.18.1.50' }, { subnet_id: 'sub-6' }, { ip_address: '198.18.1.51' }],
      allowed_address_pairs: [{ ip_address: '198.18.1.100' }, { ip_address: '198.18.64.0/18', mac_address: 'fa:16:3e:00:00:aa' }],
      security_groups: ['sg-1'],
    },
  );
  assert.deepEqual(vmPortBody('web', 'host2', { network: 'demo-net', portSecurity: false }, ctx), { ...base, port_security_enabled: false });
  assert.throws(() => vmPortBody('web', 'host2', { network: 'demo-net', fixedIps: [{ subnet: 'other' }] }, ctx), /no subnet 'other' on network demo-net \(subnets: demo-v4, demo-v6\)/);
});
