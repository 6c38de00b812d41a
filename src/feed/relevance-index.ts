import type { LoggedChange } from '../store/changelog.js';
import type {
  AddressSet,
  FeedMessage,
  HostInfo,
  LocalPort,
  RemotePort,
  SecurityGroupRule,
  TargetNetwork,
  TargetSecurityGroup,
} from './target-state.js';

/**
 * Which hosts need which objects, kept in memory and updated change by change, so that one change costs
 * O(the hosts it concerns) and a host's slice is read without touching the database.
 *
 * Every answer is in terms of keys (`port:<id>`, `remotePort:<id>`, `network:<id>`, `networkRemotes:<id>`,
 * `securityGroup:<id>`, `addressSet:<id>`, `member:<group>|<address>`) and current values. A change says which
 * keys of which hosts it touched; the feed sends those keys' current values. Sending a current value is
 * idempotent, so the same answer serves a live change and a replay of old changes against today's index.
 */

interface PortState {
  id: string;
  networkId: string;
  host: string;
  mac: string;
  adminStateUp: boolean;
  fixedIps: { subnetId: string; ipAddress: string }[];
  allowedAddressPairs: { ipAddress: string; macAddress: string }[];
  portSecurityEnabled: boolean;
  securityGroupIds: string[];
  deviceOwner: string;
  deviceId: string;
}

interface NetworkState {
  id: string;
  type: 'vxlan' | 'flat';
  vni: number | null;
  physicalNetwork: string | null;
  mtu: number;
}

interface SubnetState {
  id: string;
  networkId: string;
  cidr: string;
  ipVersion: 4 | 6;
  gatewayIp: string | null;
}

type Wire = Record<string, unknown>;

/** Multiset counts in a map of maps: how many ports of a host are on a network, in a group, etc. */
class CountIndex {
  private readonly map = new Map<string, Map<string, number>>();

  add(outer: string, inner: string, by = 1): void {
    let m = this.map.get(outer);
    if (!m) this.map.set(outer, (m = new Map()));
    const n = (m.get(inner) ?? 0) + by;
    if (n > 0) m.set(inner, n);
    else {
      m.delete(inner);
      if (m.size === 0) this.map.delete(outer);
    }
  }

  has(outer: string, inner: string): boolean {
    return this.count(outer, inner) > 0;
  }

  count(outer: string, inner: string): number {
    return this.map.get(outer)?.get(inner) ?? 0;
  }

  keys(outer: string): IterableIterator<string> {
    return (this.map.get(outer) ?? new Map<string, number>()).keys();
  }
}

class SetIndex {
  private readonly map = new Map<string, Set<string>>();

  add(outer: string, inner: string): void {
    let s = this.map.get(outer);
    if (!s) this.map.set(outer, (s = new Set()));
    s.add(inner);
  }

  delete(outer: string, inner: string): void {
    const s = this.map.get(outer);
    if (!s) return;
    s.delete(inner);
    if (s.size === 0) this.map.delete(outer);
  }

  get(outer: string): ReadonlySet<string> {
    return this.map.get(outer) ?? new Set();
  }
}

export type TouchedKeys = Map<string, Set<string>>;

/** `live`: the index is exactly as of the change being judged; `replay`: the index is today's, the change older. */
export type TouchMode = 'live' | 'replay';

export class RelevanceIndex {
  revision = 0;
  private readonly ports = new Map<string, PortState>();
  private readonly networks = new Map<string, NetworkState>();
  private readonly subnets = new Map<string, SubnetState>();
  private readonly groups = new Map<string, TargetSecurityGroup>();
  private readonly hosts = new Map<string, HostInfo>();

  private readonly hostPorts = new SetIndex();
  private readonly networkPorts = new SetIndex();
  private readonly networkSubnets = new SetIndex();
  private readonly networkHosts = new CountIndex();
  private readonly groupHosts = new CountIndex();
  /** Remote group -> security groups whose rules name it. */
  private readonly groupReferrers = new SetIndex();
  private readonly groupMembers = new CountIndex();

  // ---- loading and applying changes ----

