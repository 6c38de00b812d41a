import { AmphoraConfigError, cidr, integerIn, ipAddress, port, token } from './config-tokens.js';
import type { Listener, LoadBalancer, Member, Pool } from './types.js';

/**
 * The nftables ruleset that serves a balancer's UDP listeners inside its amphora, a pure function of the tree
 * and of which members the agent's own health checks found down.
 *
 * Octavia serves UDP with LVS (keepalived `virtual_server` blocks, IPVS in the kernel); cloudnet's amphorae run
 * on kernels without IPVS, so UDP is NAT in nftables instead, which does the same work: the first datagram of
 * a flow (conntrack's view of a UDP 5-tuple) is DNATed from VIP:port to a member chosen by the pool's
 * algorithm, the flow is masqueraded to the amphora's own address on the member's network so replies come back
 * through it, and conntrack carries every later datagram of the flow both ways. HAProxy plays no part.
 *
 * One table (`inet amphora_udp`), replaced whole in one `nft -f` transaction (the script declares, deletes and
 * defines it, so it works whether the table exists or not). Per served listener:
 * - `allowed_cidrs`: new flows from other sources dropped (CIDRs of the other address family can match no
 *   client of this VIP, so a list of only those drops everyone);
 * - `connection_limit`: a dynamic set keyed by VIP . port with `ct count over N`, which drops new flows beyond N
 *   concurrent ones (conntrack's count, as LVS counts UDP "connections");
 * - the dispatch: `dnat to <selector> map { slot range : member address . port }`, each member getting as
 *   many slots as its weight. ROUND_ROBIN uses `numgen inc` (weighted round robin over new flows); SOURCE_IP,
 *   and SOURCE_IP session persistence on any algorithm, use `jhash` of the client address (seed 0, so both
 *   amphorae map a client to the same member and persistence survives failover; it holds until the set of
 *   usable members changes), masked by `persistence_granularity` so that a client network shares a member.
 *   `persistence_timeout` has no counterpart: the hash keeps a client on its member for as long as the
 *   members stay, not only for the timeout after its last datagram as LVS does. LEAST_CONNECTIONS has no nftables equivalent (Octavia accepts it for UDP and LVS
 *   runs `wlc`): it is served as weighted round robin, which evens out flow counts when flows live alike.
 * - usable members: admin state up, weight above 0 (weight 0 drains: existing flows finish on it through
 *   conntrack, new ones go elsewhere) and not found down by a health monitor; backup members only when no
 *   other member is usable. A listener without a usable member, without an enabled default pool, or disabled
 *   gets no rule: its datagrams reach the amphora's own stack, which answers ICMP port unreachable.
 * - counters: new flows, bytes in (client to member) and bytes out (member to client), for the listener's stats.
 * Forwarding is allowed only for flows this table DNATed (the `forward` chain drops the rest), so turning on
 * forwarding in the amphora for UDP does not make it a router between the VIP network and the members'.
 *
 * Members must be of the VIP's address family (NAT cannot cross families; Octavia refuses mixing them in UDP
 * pools); anything the table cannot express throws `AmphoraConfigError`.
 */

export const UDP_TABLE = 'amphora_udp';

/** Where a listener's new flows may go: what the agent forgets in conntrack when a member stops being one. */
export interface UdpDestination {
  listenerPort: number;
  address: string;
  port: number;
}

export interface UdpRuleset {
  /** The whole `nft -f` script: replaces the table in one transaction. */
  script: string;
  /** Every member address:port some listener sends new flows to. */
  destinations: UdpDestination[];
  /** The counters of each served listener, by listener id. */
  counters: Record<string, UdpListenerCounters>;
}

export interface UdpListenerCounters {
  flows: string;
  bytesIn: string;
  bytesOut: string;
}

/** The script that removes the table whether it exists or not. */
export const REMOVE_UDP_TABLE = `table inet ${UDP_TABLE}\ndelete table inet ${UDP_TABLE}\n`;

/** A UDP listener's pool, if the listener is enabled and has an enabled default pool. */
export function servedUdpPool(listener: Listener, pools: ReadonlyMap<string, Pool>): Pool | null {
  if (listener.protocol !== 'UDP' || !listener.adminStateUp || listener.defaultPoolId === null) return null;
  const pool = pools.get(listener.defaultPoolId);
  if (!pool) throw new AmphoraConfigError(`listener ${listener.id} refers to pool ${listener.defaultPoolId}, which is not in the tree`);
  if (pool.protocol !== 'UDP') throw new AmphoraConfigError(`listener ${listener.id} (UDP) cannot use pool ${pool.id} (${pool.protocol})`);
  return pool.adminStateUp ? pool : null;
}

/** The pools UDP listeners serve (each once, by id): the ones the agent health-checks and reports. */
export function servedUdpPools(lb: LoadBalancer): Pool[] {
  const pools = new Map(lb.pools.map((p) => [p.id, p]));
  const served = new Map<string, Pool>();
  for (const listener of lb.listeners) {
    const pool = servedUdpPool(listener, pools);
    if (pool) served.set(pool.id, pool);
  }
  return [...served.values()].sort((a, b) => compare(a.id, b.id));
}

/**
 * The members a pool's new flows go to: the usable non-backup members, else the usable backup ones; usable is
 * enabled, weighted and not in `down` (member ids a health monitor found down). Sorted by id.
 */
export function usableMembers(pool: Pool, down: ReadonlySet<string>): Member[] {
  const usable = pool.members.filter((m) => m.adminStateUp && m.weight > 0 && !down.has(m.id)).sort((a, b) => compare(a.id, b.id));
  const primary = usable.filter((m) => !m.backup);
  return primary.length > 0 ? primary : usable;
}

