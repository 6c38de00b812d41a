import { createHash } from 'node:crypto';
import type { HostTargetState, LocalPort, SecurityGroupRule } from '../../feed/target-state.js';
import { parseCidr } from '../../lib/ip.js';
import { intervalElements } from './addresses.js';
import { tapName, vxlanName } from './names.js';

/**
 * The host's nftables state, as data: two tables named `cloudnet`.
 *
 * `bridge cloudnet` sees frames with their real bridge ports. It marks each packet with the port it came
 * from (low 16 bits, before br_netfilter's prerouting) and then with the port it goes to (high 16 bits,
 * after the FDB lookup, before br_netfilter's forward), and drops spoofed source MAC/IP/ARP. `inet cloudnet`
 * does the stateful part through br_netfilter, where the interface of bridged packets is the bridge, not
 * the port: it dispatches on the mark, egress of the sending port in `prerouting` and ingress of the
 * receiving port in `forward`, so that an egress `accept` never skips the receiver's ingress check. The mark
 * of a port is its tap's ifindex (stable while the tap exists).
 *
 * Nothing here is per port or per member but set and map elements: a port plugged, a pair allowed, a member
 * joining a group changes elements, never a rule. Ports with the same security groups share their chains.
 */
export type NftFamily = 'bridge' | 'inet' | 'netdev';

export interface DesiredChain {
  /** Base chains: `type … hook … priority …; policy …;`. */
  spec?: string;
  rules: string[];
}

export interface DesiredSet {
  decl: string;
  /** As `nft` lists them, unquoted: `198.18.1.0/24`, `tapx . fa:16:3e:00:00:01`. */
  elements: string[];
  /** The key (or its first component) is an interface name, quoted when written. */
  quoteFirst: boolean;
}

export interface DesiredMap {
  decl: string;
  /** Keys are interface names (quoted when written) or marks (numbers). */
  quoteKeys: boolean;
  /** Values are interface names (quoted when written). */
  quoteValues?: boolean;
  /** Key -> value as written: a verdict (`jump chain`) or a number. */
  elements: Map<string, string>;
}

export interface DesiredTable {
  family: NftFamily;
  chains: Map<string, DesiredChain>;
  sets: Map<string, DesiredSet>;
  maps: Map<string, DesiredMap>;
}

/** The comment we attach to each rule: a digest of its text, what anti-entropy compares. */
export function ruleDigest(rule: string): string {
  return `cn:${createHash('sha256').update(rule).digest('hex').slice(0, 16)}`;
}

export const MAX_PORT_MARK = 0xffff;

const sgChain = (sgId: string, direction: 'ingress' | 'egress') => `sg_${sgId}_${direction}`;
export const remoteGroupSet = (sgId: string, version: 4 | 6) => `rg_${sgId}_v${version}`;
/** The chain of every port with exactly these security groups (named by their digest, so it is stable). */
export const portsChain = (direction: 'ingress' | 'egress', groups: string[]) =>
  `${direction}_${createHash('sha256').update(groups.join(',')).digest('hex').slice(0, 16)}`;

/** Kernel facts the ruleset is keyed on, read live: they stay the same while the devices exist. */
export interface RulesetKeys {
  /** Port id -> mark (its tap's ifindex), for the plugged ports; only those get rules. */
  marks: Map<string, number>;
  /** Bridge name -> conntrack zone (the bridge's ifindex): one zone per network. */
  zones: Map<string, number>;
}

/** Ports without port security are plugged but neither marked nor filtered. */
export function renderRuleset(target: HostTargetState, keys: RulesetKeys): DesiredTable[] {
  const protectedPorts = Object.values(target.ports)
    .filter((p) => p.portSecurityEnabled && keys.marks.has(p.id))
    .sort((a, b) => a.id.localeCompare(b.id));
  return [renderBridgeTable(protectedPorts, keys.marks), renderInetTable(target, protectedPorts, keys), renderNetdevTable(target, protectedPorts, keys.marks)];
}

/**
 * Gratuitous ARP for a port's allowed-pair addresses (a VIP moving to this VM) is copied straight to the
 * network's VXLAN device, which head-end replicates it to the other tunnel endpoints. Needed because bridge
 * neighbour suppression never floods gratuitous ARP to the VXLAN port, and without it remote VMs would keep the
 * VIP's old MAC until their entry goes stale. One ingress chain on the taps of such ports, named by a digest of
 * its devices (tap and ifindex): a changed device list is a new chain, replaced in the same transaction.
 */