  /** Folds one logged change in. Changes must come in revision order. */
  apply(change: LoggedChange): void {
    const body = change.body as Wire | null;
    switch (change.resource) {
      case 'port':
        this.setPort(change.id, body ? portState(body) : undefined);
        break;
      case 'network':
        if (body) this.networks.set(change.id, networkState(body));
        else this.networks.delete(change.id);
        break;
      case 'subnet':
        this.setSubnet(change.id, body ? subnetState(body) : undefined);
        break;
      case 'security_group':
        this.setGroup(change.id, body ? groupState(body) : undefined);
        break;
      case 'host':
        if (body) this.hosts.set(change.id, hostInfo(body));
        else this.hosts.delete(change.id);
        break;
    }
    this.revision = Math.max(this.revision, change.revision);
  }

  /** Loads an object as it is now (building the index at start). */
  load(resource: string, body: Wire): void {
    // The log keys a host by its name (ports name it in binding:host_id); its body's id is the agent's UUID.
    const id = String(resource === 'host' ? body.name : (body.id ?? body.name));
    this.apply({ resource, id, projectId: null, action: 'create', body, previous: null, revision: 0, createdAt: '' });
  }

  private setPort(id: string, next: PortState | undefined): void {
    const prev = this.ports.get(id);
    if (prev) {
      if (prev.host) {
        this.hostPorts.delete(prev.host, id);
        this.networkHosts.add(prev.networkId, prev.host, -1);
        for (const g of prev.securityGroupIds) this.groupHosts.add(g, prev.host, -1);
      }
      this.networkPorts.delete(prev.networkId, id);
      for (const g of prev.securityGroupIds) for (const a of portAddresses(prev)) this.groupMembers.add(g, a, -1);
      this.ports.delete(id);
    }
    if (next) {
      if (next.host) {
        this.hostPorts.add(next.host, id);
        this.networkHosts.add(next.networkId, next.host, 1);
        for (const g of next.securityGroupIds) this.groupHosts.add(g, next.host, 1);
      }
      this.networkPorts.add(next.networkId, id);
      for (const g of next.securityGroupIds) for (const a of portAddresses(next)) this.groupMembers.add(g, a, 1);
      this.ports.set(id, next);
    }
  }

  private setSubnet(id: string, next: SubnetState | undefined): void {
    const prev = this.subnets.get(id);
    if (prev) this.networkSubnets.delete(prev.networkId, id);
    if (next) {
      this.subnets.set(id, next);
      this.networkSubnets.add(next.networkId, id);
    } else this.subnets.delete(id);
  }

  private setGroup(id: string, next: TargetSecurityGroup | undefined): void {
    const prev = this.groups.get(id);
    if (prev) for (const g of remoteGroupsOf(prev)) this.groupReferrers.delete(g, id);
    if (next) {
      this.groups.set(id, next);
      for (const g of remoteGroupsOf(next)) this.groupReferrers.add(g, id);
    } else this.groups.delete(id);
  }

  // ---- what a change touched ----

  /**
   * The keys each host must be sent because of this change, judged with the change's before and after states
   * and the index as it is now (after the change, for a live change; today, for a replay).
   */
  touched(change: LoggedChange, mode: TouchMode = 'replay'): TouchedKeys {
    const out: TouchedKeys = new Map();
    if (changesNothingHeld(change)) return out;
    const add = (host: string, key: string) => {
      if (!host) return;
      let keys = out.get(host);
      if (!keys) out.set(host, (keys = new Set()));
      keys.add(key);
    };
    const before = change.previous as Wire | null | undefined;
    const after = change.body as Wire | null;
    switch (change.resource) {
      case 'port':
        this.touchedByPort(change.id, before ? portState(before) : undefined, after ? portState(after) : undefined, add, mode);
        break;
      case 'network': {
        const [a, b] = [before ? networkState(before) : undefined, after ? networkState(after) : undefined];
        this.touchedByNetwork(change.id, add, a?.mtu !== b?.mtu);
        break;
      }
      case 'subnet': {
        const [a, b] = [before ? subnetState(before) : undefined, after ? subnetState(after) : undefined];
        this.touchedByNetwork((a ?? b)!.networkId, add, false);
        break;
      }
      case 'security_group': {
        const [a, b] = [before ? groupState(before) : undefined, after ? groupState(after) : undefined];
        const remote = new Set([...(a ? remoteGroupsOf(a) : []), ...(b ? remoteGroupsOf(b) : [])]);
        for (const host of this.groupHosts.keys(change.id)) {
          add(host, `securityGroup:${change.id}`);
          for (const g of remote) add(host, `addressSet:${g}`);
        }
        break;
      }
      case 'host': {
        for (const portId of this.hostPorts.get(change.id)) {
          const port = this.ports.get(portId)!;
          for (const host of this.networkHosts.keys(port.networkId)) if (host !== change.id) add(host, `remotePort:${portId}`);
        }
        break;
      }
    }
    return out;
  }

