/**
 * The balancer provisioning planner: what a balancer has (its row, amphora rows, ports, security group rules)
 * in, the next steps towards what it should have out. Pure; the controller reads the state, runs the steps,
 * and asks again until the plan is empty. Each step is safe to repeat after a crash, because the next plan is
 * made from what exists, not from what was meant to happen.
 */

import { HAPROXY_PEER_PORT } from './amphora-target.js';

export type Topology = 'SINGLE' | 'ACTIVE_STANDBY';
export type AmphoraRole = 'MASTER' | 'BACKUP' | 'STANDALONE';

/** Octavia's priorities: the MASTER-role amphora wins an election, but with nopreempt never takes the VIP back. */
export const ROLE_PRIORITY: Record<AmphoraRole, number> = { MASTER: 100, BACKUP: 90, STANDALONE: 100 };
/** Each balancer's VRRP runs on its own ports with unicast adverts, so every balancer can use router id 1. */
export const VRRP_ID = 1;

export const DESIRED_ROLES: Record<Topology, AmphoraRole[]> = { SINGLE: ['STANDALONE'], ACTIVE_STANDBY: ['MASTER', 'BACKUP'] };

export interface ObservedBalancer {
  id: string;
  projectId: string;
  /** Octavia's provisioning_status: PENDING_CREATE, PENDING_UPDATE, PENDING_DELETE, ACTIVE, ERROR. */
  provisioningStatus: string;
  operatingStatus: string;
  topology: Topology;
  vipNetworkId: string;
  /** Null until the VIP port chose one when only the network was given. */
  vipSubnetId: string | null;
  /** The requested address, or the one the VIP port got. */
  vipAddress: string | null;
  /** Networks of member subnets other than the VIP network: each amphora needs a port on each. */
  memberNetworkIds: string[];
  /** The revision every amphora must have applied before a pending change is done. */
  configRevision: number;
  /** What the listeners need open on the VRRP ports. */
  listenerPorts: ListenerPort[];
  /** How long the balancer has been in its PENDING_* state. */
  pendingForMs: number;
}

export interface ListenerPort {
  protocol: 'tcp' | 'udp';
  port: number;
}

export type AmphoraStatus = 'BOOTING' | 'ALLOCATED' | 'ERROR';

export interface ObservedAmphora {
  id: string;
  role: AmphoraRole;
  status: AmphoraStatus;
  /** Set once the compute service made its VM. */
  computeId: string | null;
  host: string | null;
  appliedConfigRevision: number | null;
  applyError: string | null;
  /** Heard from within the heartbeat timeout (false until its first report). */
  reporting: boolean;
  /** The API asked for this amphora to be replaced (amphora or balancer failover). */
  failoverRequested: boolean;
}

export type PortKind = 'vip' | 'vrrp' | 'member';

/** A port the balancer service made for this balancer or one of its amphorae (device_owner `Octavia`). */
export interface ObservedPort {
  id: string;
  kind: PortKind;
  networkId: string;
  /** The amphora it belongs to; null for the VIP port. */
  amphoraId: string | null;
  /** Bound (plugged into a VM) when set. */
  host: string;
  address: string | null;
}

export interface SecurityGroupRule {
  id: string;
  protocol: string;
  portRangeMin: number | null;
  portRangeMax: number | null;
  /** Rules between the group's own members (VRRP adverts) name the group itself. */
  remoteSelf: boolean;
  ethertype: 'IPv4' | 'IPv6';
}

export interface ObservedState {
  balancer: ObservedBalancer;
  amphorae: ObservedAmphora[];
  ports: ObservedPort[];
  /** The balancer's security group (`lb-<id>`) and its rules; null when it does not exist. */
  securityGroup: { id: string; rules: SecurityGroupRule[] } | null;
  /** False when the server has no compute service: no amphora can be made. */
  computeAvailable: boolean;
  /** A balancer that stays pending longer than this goes to ERROR. */
  provisioningTimeoutMs: number;
}

export type DesiredRule = Omit<SecurityGroupRule, 'id'>;