function renderNetdevTable(target: HostTargetState, ports: LocalPort[], marks: Map<string, number>): DesiredTable {
  const vips: string[] = [];
  const flood = new Map<string, string>();
  const devices: string[] = [];
  for (const port of ports) {
    const network = target.networks[port.networkId];
    if (network?.type !== 'vxlan' || network.vni === null) continue;
    const tap = tapName(port.id);
    const pairs = intervalElements(port.allowedAddressPairs.map((p) => p.ipAddress), 4);
    if (!pairs.length) continue;
    for (const a of pairs) vips.push(`${tap} . ${a}`);
    flood.set(tap, vxlanName(network.vni));
    devices.push(`${tap}:${marks.get(port.id)}`);
  }
  const chains = new Map<string, DesiredChain>();
  if (devices.length) {
    const name = `garp_${createHash('sha256').update(devices.join(',')).digest('hex').slice(0, 16)}`;
    chains.set(name, {
      spec: `type filter hook ingress devices = { ${devices.map((d) => `"${d.split(':')[0]}"`).join(', ')} } priority 0; policy accept;`,
      // A gratuitous ARP (and an ARP probe) asks for the sender's own address: the target is one of its VIPs.
      rules: ['ether type arp iifname . arp daddr ip @vip4 dup to iifname map @flood'],
    });
  }
  return {
    family: 'netdev',
    chains,
    sets: new Map([['vip4', { decl: 'typeof iifname . arp daddr ip; flags interval;', elements: vips, quoteFirst: true }]]),
    maps: new Map([['flood', { decl: 'type ifname : iface_index;', quoteKeys: true, quoteValues: true, elements: flood }]]),
  };
}

/**
 * An address is allowed only with the MAC it is bound to (a fixed IP with the port's MAC, an allowed pair with
 * its own `mac_address` or else the port's), so the sets of addresses are keyed by interface, MAC and address.
 * Frames of unprotected ports (the VXLAN device, the provider interface, ports without port security) leave
 * after one lookup: testing `@protected` in each rule cost every bridged frame six ifname loads and lookups,
 * about a tenth of all nftables time on the amphora -> member path (bench/loadbalancer/README.md).
 * `accept` ends only this chain, whose rules all concern protected ports.
 */
const BRIDGE_PREROUTING = [
  'meta mark set iifname map @in_marks',
  'iifname != @protected accept',
  'iifname . ether saddr != @mac_ok drop',
  'ether type arp iifname . arp saddr ether != @mac_ok drop',
  // 0.0.0.0 as ARP sender is a probe (RFC 5227 conflict detection): it claims no address.
  'ether type arp arp saddr ip != 0.0.0.0 iifname . arp saddr ether . arp saddr ip != @mac_ip4_ok drop',
  // DHCP discovery comes from 0.0.0.0 before the VM has its address.
  'ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept',
  'ether type ip iifname . ether saddr . ip saddr != @mac_ip4_ok drop',
  'ether type ip6 iifname . ether saddr . ip6 saddr != @mac_ip6_ok drop',
];

function renderBridgeTable(ports: LocalPort[], marks: Map<string, number>): DesiredTable {
  const chains = new Map<string, DesiredChain>([
    // Before br_netfilter (priority 0) hands the packet to the inet hooks, so the mark is there.
    ['prerouting', { spec: 'type filter hook prerouting priority -300; policy accept;', rules: BRIDGE_PREROUTING }],
    // The sending port's mark has served (inet prerouting ran); the receiving port's replaces it. A packet to
    // an unprotected port (the VXLAN device, another host's VM) keeps only low bits: no ingress chain.
    ['forward', { spec: 'type filter hook forward priority -200; policy accept;', rules: ['meta mark set oifname map @out_marks'] }],
  ]);
  const inMarks = new Map<string, string>();
  const outMarks = new Map<string, string>();
  const macOk: string[] = [];
  const ip4Ok: string[] = [];
  const ip6Ok: string[] = [];
  for (const port of ports) {
    const tap = tapName(port.id);
    const mark = marks.get(port.id)!;
    inMarks.set(tap, String(mark));
    outMarks.set(tap, String((mark << 16) >>> 0));
    const allowed = allowedSources(port);
    for (const m of allowed.macs) macOk.push(`${tap} . ${m}`);
    for (const a of allowed.v4) ip4Ok.push(`${tap} . ${a}`);
    for (const a of allowed.v6) ip6Ok.push(`${tap} . ${a}`);
  }
  const set = (decl: string, elements: string[]): DesiredSet => ({ decl, elements, quoteFirst: true });
  return {
    family: 'bridge',
    chains,
    sets: new Map([
      ['protected', set('type ifname;', ports.map((p) => tapName(p.id)))],
      ['mac_ok', set('typeof iifname . ether saddr;', macOk)],
      ['mac_ip4_ok', set('typeof iifname . ether saddr . ip saddr; flags interval;', ip4Ok)],
      ['mac_ip6_ok', set('typeof iifname . ether saddr . ip6 saddr; flags interval;', ip6Ok)],
    ]),
    maps: new Map([
      ['in_marks', { decl: 'typeof iifname : meta mark;', quoteKeys: true, elements: inMarks }],
      ['out_marks', { decl: 'typeof oifname : meta mark;', quoteKeys: true, elements: outMarks }],
    ]),
  };
}

