import type { Logger } from '../../lib/logger.js';
import { toolRunner, type ToolRunner } from '../../lib/netns.js';
import type { AmphoraHealthReport, ReportedMemberStatus } from './target.js';
import type { LoadBalancer, Pool } from './types.js';
import { UdpHealthChecker } from './udp-health.js';
import { REMOVE_UDP_TABLE, UDP_TABLE, renderUdpNftables, servedUdpPool, servedUdpPools, usableMembers, type UdpDestination, type UdpRuleset } from './udp-nftables.js';

export interface UdpListenersOptions {
  /** The amphora's network namespace, where the table, the forwarding switch and the probes live. */
  netns: string;
  logger: Logger;
}

/**
 * The amphora's UDP listeners: the nftables table of `udp-nftables.ts`, kept in step with the tree and with the
 * members' health from `UdpHealthChecker`, and their part of the health report. The table is applied with one
 * `nft -f` only when its rendering changed (a member going down or up re-renders it); conntrack entries of flows
 * to a member that no longer takes them are deleted, so a client that keeps sending on one flow moves to
 * another member instead of following the dead one until its entry expires (draining members, weight 0, keep
 * theirs). IP forwarding is on in the namespace while the table exists. keepalived keeps owning the VIP: the
 * table is the same on both amphorae and serves wherever the VIP is.
 */