export type BalancerAction =
  | { kind: 'createVipPort' }
  | { kind: 'createSecurityGroup' }
  | { kind: 'addSecurityGroupRule'; rule: DesiredRule }
  | { kind: 'removeSecurityGroupRule'; ruleId: string }
  | { kind: 'createAmphora'; role: AmphoraRole }
  | { kind: 'createVrrpPort'; amphoraId: string }
  | { kind: 'createMemberPort'; amphoraId: string; networkId: string }
  | { kind: 'createVm'; amphoraId: string; portIds: string[]; avoidHosts: string[] }
  | { kind: 'attachPort'; amphoraId: string; computeId: string; portId: string }
  | { kind: 'retireAmphora'; amphoraId: string; computeId: string | null }
  | { kind: 'deletePort'; portId: string }
  | { kind: 'deleteSecurityGroup'; securityGroupId: string }
  | { kind: 'complete' }
  | { kind: 'fail'; reason: string }
  | { kind: 'setDegraded' };

export interface Plan {
  actions: BalancerAction[];
  /** What the balancer waits for when there is nothing to do yet (null: converged, or acting). */
  waitingFor: string | null;
}

const VRRP_PROTOCOL = '112';

/**
 * The security group rules the VRRP ports need: each listener's port from anywhere, VRRP and HAProxy's peer
 * port (stick-table updates) between the pair.
 */