  private touchedByPort(id: string, a: PortState | undefined, b: PortState | undefined, add: (host: string, key: string) => void, mode: TouchMode): void {
    const networkId = (b ?? a)!.networkId;
    const localHosts = new Set([a?.host ?? '', b?.host ?? ''].filter(Boolean));
    const groups = new Set([...(a?.securityGroupIds ?? []), ...(b?.securityGroupIds ?? [])]);
    for (const host of localHosts) {
      add(host, `port:${id}`);
      add(host, `remotePort:${id}`);
      add(host, `network:${networkId}`);
      // A host that just came onto the network needs every remote port of it. Live, the index is as of this change,
      // so "just came" is "this is its only port there"; a replay judges with today's index and cannot tell.
      const arrived = b?.host === host && a?.host !== host;
      if (arrived && (mode === 'replay' || this.networkHosts.count(networkId, host) === 1)) add(host, `networkRemotes:${networkId}`);
      for (const g of groups) {
        add(host, `securityGroup:${g}`);
        const group = this.groups.get(g);
        if (group) for (const r of remoteGroupsOf(group)) add(host, `addressSet:${r}`);
      }
    }
    const remoteChanged = !sameJson(remoteView(a), remoteView(b));
    if (remoteChanged) for (const host of this.networkHosts.keys(networkId)) add(host, `remotePort:${id}`);

    const before = new Map<string, Set<string>>();
    const after = new Map<string, Set<string>>();
    if (a) for (const g of a.securityGroupIds) before.set(g, new Set(portAddresses(a)));
    if (b) for (const g of b.securityGroupIds) after.set(g, new Set(portAddresses(b)));
    for (const g of groups) {
      const was = before.get(g) ?? new Set<string>();
      const is = after.get(g) ?? new Set<string>();
      const changed = [...was].filter((x) => !is.has(x)).concat([...is].filter((x) => !was.has(x)));
      if (!changed.length) continue;
      for (const host of this.hostsReferencing(g)) for (const address of changed) add(host, `member:${g}|${address}`);
    }
  }

  private touchedByNetwork(networkId: string, add: (host: string, key: string) => void, mtuChanged: boolean): void {
    for (const host of this.networkHosts.keys(networkId)) {
      add(host, `network:${networkId}`);
      if (mtuChanged) for (const p of this.hostPorts.get(host)) if (this.ports.get(p)?.networkId === networkId) add(host, `port:${p}`);
    }
  }

  /** Hosts with a port bound on the network: they carry it. */
  hostsOnNetwork(networkId: string): string[] {
    return [...this.networkHosts.keys(networkId)];
  }

  /** Hosts enforcing a rule whose remote group is `group`: they hold its address set. */
  hostsReferencing(group: string): Set<string> {
    const hosts = new Set<string>();
    for (const referrer of this.groupReferrers.get(group)) for (const h of this.groupHosts.keys(referrer)) hosts.add(h);
    return hosts;
  }

  // ---- current values ----

  /** The messages that bring a host's copy of these keys to their current values. */
  messagesFor(host: string, keys: Iterable<string>): FeedMessage[] {
    const objects: FeedMessage[] = [];
    const adds = new Map<string, string[]>();
    const removes = new Map<string, string[]>();
    const referencing = new Map<string, boolean>();
    for (const key of keys) {
      const colon = key.indexOf(':');
      const kind = key.slice(0, colon);
      const id = key.slice(colon + 1);
      switch (kind) {
        case 'network':
        case 'port':
        case 'remotePort':
        case 'securityGroup':
        case 'addressSet': {
          const value = this.valueOf(host, kind, id);
          objects.push(value ? { type: 'upsert', kind, id, value } : { type: 'delete', kind, id });
          break;
        }
        case 'networkRemotes':
          if (this.networkHosts.has(id, host)) {
            for (const p of this.networkPorts.get(id)) {
              const value = this.remotePort(host, p);
              if (value) objects.push({ type: 'upsert', kind: 'remotePort', id: p, value });
            }
          }
          break;
        case 'member': {
          const bar = id.indexOf('|');
          const group = id.slice(0, bar);
          const address = id.slice(bar + 1);
          let held = referencing.get(group);
          if (held === undefined) referencing.set(group, (held = this.hostsReferencing(group).has(host)));
          if (!held) break;
          const target = this.groupMembers.has(group, address) ? adds : removes;
          let list = target.get(group);
          if (!list) target.set(group, (list = []));
          list.push(address);
          break;
        }
      }
    }
    // Whole objects first: a set an upsert replaces need not also be patched, and patches after it are exact.
    const out = objects;
    for (const [id, addresses] of adds) out.push({ type: 'set_add', id, addresses: addresses.sort() });
    for (const [id, addresses] of removes) out.push({ type: 'set_remove', id, addresses: addresses.sort() });
    return out;
  }

