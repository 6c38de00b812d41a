import type { HostTargetState, TargetNetwork } from '../../feed/target-state.js';
import type { LiveFdbEntry, LiveLink, LiveNeighbour } from './live.js';
import { MAX_PORT_MARK } from './ruleset.js';
import { VXLAN_PORT, bridgeAddress, bridgeName, isBridgeName, isTapName, isVxlanName, tapName, vxlanName } from './names.js';

/**
 * The link layer of a host as commands: `ip -batch` lines (links, neighbours), `bridge -batch` lines
 * (forwarding entries, port flags), and the `ip -batch` lines that plug taps into their bridges. Pure: the same
 * target and live state always give the same lines, and a host that already matches gives none, so a restart
 * touches nothing.
 */
export interface LinkPlan {
  ip: string[];
  bridge: string[];
  /** Run only once the taps' nftables rules are in place: a tap in its bridge forwards at once. */
  plug: string[];
}

export interface LiveLinkLayer {
  links: LiveLink[];
  fdb: LiveFdbEntry[];
  neighbours: LiveNeighbour[];
}

const ZERO_MAC = '00:00:00:00:00:00';

/** The VXLAN device a network needs, or null for a flat network. */
function vxlanOf(network: TargetNetwork): string | null {
  return network.type === 'vxlan' && network.vni !== null ? vxlanName(network.vni) : null;
}

export function planLinks(target: HostTargetState, live: LiveLinkLayer): LinkPlan {
  const ip: string[] = [];
  const bridge: string[] = [];
  const plug: string[] = [];
  const byName = new Map(live.links.map((l) => [l.name, l]));
  const tunnelIp = target.host.tunnelIp;

  const wantBridges = new Set<string>();
  const wantVxlans = new Map<string, string>(); // vxlan device -> its bridge
  for (const network of Object.values(target.networks)) {
    wantBridges.add(bridgeName(network.id));
    const vx = vxlanOf(network);
    if (vx) wantVxlans.set(vx, bridgeName(network.id));
  }

  // Removals first, so that a device renamed by a changed VNI never collides with its successor.
  for (const l of live.links) {
    if (isVxlanName(l.name) && !wantVxlans.has(l.name)) ip.push(`link del ${l.name}`);
  }
  for (const l of live.links) {
    if (l.kind === 'bridge' && isBridgeName(l.name) && !wantBridges.has(l.name)) ip.push(`link del ${l.name}`);
  }
  const wantTaps = new Set(Object.values(target.ports).filter((p) => target.networks[p.networkId]).map((p) => tapName(p.id)));
  for (const l of live.links) {
    // A tap of a port that left the target: unplug it; the VM's end and namespace belong to the hypervisor.
    if (isTapName(l.name) && l.master && isBridgeName(l.master) && !wantTaps.has(l.name)) ip.push(`link set ${l.name} nomaster`);
  }

  for (const network of Object.values(target.networks)) {
    const br = bridgeName(network.id);
    const liveBridge = byName.get(br);
    if (!liveBridge) ip.push(`link add ${br} address ${bridgeAddress(network.id, tunnelIp)} type bridge`);
    if (!liveBridge?.up) ip.push(`link set ${br} up`);

    const vx = vxlanOf(network);
    if (vx) {
      const v = byName.get(vx);
      const same = v?.vxlan && v.vxlan.id === network.vni && v.vxlan.local === tunnelIp && v.vxlan.port === VXLAN_PORT && !v.vxlan.learning;
      if (v && !same) ip.push(`link del ${vx}`);
      if (!same) ip.push(`link add ${vx} type vxlan id ${network.vni} local ${tunnelIp} dstport ${VXLAN_PORT} nolearning`);
      if (!same || v?.master !== br || v.mtu !== network.mtu || !v.up) ip.push(`link set ${vx} master ${br} mtu ${network.mtu} up`);
      // Neighbour suppression: the bridge answers ARP/ND for addresses it holds neighbour entries for,
      // and floods the rest (head-end replicated) to the network's other tunnel endpoints.
      if (!same || !v?.neighSuppress) bridge.push(`link set dev ${vx} neigh_suppress on`);
    } else if (network.physicalNetwork) {
      const ifname = target.host.providerInterfaces[network.physicalNetwork];
      const p = ifname ? byName.get(ifname) : undefined;
      if (ifname && p && (p.master !== br || !p.up)) ip.push(`link set ${ifname} master ${br} up`);
    }
  }

  for (const port of Object.values(target.ports)) {
    const network = target.networks[port.networkId];
    const tap = byName.get(tapName(port.id));
    if (!network || !tap) continue; // the hypervisor has not plugged it yet
    const br = bridgeName(network.id);
    if (tap.ifindex > MAX_PORT_MARK) {
      // Its ifindex cannot be its mark, so no rule can filter it: it must not forward at all.
      if (tap.master) ip.push(`link set ${tap.name} nomaster`);
      continue;
    }
    const changes: string[] = [];
    if (tap.master !== br) changes.push(`master ${br}`);
    if (tap.mtu !== port.mtu) changes.push(`mtu ${port.mtu}`);
    if (tap.up !== port.adminStateUp) changes.push(port.adminStateUp ? 'up' : 'down');
    if (changes.length) plug.push(`link set ${tap.name} ${changes.join(' ')}`);
  }

  planForwarding(target, live, wantVxlans, ip, bridge);
  return { ip, bridge, plug };
}