/**
 * What a port may send from: its MAC with its fixed IPs, and each allowed address pair (CIDRs included) with the
 * pair's MAC, the port's when the pair names none (Neutron). Addresses come as `MAC . address`.
 */
export function allowedSources(port: LocalPort): { macs: string[]; v4: string[]; v6: string[] } {
  const byMac = new Map<string, string[]>([[port.mac.toLowerCase(), []]]);
  const allow = (mac: string, address: string) => {
    const key = mac.toLowerCase();
    let list = byMac.get(key);
    if (!list) byMac.set(key, (list = []));
    list.push(address);
  };
  for (const f of port.fixedIps) allow(port.mac, f.ipAddress);
  for (const p of port.allowedAddressPairs) allow(p.macAddress || port.mac, p.ipAddress);
  const macs = [...byMac.keys()].sort();
  const bound = (version: 4 | 6, extra: string[]) => macs.flatMap((mac) => intervalElements([...byMac.get(mac)!, ...extra], version).map((a) => `${mac} . ${a}`));
  return {
    macs,
    v4: bound(4, []),
    // Link-local is how IPv6 neighbours find each other before any address is assigned; `::` is DAD.
    v6: bound(6, ['fe80::/64', '::']),
  };
}

/** ICMPv6 that IPv6 cannot work without; Neutron lets it through whatever the security groups say. */
const EGRESS_ICMPV6 = 'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } accept';
const INGRESS_ICMPV6 = 'icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept';

function renderInetTable(target: HostTargetState, ports: LocalPort[], { marks, zones }: RulesetKeys): DesiredTable {
  const sets = new Map<string, DesiredSet>();
  const chains = new Map<string, DesiredChain>([
    // Before conntrack (-200): a zone per network, since two networks may hold the same addresses. Bridged
    // packets show the bridge as their input interface here, which is exactly the network.
    // A port whose groups are all stateless is not tracked, what it sends nor what is sent to it (Neutron: such a
    // port's rules see every packet, so return traffic needs rules of its own). `notrack` must come before the
    // zone: a packet that already has a conntrack template is not untracked.
    [
      'zone',
      {
        spec: 'type filter hook prerouting priority -300; policy accept;',
        rules: ['meta mark & 0x0000ffff @stateless_marks notrack accept', 'ether daddr @stateless_macs notrack accept', 'ct zone set iifname map @zones'],
      },
    ],
    // After conntrack: egress of the sending port; `accept` here ends only this hook.
    ['prerouting', { spec: 'type filter hook prerouting priority 0; policy accept;', rules: ['meta mark & 0x0000ffff vmap @egress_ports'] }],
    ['forward', { spec: 'type filter hook forward priority 0; policy accept;', rules: ['meta mark & 0xffff0000 vmap @ingress_ports'] }],
  ]);
  const egress = new Map<string, string>();
  const ingress = new Map<string, string>();
  const statelessMarks: string[] = [];
  const statelessMacs = new Set<string>();
  for (const port of ports) {
    const mark = marks.get(port.id)!;
    const groups = [...new Set(port.securityGroupIds.filter((id) => target.securityGroups[id]))].sort();
    // Neutron refuses a port mixing stateful and stateless groups; a port with no group is stateful.
    const stateless = groups.length > 0 && groups.every((g) => !target.securityGroups[g]!.stateful);
    const out = portsChain('egress', groups);
    const into = portsChain('ingress', groups);
    if (!chains.has(out)) {
      const jumps = (direction: 'ingress' | 'egress') => groups.map((g) => `jump ${sgChain(g, direction)}`);
      if (stateless) {
        // DHCP replies come back without a connection to belong to.
        chains.set(out, { rules: [EGRESS_ICMPV6, 'udp sport 68 udp dport 67 accept', ...jumps('egress'), 'drop'] });
        chains.set(into, { rules: [INGRESS_ICMPV6, 'udp sport 67 udp dport 68 accept', ...jumps('ingress'), 'drop'] });
      } else {
        chains.set(out, {
          rules: ['ct state established,related accept', EGRESS_ICMPV6, 'udp sport 68 udp dport 67 accept', 'ct state invalid drop', ...jumps('egress'), 'drop'],
        });
        chains.set(into, { rules: ['ct state established,related accept', INGRESS_ICMPV6, 'ct state invalid drop', ...jumps('ingress'), 'drop'] });
      }
    }
    if (stateless) {
      statelessMarks.push(String(mark));
      for (const mac of allowedSources(port).macs) statelessMacs.add(mac);
    }
    egress.set(String(mark), `jump ${out}`);
    ingress.set(String((mark << 16) >>> 0), `jump ${into}`);
  }
  sets.set('stateless_marks', { decl: 'type mark;', elements: statelessMarks, quoteFirst: false });
  sets.set('stateless_macs', { decl: 'type ether_addr;', elements: [...statelessMacs].sort(), quoteFirst: false });

  const remoteGroups = new Set<string>();
  for (const sg of Object.values(target.securityGroups).sort((a, b) => a.id.localeCompare(b.id))) {
    for (const direction of ['ingress', 'egress'] as const) {
      const rules = sg.rules.filter((r) => r.direction === direction).map(renderSecurityGroupRule);
      chains.set(sgChain(sg.id, direction), { rules: rules.filter((r): r is string => r !== null) });
    }
    for (const r of sg.rules) if (r.remoteGroupId) remoteGroups.add(r.remoteGroupId);
  }
  for (const g of [...remoteGroups].sort()) {
    const members = target.addressSets[g]?.addresses ?? [];
    sets.set(remoteGroupSet(g, 4), { decl: 'type ipv4_addr; flags interval;', elements: intervalElements(members, 4), quoteFirst: false });
    sets.set(remoteGroupSet(g, 6), { decl: 'type ipv6_addr; flags interval;', elements: intervalElements(members, 6), quoteFirst: false });
  }
  return {
    family: 'inet',
    chains,
    sets,
    maps: new Map([
      ['zones', { decl: 'typeof iifname : ct zone;', quoteKeys: true, elements: new Map([...zones].sort().map(([bridge, zone]) => [bridge, String(zone)])) }],
      ['egress_ports', { decl: 'type mark : verdict;', quoteKeys: false, elements: egress }],
      ['ingress_ports', { decl: 'type mark : verdict;', quoteKeys: false, elements: ingress }],
    ]),
  };
}