  private valueOf(host: string, kind: string, id: string) {
    switch (kind) {
      case 'network':
        return this.networkHosts.has(id, host) ? this.targetNetwork(id) : undefined;
      case 'port': {
        const p = this.ports.get(id);
        return p && p.host === host ? this.localPort(p) : undefined;
      }
      case 'remotePort':
        return this.remotePort(host, id);
      case 'securityGroup':
        return this.groupHosts.has(id, host) ? this.groups.get(id) : undefined;
      case 'addressSet':
        return this.hostsReferencing(id).has(host) ? this.addressSet(id) : undefined;
    }
    return undefined;
  }

  private targetNetwork(id: string): TargetNetwork | undefined {
    const n = this.networks.get(id);
    if (!n) return undefined;
    const subnets = [...this.networkSubnets.get(id)]
      .map((s) => this.subnets.get(s)!)
      .sort((x, y) => x.id.localeCompare(y.id))
      .map((s) => ({ id: s.id, cidr: s.cidr, ipVersion: s.ipVersion, gatewayIp: s.gatewayIp }));
    return { ...n, subnets };
  }

  private localPort(p: PortState): LocalPort {
    return {
      id: p.id,
      networkId: p.networkId,
      mac: p.mac,
      mtu: this.networks.get(p.networkId)?.mtu ?? 1500,
      adminStateUp: p.adminStateUp,
      fixedIps: p.fixedIps,
      portSecurityEnabled: p.portSecurityEnabled,
      allowedAddressPairs: p.allowedAddressPairs,
      securityGroupIds: p.securityGroupIds,
      deviceOwner: p.deviceOwner,
      deviceId: p.deviceId,
    };
  }

  private remotePort(host: string, id: string): RemotePort | undefined {
    const p = this.ports.get(id);
    if (!p || !p.host || p.host === host || !this.networkHosts.has(p.networkId, host)) return undefined;
    const tunnelIp = this.hosts.get(p.host)?.tunnelIp;
    if (!tunnelIp) return undefined;
    return { id, networkId: p.networkId, mac: p.mac, ipAddresses: p.fixedIps.map((f) => f.ipAddress), tunnelIp };
  }

  private addressSet(group: string): AddressSet {
    return { securityGroupId: group, addresses: [...this.groupMembers.keys(group)].sort() };
  }

  /** Everything a host must hold, as feed messages (after a `snapshot_begin`). */
  slice(host: string): FeedMessage[] {
    const keys = new Set<string>();
    for (const p of this.hostPorts.get(host)) {
      const port = this.ports.get(p)!;
      keys.add(`port:${p}`);
      keys.add(`network:${port.networkId}`);
      keys.add(`networkRemotes:${port.networkId}`);
      for (const g of port.securityGroupIds) {
        keys.add(`securityGroup:${g}`);
        const group = this.groups.get(g);
        if (group) for (const r of remoteGroupsOf(group)) keys.add(`addressSet:${r}`);
      }
    }
    return this.messagesFor(host, keys);
  }

  hostInfo(host: string): HostInfo | undefined {
    return this.hosts.get(host);
  }
}

/**
 * True when a change leaves everything any host holds as it was (a port's status, a host's liveness, a resource the
 * data plane does not use), judged from the change alone: no index, so it holds whatever the index's revision.
 */
export function changesNothingHeld(change: LoggedChange): boolean {
  const before = change.previous as Wire | null | undefined;
  const after = change.body as Wire | null;
  const project = PROJECTIONS[change.resource];
  if (!project) return true;
  return sameJson(before ? project(before) : undefined, after ? project(after) : undefined);
}

