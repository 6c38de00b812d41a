import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../../src/lib/errors.js';
import {
  canonicalRule,
  checkRuleBatch,
  convertEthertype,
  convertPort,
  convertProtocol,
  convertRemoteIpPrefix,
  normalizedCidr,
  ruleKey,
  type RuleMatch,
} from '../../../../src/server/network/security-group-rule-rules.js';

/** Asserts that `fn` throws Neutron's error: status, type and (part of) the message. */
function throwsNeutron(fn: () => unknown, status: number, type: string, message?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.equal(err.type, type);
    if (message !== undefined) assert.ok(err.message.includes(message), `'${err.message}' should include '${message}'`);
    return true;
  });
}

const rule = (overrides: Partial<RuleMatch>): RuleMatch => ({
  direction: 'ingress',
  ethertype: 'IPv4',
  protocol: null,
  port_range_min: null,
  port_range_max: null,
  remote_ip_prefix: null,
  remote_group_id: null,
  remote_address_group_id: null,
  ...overrides,
});

describe('security group rule converters', () => {
  test('protocol: names lower-cased, numbers 0-255 as text, null for any', () => {
    const table: [unknown, unknown][] = [
      [null, null],
      ['TCP', 'tcp'],
      ['udp', 'udp'],
      ['icmpv6', 'icmpv6'],
      ['ipv6-icmp', 'ipv6-icmp'],
      ['vrrp', 'vrrp'],
      [17, '17'],
      ['17', '17'],
      [0, '0'],
      [255, '255'],
    ];
    for (const [input, expected] of table) assert.equal(convertProtocol(input), expected, `protocol ${String(input)}`);
  });

  test('protocol: anything else is SecurityGroupRuleInvalidProtocol with the list Neutron prints', () => {
    // Neutron's API has no 'any': the openstack CLI turns `--protocol any` into null before sending.
    for (const bad of ['bad_protocol_name', 'any', 256, -1, '300', true, 1.5, {}]) {
      throwsNeutron(() => convertProtocol(bad), 400, 'SecurityGroupRuleInvalidProtocol');
    }
    throwsNeutron(
      () => convertProtocol('foo'),
      400,
      'SecurityGroupRuleInvalidProtocol',
      "Security group rule protocol foo not supported. Only protocol values [None, 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp'] and integer representations [0 to 255] are supported.",
    );
  });

  test('ethertype: IPv4 or IPv6 in any letter case', () => {
    assert.equal(convertEthertype('ipv4'), 'IPv4');
    assert.equal(convertEthertype('IPV6'), 'IPv6');
    throwsNeutron(
      () => convertEthertype('bad_ethertype'),
      400,
      'SecurityGroupRuleInvalidEtherType',
      "Security group rule for ethertype 'bad_ethertype' not supported. Allowed values are ['IPv4', 'IPv6'].",
    );
    throwsNeutron(() => convertEthertype(null), 400, 'SecurityGroupRuleInvalidEtherType', "ethertype 'None'");
  });

  test('ports: 0-65535 as integers or their text', () => {
    assert.equal(convertPort(null), null);
    assert.equal(convertPort(80), 80);
    assert.equal(convertPort('443'), 443);
    assert.equal(convertPort(0), 0);
    assert.equal(convertPort(65535), 65535);
    for (const [bad, message] of [
      [-16, 'Invalid value for port -16'],
      [65536, 'Invalid value for port 65536'],
      ['abc', 'Invalid value for port abc'],
      [1.5, 'Invalid value for port 1.5'],
    ] as const) {
      throwsNeutron(() => convertPort(bad), 400, 'SecurityGroupInvalidPortValue', message);
    }
  });

  test('remote_ip_prefix: canonical text with a length, host bits kept; normalized_cidr is the network', () => {
    const table: [unknown, string | null, string | null][] = [
      [null, null, null],
      ['', null, null],
      ['10.0.0.0/24', '10.0.0.0/24', '10.0.0.0/24'],
      ['10.0.0.5/24', '10.0.0.5/24', '10.0.0.0/24'],
      ['10.0.0.5', '10.0.0.5/32', '10.0.0.5/32'],
      ['0.0.0.0/0', '0.0.0.0/0', '0.0.0.0/0'],
      ['2001:DB8:0::1/64', '2001:db8::1/64', '2001:db8::/64'],
      ['::/0', '::/0', '::/0'],
    ];
    for (const [input, stored, network] of table) {
      const converted = convertRemoteIpPrefix(input) as string | null;
      assert.equal(converted, stored, `prefix ${String(input)}`);
      assert.equal(normalizedCidr(converted), network, `network of ${String(input)}`);
    }
    // tempest's bad prefixes
    for (const bad of ['192.168.1./24', '192.168.1.1/33', 'bad_prefix', '256', '10.0.0.0/', 42]) {
      throwsNeutron(() => convertRemoteIpPrefix(bad), 400, 'InvalidCIDR', `Invalid CIDR ${String(bad)} given as IP prefix.`);
    }
  });
});

