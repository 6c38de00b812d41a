import { ApiError } from '../../lib/errors.js';
import { formatCidr, formatIp, parseCidr, parseIp } from '../../lib/ip.js';
import type { Convert } from './validators.js';

// Neutron's security group rule semantics (neutron/extensions/securitygroup.py and
// neutron/db/securitygroups_db.py): the converters of the attribute map, the checks and canonical forms
// applied before a rule is stored, and the key that decides whether two rules are the same rule.

/** IP protocol names a rule may use, with their numbers, in Neutron's order (its messages list them so). */
export const PROTOCOL_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['ah', 51],
  ['dccp', 33],
  ['egp', 8],
  ['esp', 50],
  ['gre', 47],
  ['hopopt', 0],
  ['icmp', 1],
  ['igmp', 2],
  ['ip', 0],
  ['ipip', 4],
  ['ipv6-encap', 41],
  ['ipv6-frag', 44],
  ['ipv6-icmp', 58],
  // The legacy name, still accepted for backward compatibility of the API.
  ['icmpv6', 58],
  ['ipv6-nonxt', 59],
  ['ipv6-opts', 60],
  ['ipv6-route', 43],
  ['ospf', 89],
  ['pgm', 113],
  ['rsvp', 46],
  ['sctp', 132],
  ['tcp', 6],
  ['udp', 17],
  ['udplite', 136],
  ['vrrp', 112],
]);

const ICMP = 1;
const IPV6_ICMP = 58;
/** Protocols whose rules may carry a port range (numbers; names resolve to these). */
const PORT_PROTOCOLS = new Set([33, 132, 6, 17, 136]);
const PORT_PROTOCOL_NAMES = 'DCCP, SCTP, TCP, UDP, UDPLITE';
/** Protocols that only exist over IPv6, by name and number, so a rule of ethertype IPv4 cannot use them. */
const IPV6_ONLY_PROTOCOLS = new Set(['ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', '41', '44', '58', '59', '60', '43']);
export const ETHERTYPES = ['IPv4', 'IPv6'] as const;
export type Ethertype = (typeof ETHERTYPES)[number];

const invalid = (type: string, message: string) => new ApiError(400, type, message);
const conflict = (type: string, message: string) => new ApiError(409, type, message);

/** Python's rendering of a value inside Neutron's messages (`None` for null). */
const py = (v: unknown) => (v === null || v === undefined ? 'None' : typeof v === 'string' ? v : JSON.stringify(v));

const PROTOCOL_LIST = `[None, ${[...PROTOCOL_NUMBERS.keys()].map((p) => `'${p}'`).join(', ')}]`;

/**
 * A protocol as a name (lower-cased) or a number 0-255 (as decimal text, the way Neutron stores it so that
 * names and numbers share one text column), or null for any protocol.
 */
export const convertProtocol: Convert = (v) => {
  if (v === null) return null;
  const refuse = () =>
    invalid(
      'SecurityGroupRuleInvalidProtocol',
      `Security group rule protocol ${py(v)} not supported. Only protocol values ${PROTOCOL_LIST} and integer representations [0 to 255] are supported.`,
    );
  const number = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : undefined;
  if (number !== undefined) {
    if (!Number.isInteger(number) || number < 0 || number > 255) throw refuse();
    return String(number);
  }
  if (typeof v === 'string' && PROTOCOL_NUMBERS.has(v.toLowerCase())) return v.toLowerCase();
  throw refuse();
};

/** `IPv4`/`IPv6`, in any letter case. */
export const convertEthertype: Convert = (v) => {
  const match = typeof v === 'string' ? ETHERTYPES.find((e) => e.toLowerCase() === v.toLowerCase()) : undefined;
  if (!match) {
    throw invalid(
      'SecurityGroupRuleInvalidEtherType',
      `Security group rule for ethertype '${py(v)}' not supported. Allowed values are ['IPv4', 'IPv6'].`,
    );
  }
  return match;
};

/** A port (or ICMP type/code) 0-65535, as an integer or its decimal text; null for none. */
export const convertPort: Convert = (v) => {
  if (v === null) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw invalid('SecurityGroupInvalidPortValue', `Invalid value for port ${py(v)}`);
  return n;
};

/**
 * An address or prefix, kept as given but in canonical text and always with its length
 * ("10.0.0.5" -> "10.0.0.5/32"): Neutron keeps the host bits and reports the network as `normalized_cidr`.
 * Empty means none.
 */
export const convertRemoteIpPrefix: Convert = (v) => {
  if (v === null || v === '') return null;
  const text = typeof v === 'string' ? v : '';
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  const cidr = parseCidr(text);
  if (!ip || !cidr) throw invalid('InvalidCIDR', `Invalid CIDR ${py(v)} given as IP prefix.`);
  return `${formatIp(ip)}/${cidr.prefixLength}`;
};

/** The network a remote prefix stands for ("10.0.0.5/24" -> "10.0.0.0/24"). */
export function normalizedCidr(prefix: string | null): string | null {
  if (prefix === null) return null;
  const cidr = parseCidr(prefix);
  return cidr ? formatCidr(cidr) : null;
}