/** The ruleset for the tree's UDP listeners, or null when it has none (the table should not exist). */
export function renderUdpNftables(lb: LoadBalancer, down: ReadonlySet<string>): UdpRuleset | null {
  const udpListeners = lb.listeners.filter((l) => l.protocol === 'UDP').sort((a, b) => a.protocolPort - b.protocolPort || compare(a.id, b.id));
  if (udpListeners.length === 0) return null;
  const vip = ipAddress('load balancer VIP', lb.vipAddress);
  const ip = vip.family === 4 ? 'ip' : 'ip6';
  const addressType = vip.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const pools = new Map(lb.pools.map((p) => [p.id, p]));
  const ports = new Set<number>();

  const definitions: string[] = [];
  const dispatch: string[] = [];
  const accounting: string[] = [];
  const destinations: UdpDestination[] = [];
  const counters: Record<string, UdpListenerCounters> = {};
  udpListeners.forEach((listener, index) => {
    token('listener id', listener.id);
    const listenerPort = port(`listener ${listener.id} protocol_port`, listener.protocolPort);
    if (ports.has(listenerPort)) throw new AmphoraConfigError(`listener ${listener.id}: UDP port ${listenerPort} is already used by another UDP listener`);
    ports.add(listenerPort);
    const pool = servedUdpPool(listener, pools);
    if (!pool) return;
    const members = usableMembers(pool, down);
    for (const m of pool.members) {
      if (ipAddress(`member ${m.id} address`, m.address).family !== vip.family) {
        throw new AmphoraConfigError(`member ${m.id} (${m.address}) of UDP pool ${pool.id} is not of the VIP's address family`);
      }
      port(`member ${m.id} protocol_port`, m.protocolPort);
      integerIn(`member ${m.id} weight`, m.weight, 0, 256);
    }
    const names = { flows: `flows_${index}`, bytesIn: `in_${index}`, bytesOut: `out_${index}` };
    counters[listener.id] = names;
    definitions.push(...Object.values(names).map((n) => `\tcounter ${n} {\n\t}`));
    const match = `${ip} daddr ${vip.address} udp dport ${listenerPort}`;
    const flow = `ct status dnat ct original ${ip} daddr ${vip.address} meta l4proto udp ct original proto-dst ${listenerPort}`;
    accounting.push(`\t\t${flow} ct direction original counter name ${names.bytesIn} accept`, `\t\t${flow} ct direction reply counter name ${names.bytesOut} accept`);
    const sources = [...new Set(listener.allowedCidrs.map((c) => cidr(`listener ${listener.id} allowed_cidr`, c)))]
      .filter((c) => ipAddress(`listener ${listener.id} allowed_cidr`, c.split('/')[0]!).family === vip.family)
      .sort(compare);
    const limit = listener.connectionLimit === -1 ? null : integerIn(`listener ${listener.id} connection_limit`, listener.connectionLimit, 1, 10_000_000);
    if (members.length === 0) return;
    if (listener.allowedCidrs.length > 0) {
      dispatch.push(`\t\t${match} ${sources.length > 0 ? `${ip} saddr != { ${sources.join(', ')} } ` : ''}drop`);
    }
    if (limit !== null) {
      definitions.push(`\tset limit_${index} {\n\t\ttype ${addressType} . inet_service\n\t\tsize 65535\n\t\tflags dynamic\n\t}`);
      dispatch.push(`\t\t${match} ct state new add @limit_${index} { ${ip} daddr . udp dport ct count over ${limit} } drop`);
    }
    const persistence = pool.sessionPersistence?.type === 'SOURCE_IP' ? pool.sessionPersistence : null;
    const sticky = pool.lbAlgorithm === 'SOURCE_IP' || persistence !== null;
    const client = persistence?.granularity ? `${ip} saddr and ${granularityMask(pool.id, persistence.granularity, vip.family)}` : `${ip} saddr`;
    let slot = 0;
    const slots = members.map((m) => {
      const first = slot;
      slot += m.weight;
      destinations.push({ listenerPort, address: m.address, port: m.protocolPort });
      return `${first === slot - 1 ? first : `${first}-${slot - 1}`} : ${m.address} . ${m.protocolPort}`;
    });
    const selector = sticky ? `jhash ${client} mod ${slot}` : `numgen inc mod ${slot}`;
    dispatch.push(`\t\t${match} counter name ${names.flows} dnat ${ip} to ${selector} map { ${slots.join(', ')} } comment "listener ${listener.id} pool ${pool.id}"`);
  });

  const table = [
    `table inet ${UDP_TABLE} {`,
    ...definitions,
    '\tchain prerouting {',
    '\t\ttype nat hook prerouting priority dstnat; policy accept;',
    ...dispatch,
    '\t}',
    // Only flows this table DNATed are forwarded: the amphora routes nothing else between its networks.
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy drop;',
    // ICMP errors about a flow (a member's port unreachable) reach its client.
    `\t\tct state related ct status dnat ct original ${ip} daddr ${vip.address} accept`,
    ...accounting,
    '\t}',
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    `\t\tct status dnat ct original ${ip} daddr ${vip.address} meta l4proto udp masquerade`,
    '\t}',
    '}',
  ];
  return { script: `${REMOVE_UDP_TABLE}${table.join('\n')}\n`, destinations, counters };
}

/** A persistence granularity is a netmask of the VIP's family: the hash sees only the client's network. */
function granularityMask(poolId: string, granularity: string, family: 4 | 6): string {
  const mask = ipAddress(`pool ${poolId} persistence_granularity`, granularity);
  if (mask.family !== family) throw new AmphoraConfigError(`pool ${poolId}: persistence_granularity ${granularity} is not a netmask of the VIP's address family`);
  return mask.address;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
