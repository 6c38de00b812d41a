/**
 * The amphora's side of the Sprut principle: what `cloudnet amphora-agent` pulls from the server (its target)
 * and what it reports back (its health). Like host agents, an amphora agent receives no commands: it follows
 * `GET /cloudnet/v1/amphorae/{id}/target` (NDJSON, a whole `AmphoraTarget` whenever it changes, heartbeat lines
 * between), converges HAProxy and keepalived on the latest one, and reports with
 * `PUT /cloudnet/v1/amphorae/{id}/health` right after each apply and every health interval (its heartbeat).
 *
 * A whole document per change, not a diff: a balancer's tree is a few kilobytes and changes rarely, and the
 * agent needs all of it to render anyway.
 */
import type { HaproxyPeers } from './haproxy-config.js';
import type { KeepalivedConfig } from './keepalived-config.js';
import type { LoadBalancer } from './types.js';

/**
 * keepalived settings of one amphora of an ACTIVE_STANDBY pair, as `renderKeepalivedConfig` takes them; the
 * agent adds what is its own (router id, instance name, health check, notify script). `vips` carry the VIP
 * subnet's prefix length (198.19.0.20/24), and `unicastPeers` is empty while the peer is being replaced.
 */
export type AmphoraVrrpTarget = Pick<
  KeepalivedConfig,
  'role' | 'interface' | 'virtualRouterId' | 'unicastSrcIp' | 'unicastPeers' | 'vips' | 'advertIntervalSeconds'
>;

export interface AmphoraTarget {
  amphoraId: string;
  loadBalancerId: string;
  /**
   * Increases whenever anything in this document changes (the change-log revision it was built at). The agent
   * reports the last one it applied; the server turns the balancer ACTIVE once every amphora has applied the
   * revision of its latest write.
   */
  configRevision: number;
  /** null: the balancer is being deleted, so stop serving (the VM is removed once the agent reported it). */
  loadBalancer: LoadBalancer | null;
  /** null for a SINGLE topology: the VIP is configured directly on `vipInterface`. */
  vrrp: AmphoraVrrpTarget | null;
  /** Where the VIP lives when there is no VRRP (SINGLE topology); ignored with `vrrp`. */
  vipInterface: string;
  /**
   * PEM files by the name the tree's TLS paths use: bundles (certificate, intermediates, private key) for
   * TERMINATED_HTTPS listeners and for pools' client certificates, CA bundles and revocation lists for client
   * authentication and for verifying members. The agent writes each (mode 0600) under its own state directory
   * and rewrites the tree's names into those paths before rendering.
   */
  certificates: Record<string, string>;
  /** HAProxy's peers (stick tables shared by the ACTIVE_STANDBY pair); null for a SINGLE topology. */
  haproxyPeers: HaproxyPeers | null;
}

/** Octavia's member and pool health as the amphora sees it (its heartbeat's vocabulary, in capitals). */
export type ReportedMemberStatus = 'UP' | 'DOWN' | 'DRAIN' | 'MAINT' | 'NO_CHECK';

export interface ListenerStats {
  activeConnections: number;
  totalConnections: number;
  bytesIn: number;
  bytesOut: number;
  requestErrors: number;
}

/** Body of `PUT /cloudnet/v1/amphorae/{id}/health`: Octavia's amphora heartbeat, over HTTP. */
export interface AmphoraHealthReport {
  /** The last target revision the agent applied (HAProxy and keepalived both running it); null before the first. */
  appliedConfigRevision: number | null;
  /** Set when the last target could not be applied (e.g. `haproxy -c` refused the config); null otherwise. */
  applyError: string | null;
  haproxy: 'RUNNING' | 'STOPPED';
  /** keepalived's state of the VRRP instance; null for SINGLE. */
  vrrpState: 'MASTER' | 'BACKUP' | 'FAULT' | 'STOPPED' | null;
  /** By listener id: OPEN, FULL (at connection_limit) or DOWN, with HAProxy's counters for its frontend. */
  listeners: Record<string, { status: 'OPEN' | 'FULL' | 'DOWN'; stats: ListenerStats }>;
  /** By pool id: the pool's backend status and each member's check status (by member id). */
  pools: Record<string, { status: 'UP' | 'DOWN'; members: Record<string, ReportedMemberStatus> }>;
}
