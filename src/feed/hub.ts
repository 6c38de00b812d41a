import { coalescedRun } from '../lib/coalesced-run.js';
import type { Logger } from '../lib/logger.js';
import { compactedThrough, currentRevision, readChanges, type LoggedChange } from '../store/changelog.js';
import type { Db } from '../store/database.js';
import type { Store } from '../store/store.js';
import { changesNothingHeld, RelevanceIndex, type TouchedKeys, type TouchMode } from './relevance-index.js';
import type { FeedMessage } from './target-state.js';

/** Where a host's messages go: the stream of one connected agent. */
export interface FeedSink {
  host: string;
  /** Queues messages; returns false when the client fell too far behind and must reconnect (and replay). */
  push(messages: FeedMessage[]): boolean;
  close(): void;
}

/** Reads every object the index needs, as wire objects, inside one transaction. */
export type IndexSource = (db: Db) => Promise<{ resource: string; objects: Record<string, unknown>[] }[]>;

export interface FeedHubOptions {
  /** Who is sent what (default: the Sprut policy). */
  fanOut?: FanOutPolicy;
  /** Log entries read per query (default 1000). */
  pageSize?: number;
}

/**
 * Who is sent what: which keys of which hosts a change touched, and whether a returning agent is sent its whole
 * slice. The feed's own policy is the Sprut one (the index's answer; a replay of only what changed since the
 * agent's revision). Benchmarks swap in other policies built from the same index (e.g. a model of Neutron's).
 */
export interface FanOutPolicy {
  touched(index: RelevanceIndex, change: LoggedChange, connectedHosts: () => Iterable<string>, mode: TouchMode): TouchedKeys;
  /** True when an agent returning at `since` is sent its whole slice although the log still reaches back to it. */
  snapshotOnResume(since: number): boolean;
}

export const SPRUT_FAN_OUT: FanOutPolicy = {
  touched: (index, change, _connected, mode) => index.touched(change, mode),
  snapshotOnResume: () => false,
};

/** An agent waiting to resume from `since`, and the keys the log after `since` touched for its host. */
interface PendingResume {
  sink: FeedSink;
  since: number;
  keys: Set<string>;
  done: { resolve: () => void; reject: (err: unknown) => void };
}

/** Serialises work on the index: one change, one replay or one snapshot at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The server side of the Sprut feed. One per server process: it keeps the relevance index up to date by
 * tailing the change log, and hands each change's consequences to the agents connected here that it concerns,
 * and to no one else.
 */
export class FeedHub {
  readonly index = new RelevanceIndex();
  private readonly sinks = new Map<string, Set<FeedSink>>();
  private readonly mutex = new Mutex();
  private started = false;
  private readonly onRevision = () => void this.catchUp();
  /** Agents waiting to resume, and whether a pass over the log is catching a batch of them up. */
  private waiting: PendingResume[] = [];
  private resuming = false;
  /** Sinks whose attach has not finished; one detached meanwhile is dropped from here and never attached. */
  private readonly attaching = new Set<FeedSink>();

  private readonly fanOut: FanOutPolicy;
  private readonly pageSize: number;

