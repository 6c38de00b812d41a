/**
 * Each balancer's config revision: the change-log revision of the newest write to the balancer itself or to one
 * of its amphorae. Every API write to a balancer's tree also moves the balancer into a PENDING_* state (a write
 * to the balancer), and every change to what an amphora must know of its peer is a write to an amphora row, so
 * an amphora target built from a read at or after this revision holds every change made so far. Amphora targets
 * carry it as `configRevision`; the controller finishes a pending change once every amphora has applied it.
 *
 * Kept in memory, from one scan of the log at start and then by tailing it (like the feed hub); the value is
 * the same on every server of one database, since it is read from the one log.
 */
import { coalescedRun } from '../../lib/coalesced-run.js';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../lib/logger.js';
import { compactedThrough, readChanges, type LoggedChange } from '../../store/changelog.js';
import type { Store } from '../../store/store.js';

export const BALANCER_RESOURCE = 'loadbalancer';
export const AMPHORA_RESOURCE = 'amphora';
const PAGE = 1000;

/** The balancer a logged change belongs to, when it is a balancer or an amphora. */
export function balancerOfChange(change: Pick<LoggedChange, 'resource' | 'id' | 'body' | 'previous'>): string | undefined {
  if (change.resource === BALANCER_RESOURCE) return change.id;
  if (change.resource !== AMPHORA_RESOURCE) return undefined;
  const object = (change.body ?? change.previous) as { loadbalancer_id?: unknown } | null;
  return typeof object?.loadbalancer_id === 'string' ? object.loadbalancer_id : undefined;
}

export class BalancerConfigRevisions extends EventEmitter<{ changed: [balancerId: string] }> {
  private readonly revisions = new Map<string, number>();
  /** Writes older than the compacted part of the log are not known one by one: every balancer is at least here. */
  private floor = 0;
  private seen = 0;
  private readonly onRevision = () => void this.catchUp();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    await this.store.read(async (db) => {
      this.floor = await compactedThrough(db);
      this.seen = this.floor;
    });
    this.store.revisions.on('revision', this.onRevision);
    await this.catchUp();
  }

  stop(): void {
    this.store.revisions.off('revision', this.onRevision);
  }

  revisionOf(balancerId: string): number {
    return this.revisions.get(balancerId) ?? this.floor;
  }

  /** Reads every change not seen yet; a wake-up during a run causes one more run. */
  readonly catchUp = coalescedRun(
    () => this.readPending(),
    (err) => this.logger.error({ err }, 'balancer config revisions: failed to read the change log'),
  );

  private async readPending(): Promise<void> {
    for (;;) {
      const changes = await this.store.read((db) => readChanges(db, this.seen, PAGE));
      const touched = new Set<string>();
      for (const change of changes) {
        this.seen = change.revision;
        const balancer = balancerOfChange(change);
        if (!balancer) continue;
        this.revisions.set(balancer, change.revision);
        touched.add(balancer);
      }
      for (const balancer of touched) this.emit('changed', balancer);
      if (changes.length < PAGE) return;
    }
  }
}