/** The attributes of a rule that decide what it matches. */
export interface RuleMatch {
  direction: string;
  ethertype: Ethertype;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  remote_address_group_id: string | null;
}

/** The IP protocol number of a rule's protocol (a name or a number as text). */
export function protocolNumber(protocol: string): number {
  return PROTOCOL_NUMBERS.get(protocol) ?? Number(protocol);
}

/**
 * Checks a converted rule as Neutron does before storing it and returns its canonical form: legacy IPv6
 * ICMP names and numbers become `ipv6-icmp`/58, the full port range 1-65535 becomes no range, ports are
 * only for port protocols (ICMP: type and code 0-255), a prefix matches the ethertype, IPv6-only
 * protocols need IPv6, and at most one remote is named.
 */
export function canonicalRule<T extends RuleMatch>(rule: T): T {
  const out = { ...rule };
  if (out.ethertype === 'IPv6') {
    if (out.protocol === 'icmp' || out.protocol === 'icmpv6') out.protocol = 'ipv6-icmp';
    else if (out.protocol === String(ICMP)) out.protocol = String(IPV6_ICMP);
  }
  if (out.port_range_min === 1 && out.port_range_max === 65535) {
    out.port_range_min = null;
    out.port_range_max = null;
  }
  checkPortRange(out);
  if (out.remote_ip_prefix !== null) {
    const version = parseCidr(out.remote_ip_prefix)?.version;
    if (out.ethertype !== `IPv${version}`) {
      throw invalid('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${out.ethertype} for CIDR ${out.remote_ip_prefix}`);
    }
  }
  if (out.ethertype === 'IPv4' && out.protocol !== null && IPV6_ONLY_PROTOCOLS.has(out.protocol)) {
    throw invalid('SecurityGroupEthertypeConflictWithProtocol', `Invalid ethertype ${out.ethertype} for protocol ${out.protocol}.`);
  }
  const remotes = [out.remote_ip_prefix, out.remote_group_id, out.remote_address_group_id].filter((r) => r !== null && r !== '');
  if (remotes.length > 1) {
    throw invalid('SecurityGroupMultipleRemoteEntites', 'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.');
  }
  return out;
}

function checkPortRange(rule: RuleMatch): void {
  const { port_range_min: min, port_range_max: max } = rule;
  if (min === null && max === null) return;
  if (rule.protocol === null) throw invalid('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
  const number = protocolNumber(rule.protocol);
  if (PORT_PROTOCOLS.has(number)) {
    if (min === 0 || max === 0) throw invalid('SecurityGroupInvalidPortValue', 'Invalid value for port 0');
    if (min === null || max === null || min > max) {
      throw invalid('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
    }
  } else if (number === ICMP || number === IPV6_ICMP) {
    // For ICMP the "ports" are the message type and code.
    for (const [attr, field, value] of [['port_range_min', 'type', min], ['port_range_max', 'code', max]] as const) {
      if (value !== null && (value < 0 || value > 255)) {
        throw invalid('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${value}. It must be 0 to 255.`);
      }
    }
    if (min === null && max !== null) {
      throw invalid('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
    }
  } else {
    throw invalid(
      'SecurityGroupInvalidProtocolForPort',
      `Ports cannot be specified for protocol ${number}. Ports are only supported for ${PORT_PROTOCOL_NAMES}.`,
    );
  }
}

/**
 * What makes two rules of a group the same rule: everything they match, with a protocol's name and number
 * equal and "any address" (0.0.0.0/0, ::/0) equal to no prefix. The description does not count.
 */
export function ruleKey(rule: RuleMatch & { security_group_id: string }): string {
  const anyAddress = rule.remote_ip_prefix === null || rule.remote_ip_prefix === '0.0.0.0/0' || rule.remote_ip_prefix === '::/0';
  return JSON.stringify([
    rule.security_group_id,
    rule.direction,
    rule.ethertype,
    rule.protocol === null ? null : protocolNumber(rule.protocol),
    rule.port_range_min,
    rule.port_range_max,
    anyAddress ? null : rule.remote_ip_prefix,
    rule.remote_group_id,
    rule.remote_address_group_id,
  ]);
}

/** Several rules created in one request: all of one group and one project, none twice (Neutron's bulk rules). */
export function checkRuleBatch(rules: (RuleMatch & { security_group_id: string; project_id: string })[]): void {
  if (new Set(rules.map((r) => r.security_group_id)).size > 1) {
    throw invalid('SecurityGroupNotSingleGroupRules', 'Only allowed to update rules for one security profile at a time');
  }
  if (new Set(rules.map((r) => r.project_id)).size > 1) {
    throw invalid('SecurityGroupRulesNotSingleTenant', 'Multiple tenant_ids in bulk security group rule create not allowed');
  }
  const keys = new Set<string>();
  for (const rule of rules) {
    const key = ruleKey(rule);
    if (keys.has(key)) throw conflict('DuplicateSecurityGroupRuleInPost', 'Duplicate Security Group Rule in POST.');
    keys.add(key);
  }
}