describe('canonicalRule', () => {
  test('accepts and canonicalises valid rules', () => {
    const table: [Partial<RuleMatch>, Partial<RuleMatch>][] = [
      [{ protocol: 'tcp', port_range_min: 22, port_range_max: 22 }, { protocol: 'tcp', port_range_min: 22, port_range_max: 22 }],
      [{ protocol: '6', port_range_min: 80, port_range_max: 90 }, { protocol: '6', port_range_min: 80, port_range_max: 90 }],
      // The whole port range is the same as no range.
      [{ protocol: 'udp', port_range_min: 1, port_range_max: 65535 }, { protocol: 'udp', port_range_min: null, port_range_max: null }],
      [{ protocol: null, port_range_min: 1, port_range_max: 65535 }, { protocol: null, port_range_min: null, port_range_max: null }],
      // ICMP type and code.
      [{ protocol: 'icmp', port_range_min: 8, port_range_max: 0 }, { protocol: 'icmp', port_range_min: 8, port_range_max: 0 }],
      [{ protocol: 'icmp', port_range_min: 11, port_range_max: null }, { protocol: 'icmp', port_range_min: 11, port_range_max: null }],
      // Legacy IPv6 ICMP names and number 1 become ipv6-icmp / 58 for IPv6.
      [{ ethertype: 'IPv6', protocol: 'icmp' }, { protocol: 'ipv6-icmp' }],
      [{ ethertype: 'IPv6', protocol: 'icmpv6', port_range_min: 128, port_range_max: 0 }, { protocol: 'ipv6-icmp', port_range_min: 128 }],
      [{ ethertype: 'IPv6', protocol: '1' }, { protocol: '58' }],
      [{ ethertype: 'IPv6', protocol: 'ipv6-frag' }, { protocol: 'ipv6-frag' }],
      [{ remote_ip_prefix: '10.0.0.0/8' }, { remote_ip_prefix: '10.0.0.0/8' }],
      [{ ethertype: 'IPv6', remote_ip_prefix: '2001:db8::/32' }, { remote_ip_prefix: '2001:db8::/32' }],
      [{ remote_group_id: 'g' }, { remote_group_id: 'g' }],
    ];
    for (const [input, expected] of table) {
      const out = canonicalRule(rule(input));
      for (const [k, v] of Object.entries(expected)) assert.equal(out[k as keyof RuleMatch], v, `${JSON.stringify(input)}: ${k}`);
    }
  });

  test('refuses what Neutron refuses, with its errors', () => {
    const table: [Partial<RuleMatch>, string, string][] = [
      // tempest's invalid TCP ports, after conversion
      [{ protocol: 'tcp', port_range_min: 80, port_range_max: 79 }, 'SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max'],
      [{ protocol: 'tcp', port_range_min: null, port_range_max: 6 }, 'SecurityGroupInvalidPortRange', 'port_range_min must be <= port_range_max'],
      [{ protocol: 'tcp', port_range_min: 22, port_range_max: null }, 'SecurityGroupInvalidPortRange', 'port_range_min must be <= port_range_max'],
      [{ protocol: 'tcp', port_range_min: 0, port_range_max: 80 }, 'SecurityGroupInvalidPortValue', 'Invalid value for port 0'],
      [{ protocol: 'sctp', port_range_min: 10, port_range_max: 0 }, 'SecurityGroupInvalidPortValue', 'Invalid value for port 0'],
      // tempest's invalid ICMP values
      [{ protocol: 'icmp', port_range_min: 1, port_range_max: 256 }, 'SecurityGroupInvalidIcmpValue', 'Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255.'],
      [{ protocol: 'icmp', port_range_min: 300, port_range_max: 1 }, 'SecurityGroupInvalidIcmpValue', 'Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.'],
      [{ protocol: 'icmp', port_range_min: null, port_range_max: 6 }, 'SecurityGroupMissingIcmpType', 'ICMP code (port-range-max) 6 is provided but ICMP type (port-range-min) is missing.'],
      [{ port_range_min: 22, port_range_max: 22 }, 'SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.'],
      [{ protocol: 'gre', port_range_min: 22, port_range_max: 22 }, 'SecurityGroupInvalidProtocolForPort', 'Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.'],
      [{ ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/24' }, 'SecurityGroupRuleParameterConflict', 'Conflicting value ethertype IPv6 for CIDR 10.0.0.0/24'],
      [{ ethertype: 'IPv4', remote_ip_prefix: '2001:db8::/64' }, 'SecurityGroupRuleParameterConflict', 'Conflicting value ethertype IPv4 for CIDR 2001:db8::/64'],
      [{ ethertype: 'IPv4', protocol: 'ipv6-icmp' }, 'SecurityGroupEthertypeConflictWithProtocol', 'Invalid ethertype IPv4 for protocol ipv6-icmp.'],
      [{ ethertype: 'IPv4', protocol: 'icmpv6' }, 'SecurityGroupEthertypeConflictWithProtocol', 'Invalid ethertype IPv4 for protocol icmpv6.'],
      [{ ethertype: 'IPv4', protocol: '58' }, 'SecurityGroupEthertypeConflictWithProtocol', 'Invalid ethertype IPv4 for protocol 58.'],
      [{ remote_ip_prefix: '10.0.0.0/24', remote_group_id: 'g' }, 'SecurityGroupMultipleRemoteEntites', 'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.'],
    ];
    for (const [input, type, message] of table) throwsNeutron(() => canonicalRule(rule(input)), 400, type, message);
  });
});

describe('ruleKey', () => {
  const key = (r: Partial<RuleMatch>) => ruleKey({ ...rule(r), security_group_id: 'g' });

  test('rules that match the same traffic are the same rule', () => {
    assert.equal(key({ protocol: 'tcp', port_range_min: 22, port_range_max: 22 }), key({ protocol: '6', port_range_min: 22, port_range_max: 22 }));
    assert.equal(key({ remote_ip_prefix: '0.0.0.0/0' }), key({}));
    assert.equal(key({ ethertype: 'IPv6', remote_ip_prefix: '::/0' }), key({ ethertype: 'IPv6' }));
  });

  test('any difference in what they match makes them different', () => {
    const base = key({ protocol: 'tcp', port_range_min: 22, port_range_max: 22 });
    for (const other of [
      { protocol: 'tcp', port_range_min: 22, port_range_max: 23 },
      { protocol: 'udp', port_range_min: 22, port_range_max: 22 },
      { protocol: 'tcp', port_range_min: 22, port_range_max: 22, direction: 'egress' },
      { protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.0.0.0/8' },
      { protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_group_id: 'other' },
    ]) {
      assert.notEqual(key(other), base, JSON.stringify(other));
    }
    assert.notEqual(ruleKey({ ...rule({}), security_group_id: 'g1' }), ruleKey({ ...rule({}), security_group_id: 'g2' }));
  });
});

describe('checkRuleBatch', () => {
  const item = (overrides: Partial<RuleMatch> & { security_group_id?: string; project_id?: string }) => ({
    security_group_id: 'g',
    project_id: 'p',
    ...rule(overrides),
    ...overrides,
  });

  test('distinct rules of one group and project pass', () => {
    checkRuleBatch([item({ protocol: 'tcp' }), item({ protocol: 'udp' })]);
  });

  test('the same rule twice is DuplicateSecurityGroupRuleInPost', () => {
    throwsNeutron(() => checkRuleBatch([item({ protocol: 'tcp' }), item({ protocol: '6' })]), 409, 'DuplicateSecurityGroupRuleInPost', 'Duplicate Security Group Rule in POST.');
  });

  test('rules of two groups or two projects are refused', () => {
    throwsNeutron(() => checkRuleBatch([item({}), item({ security_group_id: 'h', protocol: 'tcp' })]), 400, 'SecurityGroupNotSingleGroupRules');
    throwsNeutron(() => checkRuleBatch([item({}), item({ project_id: 'q', protocol: 'tcp' })]), 400, 'SecurityGroupRulesNotSingleTenant');
  });
});
