import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import pg from 'pg';
import type { Database, Db, DialectName } from './database.js';
import { appendChanges, type Change } from './changelog.js';
import { migrateToLatest } from './migrate.js';

/** Thrown inside a write to ask for the whole transaction to run again (e.g. a lost race for a unique value). */
export class RetryableWriteConflict extends Error {}

export interface WriteTx {
  db: Db;
  dialect: DialectName;
  /** The time of this write, the same for every object it touches. */
  now: string;
  /** Records a change to be appended to the log in this transaction. */
  record(change: Change): void;
  /** Serialises writers that take the same key until this transaction ends (a no-op on SQLite, which has one writer). */
  lock(key: string): Promise<void>;
}

export interface StoreOptions {
  /** Called with the time each transaction took, for metrics. */
  observe?: (operation: 'read' | 'write', seconds: number) => void;
}

const NOTIFY_CHANNEL = 'cloudnet_changes';
const PG_RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 8;

/**
 * The one door to the database. Every write runs in a transaction that also appends its changes to the log;
 * after commit, `revisions` emits the newest revision so that streams wake up (in this process directly, in
 * other servers on the same PostgreSQL through LISTEN/NOTIFY).
 */
export class Store {
  readonly revisions = new EventEmitter();
  private listener: pg.Client | undefined;

  private constructor(
    readonly database: Database,
    private readonly options: StoreOptions,
  ) {
    this.revisions.setMaxListeners(0);
  }

  static async open(database: Database, options: StoreOptions = {}): Promise<Store> {
    await migrateToLatest(database);
    const store = new Store(database, options);
    if (database.dialect === 'postgres') await store.listenForOtherServers();
    return store;
  }

  get db(): Db {
    return this.database.db;
  }

  get dialect(): DialectName {
    return this.database.dialect;
  }

  async read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn(this.database.db);
    } finally {
      this.options.observe?.('read', (performance.now() - started) / 1000);
    }
  }

  async write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const { result, revision } = await this.writeOnce(fn);
        if (revision > 0) this.revisions.emit('revision', revision);
        return result;
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      } finally {
        this.options.observe?.('write', (performance.now() - started) / 1000);
      }
    }
  }

  private async writeOnce<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ result: T; revision: number }> {
    const dialect = this.database.dialect;
    return this.database.db.transaction().execute(async (trx) => {
      const changes: Change[] = [];
      const tx: WriteTx = {
        db: trx,
        dialect,
        now: isoNow(),
        record: (change) => changes.push(change),
        lock: async (key) => {
          if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
        },
      };
      const result = await fn(tx);
      if (changes.length === 0) return { result, revision: 0 };
      const revision = await appendChanges(trx, changes, tx.now);
      if (dialect === 'postgres') await sql`select pg_notify(${NOTIFY_CHANNEL}, ${String(revision)})`.execute(trx);
      return { result, revision };
    });
  }

  private async listenForOtherServers(): Promise<void> {
    const client = new pg.Client({ connectionString: this.database.url });
    await client.connect();
    client.on('notification', (msg) => {
      if (msg.channel === NOTIFY_CHANNEL && msg.payload) this.revisions.emit('revision', Number(msg.payload));
    });
    // A dead listener would silently stall every stream; make it loud instead.
    client.on('error', (err) => this.revisions.emit('error', err));
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    this.listener = client;
  }

  async close(): Promise<void> {
    await this.listener?.end().catch(() => undefined);
    await this.database.close();
  }
}

/** Neutron's timestamp format: seconds precision, UTC, with a Z. */
export function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableWriteConflict) return true;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && PG_RETRYABLE.has(code);
}