interface Forwarding {
  self: Set<string>; // "vxlan mac dst"
  master: Set<string>; // "vxlan mac"
  neighbours: Map<string, string>; // "bridge ip" -> mac
}

/** Static FDB entries and neighbour entries for remote ports; all-zero entries for flooding. */
function desiredForwarding(target: HostTargetState): Forwarding {
  const want: Forwarding = { self: new Set(), master: new Set(), neighbours: new Map() };
  for (const remote of Object.values(target.remotePorts)) {
    const network = target.networks[remote.networkId];
    const vx = network && vxlanOf(network);
    if (!vx || remote.tunnelIp === target.host.tunnelIp) continue;
    const mac = remote.mac.toLowerCase();
    want.self.add(`${vx} ${mac} ${remote.tunnelIp}`);
    want.self.add(`${vx} ${ZERO_MAC} ${remote.tunnelIp}`);
    want.master.add(`${vx} ${mac}`);
    for (const address of remote.ipAddresses) want.neighbours.set(`${bridgeName(network.id)} ${address}`, mac);
  }
  return want;
}

/** The forwarding entries as the tools will list them once the plan is applied: what the next pass may diff against. */
export function expectedForwarding(target: HostTargetState): Pick<LiveLinkLayer, 'fdb' | 'neighbours'> {
  const want = desiredForwarding(target);
  const fdb: LiveFdbEntry[] = [];
  for (const key of want.self) {
    const [dev, mac, dst] = key.split(' ');
    fdb.push({ mac: mac!, dev: dev!, dst: dst!, self: true, state: 'permanent' });
  }
  for (const key of want.master) {
    const [dev, mac] = key.split(' ');
    fdb.push({ mac: mac!, dev: dev!, dst: null, self: false, state: 'static' });
  }
  const neighbours = [...want.neighbours].map(([key, mac]) => {
    const [dev, ip] = key.split(' ');
    return { ip: ip!, dev: dev!, mac };
  });
  return { fdb, neighbours };
}

function planForwarding(target: HostTargetState, live: LiveLinkLayer, wantVxlans: Map<string, string>, ip: string[], bridge: string[]) {
  const { self: wantSelf, master: wantMaster, neighbours: wantNeigh } = desiredForwarding(target);

  const liveSelf = new Set<string>();
  const liveMaster = new Set<string>();
  for (const e of live.fdb) {
    if (!wantVxlans.has(e.dev)) continue; // devices being removed take their entries with them
    if (e.self && e.dst) liveSelf.add(`${e.dev} ${e.mac} ${e.dst}`);
    else if (!e.self && e.state === 'static') liveMaster.add(`${e.dev} ${e.mac}`);
  }
  const liveNeigh = new Map<string, string>();
  for (const n of live.neighbours) {
    if (isBridgeName(n.dev)) liveNeigh.set(`${n.dev} ${n.ip}`, n.mac.toLowerCase());
  }
  const bridges = new Set(wantVxlans.values());

  for (const key of liveSelf) {
    if (wantSelf.has(key)) continue;
    const [dev, mac, dst] = key.split(' ');
    bridge.push(`fdb del ${mac} dev ${dev} dst ${dst} self`);
  }
  for (const key of liveMaster) {
    if (wantMaster.has(key)) continue;
    const [dev, mac] = key.split(' ');
    bridge.push(`fdb del ${mac} dev ${dev} master`);
  }
  for (const key of [...wantSelf].sort()) {
    if (liveSelf.has(key)) continue;
    const [dev, mac, dst] = key.split(' ');
    // All-zero entries accumulate (one per endpoint); a unicast MAC has exactly one endpoint.
    bridge.push(mac === ZERO_MAC ? `fdb append ${mac} dev ${dev} dst ${dst} self permanent` : `fdb replace ${mac} dev ${dev} dst ${dst} self permanent`);
  }
  for (const key of [...wantMaster].sort()) {
    if (liveMaster.has(key)) continue;
    const [dev, mac] = key.split(' ');
    bridge.push(`fdb replace ${mac} dev ${dev} master static`);
  }

  for (const [key] of liveNeigh) {
    const [dev, address] = key.split(' ');
    if (!wantNeigh.has(key) && bridges.has(dev!)) ip.push(`neigh del ${address} dev ${dev}`);
  }
  for (const [key, mac] of [...wantNeigh].sort()) {
    if (liveNeigh.get(key) === mac) continue;
    const [dev, address] = key.split(' ');
    ip.push(`neigh replace ${address} lladdr ${mac} dev ${dev} nud permanent`);
  }
}
