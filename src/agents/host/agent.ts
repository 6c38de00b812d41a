import { applyFeedMessage, emptyTargetState, type FeedMessage, type HostTargetState } from '../../feed/target-state.js';
import type { Logger } from '../../lib/logger.js';
import type { Converger } from './dataplane.js';
import { followFeed, type AuthenticatedFetch } from './feed-client.js';
import type { HostAgentMetrics } from './metrics.js';

export interface HostAgentOptions {
  host: string;
  server: string;
  tunnelIp: string;
  providerInterfaces: Record<string, string>;
  session: AuthenticatedFetch;
  dataPlane: Converger;
  logger: Logger;
  metrics: HostAgentMetrics;
  version: string;
  heartbeatIntervalMs: number;
  /** Anti-entropy: a full convergence pass this often even when nothing was announced. */
  resyncIntervalMs: number;
  /** How often to look for taps the hypervisor plugged or removed (one `ip link`). */
  tapPollIntervalMs: number;
}

type PortStatus = 'ACTIVE' | 'DOWN';
type Trigger = 'feed' | 'taps' | 'resync';

/**
 * The host agent: registers, heartbeats, holds its host's target state from the feed and converges the
 * kernel on it. Level-triggered: every trigger (a consistent point of the feed, a tap appearing, the
 * anti-entropy timer) runs the same full pass, one at a time; triggers during a pass fold into one more.
 * Nothing is touched before the first snapshot: an agent that restarts with empty hands must not tear down
 * a host that is serving traffic.
 */
export class HostAgent {
  private readonly held: HostTargetState;
  /** The held state at its last consistent point: what passes converge on. */
  private consistent: HostTargetState | undefined;
  private readonly reported = new Map<string, PortStatus>();
  private readonly stopping = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | undefined;
  private pending: Trigger | undefined;
  private lastTaps = '';
  private heartbeatFailing = false;
  private feedDone: Promise<void> | undefined;
  private firstConvergence: { promise: Promise<void>; resolve: () => void };

  constructor(private readonly o: HostAgentOptions) {
    this.held = emptyTargetState({ name: o.host, tunnelIp: o.tunnelIp, providerInterfaces: o.providerInterfaces });
    let resolve!: () => void;
    this.firstConvergence = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }

  /** Registers (retrying until the server answers), then runs until stop(). */
  async start(): Promise<void> {
    await this.register();
    this.timers.push(setInterval(() => void this.heartbeat(), this.o.heartbeatIntervalMs));
    this.timers.push(setInterval(() => this.trigger('resync'), this.o.resyncIntervalMs));
    this.timers.push(setInterval(() => void this.pollTaps(), this.o.tapPollIntervalMs));
    this.feedDone = followFeed(
      {
        server: this.o.server,
        host: this.o.host,
        session: this.o.session,
        logger: this.o.logger,
        since: () => this.consistent?.revision ?? 0,
        onConnect: () => {
          this.o.metrics.feedConnects.inc();
          // The server may have changed statuses while we were away (marked our ports DOWN): report all again.
          this.reported.clear();
        },
        onMessage: (m) => this.onFeedMessage(m),
      },
      this.stopping.signal,
    );
  }

