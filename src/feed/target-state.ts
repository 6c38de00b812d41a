/**
 * What one host must hold: its slice of the cloud. The server computes it from the database; the host agent
 * holds it and converges the kernel on it. Every item is keyed, and every update carries an item's whole
 * current value (or its deletion), never a command: applying an update twice, or late, is harmless, and the
 * agent's state after any sequence of updates is the server's state at the last revision sent.
 */

export interface HostInfo {
  name: string;
  /** The host's underlay address, the local end of its VXLAN tunnels. */
  tunnelIp: string;
  /** Physical network name -> interface name on the host, for flat networks (e.g. public -> eth-public). */
  providerInterfaces: Record<string, string>;
}

export interface TargetNetwork {
  id: string;
  type: 'vxlan' | 'flat';
  /** VXLAN network identifier; null for flat networks. */
  vni: number | null;
  physicalNetwork: string | null;
  mtu: number;
  /** Subnets of the network, for the ARP/ND answers and gateway checks the data plane needs. */
  subnets: { id: string; cidr: string; ipVersion: 4 | 6; gatewayIp: string | null }[];
}

export interface SecurityGroupRule {
  id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** Protocol number as a string ('6', '17', '1', '58', …) or null for any. */
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
}

export interface TargetSecurityGroup {
  id: string;
  stateful: boolean;
  rules: SecurityGroupRule[];
}

/** A port bound to this host: what the agent wires into a VM. */
export interface LocalPort {
  id: string;
  networkId: string;
  mac: string;
  mtu: number;
  adminStateUp: boolean;
  fixedIps: { subnetId: string; ipAddress: string }[];
  portSecurityEnabled: boolean;
  /** Addresses or CIDRs the port may also send from (e.g. a VIP, or a whole pod CIDR for Calico). */
  allowedAddressPairs: { ipAddress: string; macAddress: string }[];
  securityGroupIds: string[];
  deviceOwner: string;
  deviceId: string;
}

/** A port on another host, on a network this host carries: where to send frames for its MAC and addresses. */
export interface RemotePort {
  id: string;
  networkId: string;
  mac: string;
  ipAddresses: string[];
  /** Tunnel endpoint of the host it is bound to. */
  tunnelIp: string;
}

/** Members of a security group referenced as a remote group by a rule this host enforces. */
export interface AddressSet {
  securityGroupId: string;
  /** Addresses and CIDRs (fixed IPs and allowed address pairs of every member port), canonical, sorted. */
  addresses: string[];
}

export interface HostTargetState {
  revision: number;
  host: HostInfo;
  networks: Record<string, TargetNetwork>;
  ports: Record<string, LocalPort>;
  remotePorts: Record<string, RemotePort>;
  securityGroups: Record<string, TargetSecurityGroup>;
  addressSets: Record<string, AddressSet>;
}

export type TargetKind = 'network' | 'port' | 'remotePort' | 'securityGroup' | 'addressSet';

export type TargetItem = TargetNetwork | LocalPort | RemotePort | TargetSecurityGroup | AddressSet;

/** One line of the host feed (`GET /cloudnet/v1/hosts/{host}/target`, newline-delimited JSON). */
export type FeedMessage =
  /** The stream starts over from a whole slice: drop everything held and take what follows. */
  | { type: 'snapshot_begin'; revision: number; host: HostInfo }
  | { type: 'snapshot_end'; revision: number }
  | { type: 'upsert'; kind: TargetKind; id: string; value: TargetItem }
  | { type: 'delete'; kind: TargetKind; id: string }
  /** Members joining or leaving a held address set: one element per address, never the whole set again. */
  | { type: 'set_add' | 'set_remove'; id: string; addresses: string[] }
  /** Everything up to this revision has been sent: the agent may record it as applied once it converged. */
  | { type: 'revision'; revision: number }
  /** Keeps the stream alive; nothing concerning this host is pending up to this revision. */
  | { type: 'heartbeat'; revision: number };

export function emptyTargetState(host: HostInfo): HostTargetState {
  return { revision: 0, host, networks: {}, ports: {}, remotePorts: {}, securityGroups: {}, addressSets: {} };
}

const COLLECTION: Record<TargetKind, keyof Pick<HostTargetState, 'networks' | 'ports' | 'remotePorts' | 'securityGroups' | 'addressSets'>> = {
  network: 'networks',
  port: 'ports',
  remotePort: 'remotePorts',
  securityGroup: 'securityGroups',
  addressSet: 'addressSets',
};

/**
 * Folds one feed message into a held state (in place) and says whether it was the end of a consistent step
 * (a `revision` or `snapshot_end` marker), after which the agent converges the data plane.
 */
export function applyFeedMessage(state: HostTargetState, message: FeedMessage): boolean {
  switch (message.type) {
    case 'snapshot_begin':
      Object.assign(state, emptyTargetState(message.host), { revision: state.revision });
      return false;
    case 'snapshot_end':
    case 'revision':
      state.revision = message.revision;
      pruneUnreferenced(state);
      return true;
    case 'upsert':
      (state[COLLECTION[message.kind]] as Record<string, TargetItem>)[message.id] = message.value;
      return false;
    case 'delete':
      delete (state[COLLECTION[message.kind]] as Record<string, TargetItem>)[message.id];
      // A network's remote ports go with it: the server need not name each one.
      if (message.kind === 'network') {
        for (const [id, remote] of Object.entries(state.remotePorts)) if (remote.networkId === message.id) delete state.remotePorts[id];
      }
      return false;
    case 'set_add':
    case 'set_remove': {
      const set = state.addressSets[message.id];
      if (!set) return false;
      const members = new Set(set.addresses);
      for (const a of message.addresses) {
        if (message.type === 'set_add') members.add(a);
        else members.delete(a);
      }
      set.addresses = [...members].sort();
      return false;
    }
    case 'heartbeat':
      // The server sends a heartbeat only once everything before it was sent: the held state is that revision's.
      state.revision = Math.max(state.revision, message.revision);
      return false;
  }
}

/**
 * Networks, security groups and address sets are held only because local ports need them (and remote ports
 * because their network is held). Dropping what nothing references keeps the held state exactly the host's
 * slice, even when a resumed stream cannot name everything that stopped being needed while it was away.
 */
export function pruneUnreferenced(state: HostTargetState): void {
  const networks = new Set<string>();
  const groups = new Set<string>();
  for (const port of Object.values(state.ports)) {
    networks.add(port.networkId);
    for (const g of port.securityGroupIds) groups.add(g);
  }
  const remoteGroups = new Set<string>();
  for (const id of Object.keys(state.securityGroups)) {
    if (!groups.has(id)) delete state.securityGroups[id];
    else for (const rule of state.securityGroups[id].rules) if (rule.remoteGroupId) remoteGroups.add(rule.remoteGroupId);
  }
  for (const id of Object.keys(state.networks)) if (!networks.has(id)) delete state.networks[id];
  for (const [id, remote] of Object.entries(state.remotePorts)) if (!networks.has(remote.networkId)) delete state.remotePorts[id];
  for (const id of Object.keys(state.addressSets)) if (!remoteGroups.has(id)) delete state.addressSets[id];
}