export class UdpListeners {
  private readonly checker: UdpHealthChecker;
  private readonly kernel: ToolRunner;
  private tree: LoadBalancer | null = null;
  private applied: { ruleset: UdpRuleset; vip: string } | null = null;
  private forwarding: 4 | 6 | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: UdpListenersOptions) {
    this.kernel = toolRunner(o.netns);
    this.checker = new UdpHealthChecker({
      netns: o.netns,
      logger: o.logger,
      onChange: () => void this.serialized(() => this.converge()).catch((err: Error) => o.logger.error({ err: err.message }, 'UDP listeners not updated after a health change')),
    });
  }

  /**
   * Validates the tree's UDP listeners (throws what cannot be served, before the caller touches anything) and
   * gives the step that applies it; null (the balancer is going) removes the table. The step says whether the
   * kernel's table changed.
   */
  prepare(tree: LoadBalancer | null): () => Promise<boolean> {
    if (tree) renderUdpNftables(tree, new Set());
    return () =>
      this.serialized(async () => {
        this.tree = tree;
        this.checker.update(tree ? servedUdpPools(tree) : []);
        return this.converge();
      });
  }

  /** Stops the health checks; the table stays (it serves on while the VIP is here, e.g. across an agent restart). */
  stop(): void {
    this.checker.stop();
  }

  /** Adds the UDP listeners and their pools to a report built from HAProxy's view (which has neither). */
  async report(report: Pick<AmphoraHealthReport, 'listeners' | 'pools'>): Promise<void> {
    const tree = this.tree;
    if (!tree) return;
    const applied = this.applied;
    const counters = applied ? await this.counters().catch(() => new Map<string, { packets: number; bytes: number }>()) : new Map();
    const down = this.checker.down();
    const pools = new Map(tree.pools.map((p) => [p.id, p]));
    for (const listener of tree.listeners) {
      if (listener.protocol !== 'UDP') continue;
      const names = applied?.ruleset.counters[listener.id];
      const read = (name: string | undefined) => (name ? counters.get(name) : undefined);
      report.listeners[listener.id] = {
        status: applied && listener.adminStateUp ? 'OPEN' : 'DOWN',
        stats: {
          // conntrack does not say how many of a listener's UDP flows are live without listing them all.
          activeConnections: 0,
          totalConnections: read(names?.flows)?.packets ?? 0,
          bytesIn: read(names?.bytesIn)?.bytes ?? 0,
          bytesOut: read(names?.bytesOut)?.bytes ?? 0,
          requestErrors: 0,
        },
      };
      const pool = servedUdpPool(listener, pools);
      if (!pool) continue;
      const members: Record<string, ReportedMemberStatus> = {};
      for (const m of pool.members) {
        if (!m.adminStateUp) members[m.id] = 'MAINT';
        else if (!this.checker.monitored(m.id)) members[m.id] = 'NO_CHECK';
        else if (down.has(m.id)) members[m.id] = 'DOWN';
        else members[m.id] = m.weight === 0 ? 'DRAIN' : 'UP';
      }
      report.pools[pool.id] = { status: applied ? udpPoolStatus(pool, down) : 'DOWN', members };
    }
  }

  private serialized<T>(step: () => Promise<T>): Promise<T> {
    const done = this.queue.then(step);
    this.queue = done.catch(() => undefined);
    return done;
  }

  private async converge(): Promise<boolean> {
    const tree = this.tree;
    const down = this.checker.down();
    const ruleset = tree ? renderUdpNftables(tree, down) : null;
    if (!ruleset || !tree) {
      if (!this.applied) return false;
      await this.setForwarding(null);
      await this.nft(REMOVE_UDP_TABLE);
      this.applied = null;
      this.o.logger.info('UDP listeners: table removed');
      return true;
    }
    const previous = this.applied;
    if (previous?.ruleset.script === ruleset.script) return false;
    await this.nft(ruleset.script);
    this.applied = { ruleset, vip: tree.vipAddress };
    await this.setForwarding(tree.vipAddress.includes(':') ? 6 : 4);
    if (previous) await this.forgetFlows(previous, keptDestinations(tree, down, ruleset));
    this.o.logger.info({ destinations: ruleset.destinations.length, down: [...down] }, 'UDP listeners: table applied');
    return true;
  }

  private async nft(script: string): Promise<void> {
    await this.kernel.run('nft', ['-f', '-'], { input: script });
  }

  private async setForwarding(family: 4 | 6 | null): Promise<void> {
    if (family === this.forwarding) return;
    const key = (f: 4 | 6) => (f === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding');
    if (this.forwarding) await this.kernel.run('sysctl', ['-q', '-w', `${key(this.forwarding)}=0`]);
    if (family) await this.kernel.run('sysctl', ['-q', '-w', `${key(family)}=1`]);
    this.forwarding = family;
  }

  /** Deletes the conntrack entries of flows the previous table sent to destinations that no longer take them. */
  private async forgetFlows(previous: { ruleset: UdpRuleset; vip: string }, kept: Set<string>): Promise<void> {
    for (const d of previous.ruleset.destinations) {
      if (kept.has(destinationKey(d))) continue;
      const args = ['-D', '-p', 'udp', '-f', previous.vip.includes(':') ? 'ipv6' : 'ipv4', '--orig-dst', previous.vip, '--orig-port-dst', String(d.listenerPort), '--reply-src', d.address, '--reply-port-src', String(d.port)];
      // conntrack exits non-zero when there was nothing to delete.
      await this.kernel.run('conntrack', args).catch(() => undefined);
    }
  }

  private async counters(): Promise<Map<string, { packets: number; bytes: number }>> {
    const { stdout } = await this.kernel.run('nft', ['-j', 'list', 'counters', 'table', 'inet', UDP_TABLE]);
    const listed = (JSON.parse(stdout) as { nftables: { counter?: { name: string; packets: number; bytes: number } }[] }).nftables;
    return new Map(listed.flatMap((o) => (o.counter ? [[o.counter.name, o.counter] as const] : [])));
  }
}

function destinationKey(d: UdpDestination): string {
  return `${d.listenerPort} ${d.address} ${d.port}`;
}

/** Destinations whose flows stay: the ones new flows still go to, and those of draining members (weight 0). */
function keptDestinations(tree: LoadBalancer, down: ReadonlySet<string>, ruleset: UdpRuleset): Set<string> {
  const kept = new Set(ruleset.destinations.map(destinationKey));
  const pools = new Map(tree.pools.map((p) => [p.id, p]));
  for (const listener of tree.listeners) {
    const pool = servedUdpPool(listener, pools);
    for (const m of pool?.members ?? []) {
      if (m.adminStateUp && m.weight === 0 && !down.has(m.id)) kept.add(destinationKey({ listenerPort: listener.protocolPort, address: m.address, port: m.protocolPort }));
    }
  }
  return kept;
}

/**
 * A served UDP pool is UP while a member can take its flows, and also while it has no member at all: Octavia shows an
 * empty pool ONLINE (octavia-tempest-plugin waits for that after creating one), as HAProxy's empty backends are.
 */
export function udpPoolStatus(pool: Pool, down: ReadonlySet<string>): 'UP' | 'DOWN' {
  return pool.members.length === 0 || usableMembers(pool, down).length > 0 ? 'UP' : 'DOWN';
}