  /** Resolves after the first pass on a complete target state (for tests and the lab's readiness). */
  converged(): Promise<void> {
    return this.firstConvergence.promise;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const t of this.timers) clearInterval(t);
    await this.feedDone;
    await this.running;
  }

  private onFeedMessage(message: FeedMessage): void {
    this.o.metrics.feedMessages.inc({ type: message.type });
    if (!applyFeedMessage(this.held, message)) return;
    this.consistent = structuredClone(this.held);
    this.o.metrics.feedRevision.set(this.held.revision);
    this.trigger('feed');
  }

  private trigger(reason: Trigger): void {
    if (!this.consistent || this.stopping.signal.aborted) return;
    if (this.running) {
      // Triggers during a pass fold into one more; an anti-entropy trigger wins, since its pass reads everything.
      if (!this.pending || reason === 'resync') this.pending = reason;
      return;
    }
    this.running = this.loop(reason).finally(() => (this.running = undefined));
  }

  private async loop(first: Trigger): Promise<void> {
    let reason: Trigger | undefined = first;
    while (reason && !this.stopping.signal.aborted) {
      await this.pass(reason);
      reason = this.pending;
      this.pending = undefined;
    }
  }

  private async pass(trigger: Trigger): Promise<void> {
    const target = this.consistent!;
    const end = this.o.metrics.reconcileDuration.startTimer({ trigger });
    try {
      // Taps are listed before the pass: one that appears while it runs differs from this list at the next poll,
      // which then wires it at once instead of at the next anti-entropy pass.
      const taps = (await this.o.dataPlane.presentTaps(target)).join(',');
      // Anti-entropy reads everything back from the kernel; other passes trust what the last one wrote.
      const result = await this.o.dataPlane.reconcile(target, { fresh: trigger === 'resync' });
      this.o.metrics.reconciles.inc({ trigger, result: 'ok' });
      this.o.metrics.opsApplied.inc({ tool: 'ip' }, result.ipOps);
      this.o.metrics.opsApplied.inc({ tool: 'bridge' }, result.bridgeOps);
      this.o.metrics.opsApplied.inc({ tool: 'nft' }, result.nftOps);
      this.o.metrics.portsWired.set(result.wired.size);
      if (result.unmarkable.length) this.o.logger.error({ ports: result.unmarkable }, 'taps with an ifindex above 65535 cannot be marked; these ports stay unwired');
      const ops = result.ipOps + result.bridgeOps + result.nftOps;
      this.o.logger.debug({ trigger, revision: target.revision, ops, wired: result.wired.size }, 'pass');
      // Anti-entropy that finds work means something changed the kernel behind our back: say so.
      if (ops) this.o.logger[trigger === 'resync' ? 'warn' : 'info']({ trigger, revision: target.revision, ipOps: result.ipOps, bridgeOps: result.bridgeOps, nftOps: result.nftOps }, trigger === 'resync' ? 'repaired drift' : 'converged');
      this.lastTaps = taps;
      await this.reportPorts(target, result.wired);
      this.firstConvergence.resolve();
    } catch (err) {
      this.o.metrics.reconciles.inc({ trigger, result: 'error' });
      this.o.logger.error({ err: (err as Error).message, trigger, revision: target.revision }, 'convergence failed; will retry');
      // Retried by the next trigger at the latest; a failed pass must not wait for the full resync period.
      setTimeout(() => this.trigger('resync'), 1000).unref();
    } finally {
      end();
    }
  }

  private async pollTaps(): Promise<void> {
    if (!this.consistent || this.running) return;
    try {
      const taps = (await this.o.dataPlane.presentTaps(this.consistent)).join(',');
      if (taps !== this.lastTaps) this.trigger('taps');
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'listing taps failed');
    }
  }

  /** ACTIVE once wired, DOWN otherwise; only changes are sent. */
  private async reportPorts(target: HostTargetState, wired: Set<string>): Promise<void> {
    const changes: Record<string, PortStatus> = {};
    for (const port of Object.values(target.ports)) {
      const status: PortStatus = wired.has(port.id) && port.adminStateUp ? 'ACTIVE' : 'DOWN';
      if (this.reported.get(port.id) !== status) changes[port.id] = status;
    }
    for (const id of this.reported.keys()) if (!target.ports[id]) this.reported.delete(id);
    if (!Object.keys(changes).length) return;
    try {
      const response = await this.call('POST', 'port-status', { ports: changes });
      if (response.status >= 300) throw new Error(`HTTP ${response.status}`);
      for (const [id, status] of Object.entries(changes)) this.reported.set(id, status);
      this.o.metrics.portStatusReports.inc({ result: 'ok' });
      this.o.logger.info({ ports: changes }, 'port status reported');
    } catch (err) {
      this.o.metrics.portStatusReports.inc({ result: 'error' });
      this.o.logger.warn({ err: (err as Error).message }, 'port status report failed; will retry');
    }
  }

  private async register(): Promise<void> {
    const body = { host: { tunnel_ip: this.o.tunnelIp, provider_interfaces: this.o.providerInterfaces, agent_type: 'cloudnet-host-agent', version: this.o.version } };
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        const response = await this.call('PUT', '', body);
        if (response.status === 200) {
          this.o.logger.info({ host: this.o.host, tunnelIp: this.o.tunnelIp }, 'registered');
          return;
        }
        throw new Error(`HTTP ${response.status}`);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message, attempt }, 'registration failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt) * Math.random()));
      }
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      const response = await this.call('POST', 'heartbeat');
      // The server forgot us (a fresh database): register again; the feed will follow.
      if (response.status === 404) await this.register();
      else if (response.status >= 300) throw new Error(`HTTP ${response.status}`);
      if (this.heartbeatFailing) {
        // While we were silent the server marked our ports DOWN: report every status again.
        this.heartbeatFailing = false;
        this.reported.clear();
        this.trigger('resync');
      }
    } catch (err) {
      this.heartbeatFailing = true;
      this.o.logger.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const url = `${this.o.server.replace(/\/+$/, '')}/cloudnet/v1/hosts/${encodeURIComponent(this.o.host)}${path ? `/${path}` : ''}`;
    const response = await this.o.session.fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer().catch(() => undefined);
    return response;
  }
}