const PROTOCOL_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132, dccp: 33, udplite: 136 };
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);

/**
 * One security group rule as an nft rule that accepts what it allows (Neutron semantics: rules only ever
 * allow). Returns null for a rule this data plane cannot express (an unknown protocol name).
 */
export function renderSecurityGroupRule(rule: SecurityGroupRule): string | null {
  const v6 = rule.ethertype === 'IPv6';
  const parts = [`meta nfproto ${v6 ? 'ipv6' : 'ipv4'}`];
  const field = `${v6 ? 'ip6' : 'ip'} ${rule.direction === 'ingress' ? 'saddr' : 'daddr'}`;
  if (rule.remoteIpPrefix) {
    const c = parseCidr(rule.remoteIpPrefix);
    if (!c || c.version !== (v6 ? 6 : 4)) return null;
    if (c.prefixLength > 0) parts.push(`${field} ${intervalElements([rule.remoteIpPrefix], c.version)[0]}`);
  }
  if (rule.remoteGroupId) parts.push(`${field} @${remoteGroupSet(rule.remoteGroupId, v6 ? 6 : 4)}`);
  if (rule.protocol !== null && rule.protocol !== 'any') {
    let proto = /^\d+$/.test(rule.protocol) ? Number(rule.protocol) : PROTOCOL_NUMBERS[rule.protocol.toLowerCase()];
    if (proto === undefined) return null;
    if (v6 && proto === 1) proto = 58; // Neutron accepts "icmp" with IPv6 and means ICMPv6
    if (proto === 1 || proto === 58) {
      const name = proto === 1 ? 'icmp' : 'icmpv6';
      parts.push(`meta l4proto ${proto === 1 ? 'icmp' : 'ipv6-icmp'}`);
      // Neutron: port_range_min is the ICMP type, port_range_max the code.
      if (rule.portRangeMin !== null) parts.push(`${name} type ${rule.portRangeMin}`);
      if (rule.portRangeMin !== null && rule.portRangeMax !== null) parts.push(`${name} code ${rule.portRangeMax}`);
    } else {
      parts.push(`meta l4proto ${proto}`);
      if (PORT_PROTOCOLS.has(proto) && (rule.portRangeMin !== null || rule.portRangeMax !== null)) {
        const lo = rule.portRangeMin ?? 1;
        const hi = rule.portRangeMax ?? 65535;
        parts.push(`th dport ${lo === hi ? lo : `${lo}-${hi}`}`);
      }
    }
  }
  parts.push('accept');
  return parts.join(' ');
}
