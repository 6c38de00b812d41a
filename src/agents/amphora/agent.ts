import type { Logger } from '../../lib/logger.js';
import { followNdjsonStream, type AuthenticatedFetch } from '../ndjson-stream.js';
import type { AmphoraAgentMetrics } from './metrics.js';
import type { AmphoraReconciler } from './reconciler.js';
import type { AmphoraTarget } from './target.js';

export interface AmphoraAgentOptions {
  amphoraId: string;
  server: string;
  session: AuthenticatedFetch;
  reconciler: Pick<AmphoraReconciler, 'apply' | 'health'>;
  logger: Logger;
  metrics?: AmphoraAgentMetrics;
  /** Time between health reports, which are also the amphora's heartbeat. */
  healthIntervalMs: number;
  /** A target that could not be applied is tried again this often (default 10 s). */
  retryIntervalMs?: number;
}

/** One line of `GET /cloudnet/v1/amphorae/{id}/target`. */
type TargetStreamMessage = { type: 'target'; target: AmphoraTarget } | { type: 'heartbeat' };

/**
 * The amphora agent's client loop, thin on purpose: it follows the amphora's target stream and hands the
 * latest target to the reconciler (one apply at a time; targets that arrive meanwhile fold into the newest),
 * and PUTs the reconciler's health report every interval. Level-triggered like the host agent: a reconnect
 * sends the whole target again, and an unchanged target costs nothing.
 */
export class AmphoraAgent {
  private readonly stopping = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private latest: AmphoraTarget | undefined;
  private handedOver: AmphoraTarget | undefined;
  private applying: Promise<void> | undefined;
  private lastAttempt = 0;
  private streamDone: Promise<void> | undefined;
  private reporting = false;
  /** Reports wait for the first apply: before it, an agent that adopted a serving HAProxy knows no listener to report on. */
  private appliedOnce = false;
  private reportAgain = false;
  private healthUrl = '';

  constructor(private readonly o: AmphoraAgentOptions) {}

  start(): void {
    const base = `${this.o.server.replace(/\/+$/, '')}/cloudnet/v1/amphorae/${encodeURIComponent(this.o.amphoraId)}`;
    this.streamDone = followNdjsonStream(
      {
        session: this.o.session,
        logger: this.o.logger,
        url: () => `${base}/target`,
        onConnect: () => this.o.metrics?.streamConnects.inc(),
        onMessage: (m) => this.onMessage(m as TargetStreamMessage),
      },
      this.stopping.signal,
    );
    this.healthUrl = `${base}/health`;
    this.timers.push(setInterval(() => void this.report(), this.o.healthIntervalMs));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const t of this.timers) clearInterval(t);
    await this.streamDone;
    await this.applying;
  }

  private onMessage(message: TargetStreamMessage): void {
    if (message.type !== 'target') return;
    this.latest = message.target;
    this.kick();
  }

  private kick(): void {
    if (this.applying || this.stopping.signal.aborted) return;
    this.applying = this.applyLatest()
      .catch((err: Error) => this.o.logger.error({ err: err.message }, 'apply failed'))
      // The server turns a balancer ACTIVE on the report that carries the applied revision: send it now, not
      // up to an interval later.
      .then(() => {
        this.appliedOnce = true;
        void this.report();
      })
      .finally(() => (this.applying = undefined));
  }

  private async applyLatest(): Promise<void> {
    while (this.latest && this.latest !== this.handedOver && !this.stopping.signal.aborted) {
      this.handedOver = this.latest;
      this.lastAttempt = Date.now();
      await this.o.reconciler.apply(this.latest);
    }
  }

  private async report(): Promise<void> {
    if (!this.appliedOnce) return;
    if (this.reporting) {
      // The report under way may have read the health before the latest apply finished.
      this.reportAgain = true;
      return;
    }
    this.reporting = true;
    try {
      const health = await this.o.reconciler.health();
      // A refused target is tried again now and then: what refused it may have been passing (a port in use).
      if (health.applyError !== null && Date.now() - this.lastAttempt >= (this.o.retryIntervalMs ?? 10_000)) {
        this.handedOver = undefined;
        this.kick();
      }
      const response = await this.o.session.fetch(this.healthUrl, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(health),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 300) throw new Error(`HTTP ${response.status}`);
      this.o.metrics?.healthReports.inc({ result: 'ok' });
    } catch (err) {
      this.o.metrics?.healthReports.inc({ result: 'error' });
      this.o.logger.warn({ err: (err as Error).message }, 'health report failed');
    } finally {
      this.reporting = false;
      if (this.reportAgain && !this.stopping.signal.aborted) {
        this.reportAgain = false;
        void this.report();
      }
    }
  }
}
