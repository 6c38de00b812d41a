/**
 * Keys to reconcile, one at a time per key: a key queued while its reconcile runs is run once more afterwards;
 * a failed reconcile is retried with exponential backoff; a reconcile may ask to be run again after a delay.
 */
import type { Logger } from '../../lib/logger.js';

export interface ReconcileOutcome {
  /** Run again after this many milliseconds (0: at once); undefined: only when queued again. */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export class WorkQueue {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<ReconcileOutcome>,
    private readonly logger: Logger,
    private readonly options: WorkQueueOptions = { baseBackoffMs: 200, maxBackoffMs: 10_000 },
  ) {}

  /** Runs the key's reconcile after `delayMs` (sooner if already due sooner). */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      if (delayMs === 0) this.dirty.add(key);
      else this.schedule(key, delayMs);
      return;
    }
    this.schedule(key, delayMs);
  }

  /** No more runs; resolves once the ones under way have finished (so the store they use can be closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.running.values());
  }

  /** True while any key is running or waiting to run. */
  get busy(): boolean {
    return this.running.size > 0 || this.timers.size > 0;
  }

  private schedule(key: string, delayMs: number): void {
    const existing = this.timers.get(key) as (NodeJS.Timeout & { dueAt?: number }) | undefined;
    const dueAt = Date.now() + delayMs;
    if (existing && (existing.dueAt ?? 0) <= dueAt) return;
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      void this.run(key);
    }, delayMs) as NodeJS.Timeout & { dueAt?: number };
    timer.dueAt = dueAt;
    timer.unref();
    this.timers.set(key, timer);
  }

  private async run(key: string): Promise<void> {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    let next: number | undefined;
    const done = (async () => {
      try {
        const outcome = await this.reconcile(key);
        this.failures.delete(key);
        next = outcome.requeueAfterMs;
      } catch (err) {
        const failures = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, failures);
        next = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** (failures - 1));
        if (!this.stopped) this.logger.warn({ err, key, failures, retryInMs: next }, 'reconcile failed; retrying');
      }
    })();
    this.running.set(key, done);
    await done;
    this.running.delete(key);
    if (this.dirty.delete(key)) next = 0;
    if (next !== undefined) this.add(key, next);
  }
}