export function desiredRules(listeners: ListenerPort[], vipIsIpv6: boolean): DesiredRule[] {
  const ethertype = vipIsIpv6 ? 'IPv6' : 'IPv4';
  const seen = new Set<string>();
  const rules: DesiredRule[] = [];
  for (const l of [...listeners].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol))) {
    const key = `${l.protocol}/${l.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rules.push({ protocol: l.protocol, portRangeMin: l.port, portRangeMax: l.port, remoteSelf: false, ethertype });
  }
  rules.push({ protocol: VRRP_PROTOCOL, portRangeMin: null, portRangeMax: null, remoteSelf: true, ethertype });
  rules.push({ protocol: 'tcp', portRangeMin: HAPROXY_PEER_PORT, portRangeMax: HAPROXY_PEER_PORT, remoteSelf: true, ethertype });
  return rules;
}

const ruleKey = (r: DesiredRule) => `${r.ethertype}/${r.protocol}/${r.portRangeMin ?? ''}-${r.portRangeMax ?? ''}/${r.remoteSelf}`;

export function planBalancer(state: ObservedState): Plan {
  const { balancer } = state;
  if (balancer.provisioningStatus === 'PENDING_DELETE') return planDelete(state);
  if (balancer.provisioningStatus === 'ERROR' || balancer.provisioningStatus === 'DELETED') return { actions: [], waitingFor: null };
  const pending = balancer.provisioningStatus.startsWith('PENDING_');
  if (pending && balancer.pendingForMs > state.provisioningTimeoutMs) {
    return only({ kind: 'fail', reason: `the balancer was not ready within ${state.provisioningTimeoutMs / 1000} s` });
  }

  const vipPort = state.ports.find((p) => p.kind === 'vip');
  if (!vipPort) return only({ kind: 'createVipPort' });
  if (!state.securityGroup) return only({ kind: 'createSecurityGroup' });
  const ruleActions = planRules(state);
  if (!state.computeAvailable) {
    if (pending) return only({ kind: 'fail', reason: 'no compute service is configured to run amphorae (start cloudnet server with --compute)' });
    return { actions: ruleActions, waitingFor: null };
  }

  const actions: BalancerAction[] = [...ruleActions];
  // Failed amphorae go first, so that their replacements are made in the same pass and avoid no dead host.
  const failed = state.amphorae.filter((a) => a.status === 'ERROR');
  // Failover asked through the API: one amphora at a time, and only while every other one serves, so that a
  // balancer failover rolls through the pair without ever leaving the VIP without an amphora.
  const requested = state.amphorae.find((a) => a.failoverRequested && a.status !== 'ERROR');
  const othersServe =
    state.amphorae.length >= DESIRED_ROLES[balancer.topology].length && state.amphorae.every((a) => a === requested || (a.status === 'ALLOCATED' && a.reporting));
  if (requested && othersServe) failed.push(requested);
  for (const a of failed) actions.push({ kind: 'retireAmphora', amphoraId: a.id, computeId: a.computeId });
  const live = state.amphorae.filter((a) => !failed.includes(a));
  const roles = DESIRED_ROLES[balancer.topology];
  for (const a of live) {
    if (!roles.includes(a.role)) actions.push({ kind: 'retireAmphora', amphoraId: a.id, computeId: a.computeId });
  }
  for (const role of roles) {
    const holders = live.filter((a) => a.role === role);
    if (holders.length === 0) actions.push({ kind: 'createAmphora', role });
    // Two of one role (a crash between making a replacement and retiring the old one): keep the first made.
    for (const extra of holders.slice(1)) actions.push({ kind: 'retireAmphora', amphoraId: extra.id, computeId: extra.computeId });
  }
  const kept = live.filter((a) => roles.includes(a.role) && live.find((b) => b.role === a.role) === a);
  for (const amphora of kept) actions.push(...planAmphora(state, amphora, kept));
  if (actions.length) return { actions, waitingFor: null };

  if (!pending) {
    // ONLINE again comes from the amphorae's reports once the pair is whole (the health endpoint applies them).
    const short = kept.some((a) => !a.reporting || a.status !== 'ALLOCATED');
    return { actions: short && balancer.operatingStatus === 'ONLINE' ? [{ kind: 'setDegraded' }] : [], waitingFor: null };
  }

  const broken = kept.find((a) => a.applyError !== null);
  if (broken) return only({ kind: 'fail', reason: `amphora ${broken.id} could not apply the configuration: ${broken.applyError}` });
  const behind = kept.filter((a) => (a.appliedConfigRevision ?? -1) < balancer.configRevision || !a.reporting);
  if (behind.length) {
    return { actions: [], waitingFor: `amphorae ${behind.map((a) => a.id).join(', ')} to apply revision ${balancer.configRevision}` };
  }
  return only({ kind: 'complete' });
}

function planRules(state: ObservedState): BalancerAction[] {
  const group = state.securityGroup!;
  const desired = desiredRules(state.balancer.listenerPorts, (state.balancer.vipAddress ?? '').includes(':'));
  const wanted = new Set(desired.map(ruleKey));
  const have = new Set(group.rules.map(ruleKey));
  return [
    ...group.rules.filter((r) => !wanted.has(ruleKey(r))).map((r): BalancerAction => ({ kind: 'removeSecurityGroupRule', ruleId: r.id })),
    ...desired.filter((r) => !have.has(ruleKey(r))).map((rule): BalancerAction => ({ kind: 'addSecurityGroupRule', rule })),
  ];
}

/** One amphora's next steps: its VRRP port, a port on each member network, its VM, then plugging late ports. */
function planAmphora(state: ObservedState, amphora: ObservedAmphora, kept: ObservedAmphora[]): BalancerAction[] {
  const own = state.ports.filter((p) => p.amphoraId === amphora.id);
  const vrrp = own.filter((p) => p.kind === 'vrrp');
  const actions: BalancerAction[] = vrrp.slice(1).map((p) => ({ kind: 'deletePort', portId: p.id }));
  if (!vrrp.length) return [...actions, { kind: 'createVrrpPort', amphoraId: amphora.id }];
  const members = new Map<string, ObservedPort>();
  for (const p of own.filter((p) => p.kind === 'member')) {
    if (members.has(p.networkId) || !state.balancer.memberNetworkIds.includes(p.networkId)) actions.push({ kind: 'deletePort', portId: p.id });
    else members.set(p.networkId, p);
  }
  for (const networkId of state.balancer.memberNetworkIds) {
    if (!members.has(networkId)) actions.push({ kind: 'createMemberPort', amphoraId: amphora.id, networkId });
  }
  if (actions.length) return actions;
  if (!amphora.computeId) {
    const avoidHosts = kept.filter((a) => a !== amphora && a.host).map((a) => a.host!);
    return [{ kind: 'createVm', amphoraId: amphora.id, portIds: [vrrp[0].id, ...[...members.values()].map((p) => p.id)], avoidHosts }];
  }
  return [...members.values()].filter((p) => !p.host).map((p) => ({ kind: 'attachPort', amphoraId: amphora.id, computeId: amphora.computeId!, portId: p.id }));
}

function planDelete(state: ObservedState): Plan {
  // An amphora's ports go with it; the VIP port is the balancer's.
  const actions: BalancerAction[] = state.amphorae.map((a) => ({ kind: 'retireAmphora', amphoraId: a.id, computeId: a.computeId }));
  for (const p of state.ports) if (p.kind === 'vip') actions.push({ kind: 'deletePort', portId: p.id });
  if (state.securityGroup) actions.push({ kind: 'deleteSecurityGroup', securityGroupId: state.securityGroup.id });
  actions.push({ kind: 'complete' });
  return { actions, waitingFor: null };
}

const only = (action: BalancerAction): Plan => ({ actions: [action], waitingFor: null });
