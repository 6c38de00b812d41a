import type { Logger } from '../lib/logger.js';
import { compactedThrough, currentRevision, readChanges, type LoggedChange } from '../store/changelog.js';
import type { Db } from '../store/database.js';
import type { Store } from '../store/store.js';
import { RelevanceIndex, type TouchedKeys, type TouchMode } from './relevance-index.js';
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

const PAGE = 1000;

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
  private catchingUp = false;
  private again = false;
  private started = false;
  private readonly onRevision = () => void this.catchUp();

  constructor(
    private readonly store: Store,
    private readonly source: IndexSource,
    private readonly logger: Logger,
    private readonly fanOut: FanOutPolicy = SPRUT_FAN_OUT,
  ) {}

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
  private async catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.again = true;
      return;
    }
    this.catchingUp = true;
    try {
      do {
        this.again = false;
        await this.mutex.run(() => this.processPending());
      } while (this.again);
    } catch (err) {
      this.logger.error({ err }, 'feed hub failed to process the change log');
    } finally {
      this.catchingUp = false;
    }
  }

  private async processPending(): Promise<void> {
    for (;;) {
      const changes = await this.store.read((db) => readChanges(db, this.index.revision, PAGE));
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
      if (changes.length < PAGE) return;
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
   */
  async attach(sink: FeedSink, since: number): Promise<void> {
    await this.mutex.run(async () => {
      const compacted = await this.store.read((db) => compactedThrough(db));
      if (since <= 0 || since < compacted || this.fanOut.snapshotOnResume(since)) {
        sink.push(this.snapshot(sink.host));
      } else {
        sink.push([...(await this.replay(sink.host, since)), { type: 'revision', revision: this.index.revision }]);
      }
      let set = this.sinks.get(sink.host);
      if (!set) this.sinks.set(sink.host, (set = new Set()));
      set.add(sink);
    });
  }

  detach(sink: FeedSink): void {
    this.sinks.get(sink.host)?.delete(sink);
    sink.close();
  }

  /** Everything the host must hold now. */
  snapshot(host: string): FeedMessage[] {
    const info = this.index.hostInfo(host) ?? { name: host, tunnelIp: '', providerInterfaces: {} };
    const revision = this.index.revision;
    return [{ type: 'snapshot_begin', revision, host: info }, ...this.index.slice(host), { type: 'snapshot_end', revision }];
  }

  /** The current values of every key the changes after `since` touched for this host. */
  private async replay(host: string, since: number): Promise<FeedMessage[]> {
    const keys = new Set<string>();
    // Changes committed after the index's revision are not the index's yet: live processing sends them.
    pages: for (let cursor = since; cursor < this.index.revision; ) {
      const changes = await this.store.read((db) => readChanges(db, cursor, PAGE));
      for (const change of changes) {
        if (change.revision > this.index.revision) break pages;
        for (const key of this.touched(change, 'replay').get(host) ?? []) keys.add(key);
        cursor = change.revision;
      }
      if (changes.length < PAGE) break;
    }
    return this.index.messagesFor(host, keys);
  }

  connectedHosts(): string[] {
    return [...this.sinks.entries()].filter(([, s]) => s.size > 0).map(([h]) => h);
  }
}
