/**
 * The target one amphora is sent (see src/agents/amphora/target.ts), built from its row, its peers' rows and
 * the balancer's tree. Pure: the endpoint reads, this decides.
 */
import type { AmphoraTarget } from '../../agents/amphora/target.js';
import type { LoadBalancer } from '../../agents/amphora/types.js';
import type { AmphoraRole, Topology } from './planner.js';

/** The interface of the VRRP port inside every amphora: the lab (and Octavia) plug it first. */
export const VRRP_INTERFACE = 'eth0';
/** Where each amphora's HAProxy listens for its peer's stick-table updates, on its VRRP address (Octavia's 1025). */
export const HAPROXY_PEER_PORT = 1025;
/** VRRPv3 adverts every 0.1 s: the standby takes over about 0.37 s after the master goes silent. */
export const ADVERT_INTERVAL_SECONDS = 0.1;

export interface AmphoraTargetInput {
  amphora: { id: string; role: AmphoraRole; vrrpIp: string | null; vrrpId: number };
  /** The balancer's other live amphorae. */
  peers: { id: string; vrrpIp: string | null }[];
  balancer: { id: string; topology: Topology; vipAddress: string; vipPrefixLength: number; deleting: boolean };
  tree: LoadBalancer | null;
  certificates: Record<string, string>;
  configRevision: number;
}

export function buildAmphoraTarget(input: AmphoraTargetInput): AmphoraTarget {
  const { amphora, balancer } = input;
  const vrrp =
    balancer.topology === 'ACTIVE_STANDBY' && amphora.role !== 'STANDALONE'
      ? {
          role: amphora.role,
          interface: VRRP_INTERFACE,
          virtualRouterId: amphora.vrrpId,
          unicastSrcIp: amphora.vrrpIp ?? '',
          unicastPeers: input.peers.flatMap((p) => (p.vrrpIp ? [p.vrrpIp] : [])).sort(),
          vips: [`${balancer.vipAddress}/${balancer.vipPrefixLength}`],
          advertIntervalSeconds: ADVERT_INTERVAL_SECONDS,
        }
      : null;
  // The peers' names are the amphora ids: each HAProxy finds itself by its own (`localpeer`).
  const haproxyPeers =
    vrrp && amphora.vrrpIp
      ? {
          localPeer: amphora.id,
          peers: [{ id: amphora.id, vrrpIp: amphora.vrrpIp }, ...input.peers].flatMap((p) => (p.vrrpIp ? [{ name: p.id, address: p.vrrpIp }] : [])).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
          port: HAPROXY_PEER_PORT,
        }
      : null;
  return {
    amphoraId: amphora.id,
    loadBalancerId: balancer.id,
    configRevision: input.configRevision,
    loadBalancer: balancer.deleting ? null : input.tree,
    vrrp,
    vipInterface: VRRP_INTERFACE,
    certificates: balancer.deleting ? {} : input.certificates,
    haproxyPeers,
  };
}
