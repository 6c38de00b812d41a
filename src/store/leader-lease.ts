/**
 * Leader election over the database: one holder of a named lease at a time, renewed well inside its term, taken
 * over by another holder once it expires. Jobs that must not run twice at once across servers sharing one
 * PostgreSQL (the balancer controller and health manager) run only while this server holds their lease.
 */
import type { Logger } from '../lib/logger.js';
import type { Store } from './store.js';

export interface LeaseTerms {
  name: string;
  /** Who asks: unique per server process. */
  holder: string;
  /** How long a granted or renewed lease lasts without renewal. */
  ttlMs: number;
}

/** Grants or renews the lease to `holder` unless another holder's term is still running; true if held now. */
export async function acquireLease(store: Store, terms: LeaseTerms, nowMs = Date.now()): Promise<boolean> {
  return store.write(async (tx) => {
    await tx.lock(`lease:${terms.name}`);
    const row = await tx.db.selectFrom('leases').selectAll().where('name', '=', terms.name).executeTakeFirst();
    const expiresAtMs = nowMs + terms.ttlMs;
    if (!row) {
      await tx.db.insertInto('leases').values({ name: terms.name, holder: terms.holder, expires_at_ms: expiresAtMs, acquired_at: tx.now }).execute();
      return true;
    }
    const mine = row.holder === terms.holder;
    if (!mine && Number(row.expires_at_ms) > nowMs) return false;
    await tx.db
      .updateTable('leases')
      .set({ holder: terms.holder, expires_at_ms: expiresAtMs, ...(mine ? {} : { acquired_at: tx.now }) })
      .where('name', '=', terms.name)
      .execute();
    return true;
  });
}

/** Gives the lease up at once, so that the next holder need not wait for it to expire. */
export async function releaseLease(store: Store, terms: Pick<LeaseTerms, 'name' | 'holder'>): Promise<void> {
  await store.write((tx) => tx.db.deleteFrom('leases').where('name', '=', terms.name).where('holder', '=', terms.holder).execute());
}

export interface LeadershipCallbacks {
  /** This server now holds the lease: start the jobs. */
  elected(): void;
  /** This server no longer holds it (or can no longer be sure it does): stop the jobs before the term ends. */
  deposed(): Promise<void>;
}

/**
 * Tries for the lease every `renewMs`. A leader refused its renewal steps down at once; one that gets no answer
 * (the database is unreachable) steps down once less than one renewal interval of its term is left, so that its jobs
 * stop before any other server can be granted the lease.
 */
export class LeaderElection {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private termEndsMs = 0;
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly terms: LeaseTerms & { renewMs: number },
    private readonly callbacks: LeadershipCallbacks,
    private readonly logger: Logger,
  ) {
    if (terms.renewMs * 2 >= terms.ttlMs) throw new Error(`lease ${terms.name}: renewal every ${terms.renewMs} ms must fit twice in its ${terms.ttlMs} ms term`);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const run = () => {
      this.tick = this.attempt();
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.tick.then(run), this.terms.renewMs);
        this.timer.unref();
      }
    };
    run();
  }

  /** Stops trying; a leader stops its jobs and releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    if (!this.leading) return;
    this.leading = false;
    await this.callbacks.deposed();
    try {
      await releaseLease(this.store, this.terms);
      this.logger.info({ lease: this.terms.name, holder: this.terms.holder }, 'lease released');
    } catch (err) {
      this.logger.warn({ err, lease: this.terms.name }, 'could not release the lease; it will expire');
    }
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const askedAtMs = Date.now();
    let granted: boolean | undefined;
    try {
      granted = await acquireLease(this.store, this.terms, askedAtMs);
    } catch (err) {
      this.logger.warn({ err, lease: this.terms.name }, 'lease renewal failed');
    }
    if (this.stopped) return;
    if (granted) {
      this.termEndsMs = askedAtMs + this.terms.ttlMs;
      if (!this.leading) {
        this.leading = true;
        this.logger.info({ lease: this.terms.name, holder: this.terms.holder }, 'lease acquired; this server leads');
        this.callbacks.elected();
      }
      return;
    }
    // Refused outright, another server holds it; unanswered, the term may still be ours for a while.
    const refused = granted === false;
    if (this.leading && (refused || Date.now() + this.terms.renewMs >= this.termEndsMs)) {
      this.leading = false;
      this.logger.warn({ lease: this.terms.name, holder: this.terms.holder }, 'lease lost; this server steps down');
      await this.callbacks.deposed();
    }
  }
}