  constructor(
    private readonly store: Store,
    private readonly source: IndexSource,
    private readonly logger: Logger,
    options: FeedHubOptions = {},
  ) {
    this.fanOut = options.fanOut ?? SPRUT_FAN_OUT;
    this.pageSize = options.pageSize ?? 1000;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.mutex.run(async () => {
      const { revision, snapshot } = await this.store.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => ({ revision: await currentRevision(trx), snapshot: await this.source(trx) }));
      for (const { resource, objects } of snapshot) for (const o of objects) this.index.load(resource, o);
      this.index.revision = revision;
    });
    this.store.revisions.on('revision', this.onRevision);
    await this.catchUp();
  }

  stop(): void {
    this.store.revisions.off('revision', this.onRevision);
    for (const set of this.sinks.values()) for (const sink of set) sink.close();
    this.sinks.clear();
  }

  get revision(): number {
    return this.index.revision;
  }

  /** Processes every logged change the index has not seen, in order. Wake-ups during a run cause one more run. */
  private readonly catchUp = coalescedRun(
    () => this.mutex.run(() => this.processPending()),
    (err) => this.logger.error({ err }, 'feed hub failed to process the change log'),
  );

  private async processPending(): Promise<void> {
    for (;;) {
      const changes = await this.store.read((db) => readChanges(db, this.index.revision, this.pageSize));
      if (!changes.length) return;
      const reached = new Set<string>();
      for (const change of changes) {
        this.index.apply(change);
        for (const [host, keys] of this.touched(change, 'live')) {
          const sinks = this.sinks.get(host);
          if (!sinks?.size) continue;
          const messages = this.index.messagesFor(host, keys);
          if (!messages.length) continue;
          this.deliver(host, messages);
          reached.add(host);
        }
      }
      const marker: FeedMessage = { type: 'revision', revision: this.index.revision };
      for (const host of reached) this.deliver(host, [marker]);
      if (changes.length < this.pageSize) return;
    }
  }

  private touched(change: LoggedChange, mode: TouchMode): TouchedKeys {
    return this.fanOut.touched(this.index, change, () => this.sinks.keys(), mode);
  }

  private deliver(host: string, messages: FeedMessage[]): void {
    for (const sink of this.sinks.get(host) ?? []) {
      if (!sink.push(messages)) this.detach(sink);
    }
  }

  /**
   * Attaches an agent's stream: a snapshot of the host's slice when it has nothing (`since` 0) or when the log no
   * longer reaches back to `since`; otherwise only what changed for it since then. Live changes follow.
   * Resumes wait to be batched: every agent waiting is caught up by one pass over the log (see `drainResumes`).
   */
  async attach(sink: FeedSink, since: number): Promise<void> {
    this.attaching.add(sink);
    if (since <= 0 || this.fanOut.snapshotOnResume(since)) {
      await this.mutex.run(async () => this.attachWithSnapshot(sink));
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ sink, since, keys: new Set(), done: { resolve, reject } });
      void this.drainResumes();
    });
  }

  detach(sink: FeedSink): void {
    this.sinks.get(sink.host)?.delete(sink);
    this.attaching.delete(sink);
    sink.close();
  }

  /** Everything the host must hold now. */
  snapshot(host: string): FeedMessage[] {
    const info = this.index.hostInfo(host) ?? { name: host, tunnelIp: '', providerInterfaces: {} };
    const revision = this.index.revision;
    return [{ type: 'snapshot_begin', revision, host: info }, ...this.index.slice(host), { type: 'snapshot_end', revision }];
  }

  private attachWithSnapshot(sink: FeedSink): void {
    sink.push(this.snapshot(sink.host));
    this.addSink(sink);
  }

  private addSink(sink: FeedSink): void {
    if (!this.attaching.delete(sink)) return;
    let set = this.sinks.get(sink.host);
    if (!set) this.sinks.set(sink.host, (set = new Set()));
    set.add(sink);
  }

  /**
   * Catches up every waiting agent with one pass over the log suffix, however many there are: each change is
   * read once and judged once, and its keys are collected for every waiting host it touched.
   * Agents arriving during a pass wait for the next one.
   */
  private async drainResumes(): Promise<void> {
    if (this.resuming) return;
    this.resuming = true;
    try {
      // Agents whose requests arrived together join one batch.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.waiting.length) {
        const batch = this.waiting.splice(0);
        try {
          await this.resume(batch);
        } catch (err) {
          for (const r of batch) r.done.reject(err);
        }
      }
    } finally {
      this.resuming = false;
    }
  }

  /**
   * Reading the log (the slow part: queries and JSON) runs off the mutex while live changes keep flowing, and
   * keeps only changes that could touch something a host holds. Judging them waits for the mutex: a replay is
   * exact only against one index, the one whose messages are sent (judged against an index the pass overtook, a
   * port leaving a network could miss a host that rejoins it later in the log). Under the mutex the tail the
   * index reached meanwhile is read, everything is judged, sent, and the streams attach, so no change falls
   * between the replay and the live stream.
   */
  private async resume(batch: PendingResume[]): Promise<void> {
    const compacted = await this.store.read((db) => compactedThrough(db));
    const replays = new Map<string, PendingResume[]>();
    for (const r of batch) {
      if (r.since < compacted) continue;
      let list = replays.get(r.sink.host);
      if (!list) replays.set(r.sink.host, (list = []));
      list.push(r);
    }
    const read: LoggedChange[] = [];
    const pass = await this.readRelevant(Math.min(...[...replays.values()].flat().map((r) => r.since)), read);
    await this.mutex.run(async () => {
      const { complete } = pass.complete ? await this.readRelevant(pass.cursor, read) : pass;
      if (complete) this.judgeReplay(read, replays);
      for (const r of batch) {
        if (!this.attaching.has(r.sink)) continue;
        if (complete && r.since >= compacted) {
          r.sink.push([...this.index.messagesFor(r.sink.host, r.keys), { type: 'revision', revision: this.index.revision }]);
          this.addSink(r.sink);
        } else {
          // The log was compacted past `since` (before or during the pass): only a snapshot is exact now.
          this.attachWithSnapshot(r.sink);
        }
      }
    });
    for (const r of batch) r.done.resolve();
  }

  /**
   * Reads the log after `cursor` up to the index's revision (later changes are not the index's yet: live
   * processing sends them), keeping the changes that could touch a host. `complete` is false when the log was
   * compacted past the cursor, so entries the pass needed are gone.
   */
  private async readRelevant(cursor: number, into: LoggedChange[]): Promise<{ cursor: number; complete: boolean }> {
    while (cursor < this.index.revision) {
      const { changes, compacted } = await this.store.read(async (db) => {
        const page = await readChanges(db, cursor, this.pageSize);
        // Read after the page: the mark only moves forward, so one still at or below the cursor means the page began right after it.
        return { changes: page, compacted: await compactedThrough(db) };
      });
      if (compacted > cursor) return { cursor, complete: false };
      if (!changes.length) break;
      for (const change of changes) {
        if (change.revision > this.index.revision) break;
        if (!changesNothingHeld(change)) into.push(change);
        cursor = change.revision;
      }
    }
    return { cursor, complete: true };
  }

  /** Adds each change's keys to the waiting hosts it touched that were behind it. Runs under the mutex. */
  private judgeReplay(changes: LoggedChange[], replays: Map<string, PendingResume[]>): void {
    for (const change of changes) {
      for (const [host, keys] of this.touched(change, 'replay')) {
        for (const r of replays.get(host) ?? []) if (r.since < change.revision) for (const key of keys) r.keys.add(key);
      }
    }
  }

  connectedHosts(): string[] {
    return [...this.sinks.entries()].filter(([, s]) => s.size > 0).map(([h]) => h);
  }
}