const PROJECTIONS: Record<string, (w: Wire) => unknown> = {
  port: (w) => portState(w),
  network: (w) => networkState(w),
  subnet: (w) => subnetState(w),
  security_group: (w) => groupState(w),
  // Other hosts hold a host only as the tunnel endpoint of its ports.
  host: (w) => hostInfo(w).tunnelIp,
};

// ---- projections of wire objects onto what the data plane needs ----

function portState(w: Wire): PortState {
  return {
    id: String(w.id),
    networkId: String(w.network_id),
    host: String(w['binding:host_id'] ?? ''),
    mac: String(w.mac_address ?? ''),
    adminStateUp: w.admin_state_up !== false,
    fixedIps: ((w.fixed_ips as { subnet_id: string; ip_address: string }[] | undefined) ?? []).map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })),
    allowedAddressPairs: ((w.allowed_address_pairs as { ip_address: string; mac_address?: string }[] | undefined) ?? []).map((p) => ({
      ipAddress: p.ip_address,
      macAddress: p.mac_address ?? String(w.mac_address ?? ''),
    })),
    portSecurityEnabled: w.port_security_enabled !== false,
    securityGroupIds: [...((w.security_groups as string[] | undefined) ?? [])].sort(),
    deviceOwner: String(w.device_owner ?? ''),
    deviceId: String(w.device_id ?? ''),
  };
}

/** What other hosts see of a port; an unbound port is seen by none. */
function remoteView(p: PortState | undefined) {
  return p?.host ? { host: p.host, mac: p.mac, ips: p.fixedIps.map((f) => f.ipAddress) } : undefined;
}

/** What a port contributes to its groups' address sets: its fixed IPs and allowed address pairs. */
function portAddresses(p: PortState): string[] {
  return [...new Set([...p.fixedIps.map((f) => f.ipAddress), ...p.allowedAddressPairs.map((a) => a.ipAddress)])];
}

function networkState(w: Wire): NetworkState {
  return {
    id: String(w.id),
    type: w['provider:network_type'] === 'flat' ? 'flat' : 'vxlan',
    vni: (w['provider:segmentation_id'] as number | null | undefined) ?? null,
    physicalNetwork: (w['provider:physical_network'] as string | null | undefined) ?? null,
    mtu: Number(w.mtu ?? 1500),
  };
}

function subnetState(w: Wire): SubnetState {
  return {
    id: String(w.id),
    networkId: String(w.network_id),
    cidr: String(w.cidr ?? ''),
    ipVersion: w.ip_version === 6 ? 6 : 4,
    gatewayIp: (w.gateway_ip as string | null | undefined) ?? null,
  };
}

const PROTOCOL_NUMBERS: Record<string, string> = { tcp: '6', udp: '17', icmp: '1', icmpv6: '58', 'ipv6-icmp': '58', sctp: '132', any: '' };

function groupState(w: Wire): TargetSecurityGroup {
  const rules = ((w.security_group_rules as Wire[] | undefined) ?? []).map(
    (r): SecurityGroupRule => ({
      id: String(r.id),
      direction: r.direction === 'egress' ? 'egress' : 'ingress',
      ethertype: r.ethertype === 'IPv6' ? 'IPv6' : 'IPv4',
      protocol: protocolNumber(r.protocol as string | null | undefined),
      portRangeMin: (r.port_range_min as number | null | undefined) ?? null,
      portRangeMax: (r.port_range_max as number | null | undefined) ?? null,
      remoteIpPrefix: (r.remote_ip_prefix as string | null | undefined) ?? null,
      remoteGroupId: (r.remote_group_id as string | null | undefined) ?? null,
    }),
  );
  rules.sort((a, b) => a.id.localeCompare(b.id));
  return { id: String(w.id), stateful: w.stateful !== false, rules };
}

/** Rules name protocols by name or number; the data plane wants numbers. */
function protocolNumber(p: string | null | undefined): string | null {
  if (p === null || p === undefined || p === '') return null;
  const named = PROTOCOL_NUMBERS[String(p).toLowerCase()];
  if (named !== undefined) return named || null;
  return String(p);
}

function remoteGroupsOf(g: TargetSecurityGroup): string[] {
  return [...new Set(g.rules.map((r) => r.remoteGroupId).filter((x): x is string => !!x))];
}

function hostInfo(w: Wire): HostInfo {
  return {
    name: String(w.name ?? w.host ?? w.id),
    tunnelIp: String(w.tunnel_ip ?? ''),
    providerInterfaces: (w.provider_interfaces as Record<string, string> | undefined) ?? {},
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
