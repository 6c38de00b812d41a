import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type DialectName = 'sqlite' | 'postgres';

// Tables are addressed by name from the resource definitions, so the query builder is untyped here;
// each repository owns the shape of the rows it reads and writes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = Kysely<any>;

export interface Database {
  db: Db;
  dialect: DialectName;
  url: string;
  close(): Promise<void>;
}

// PostgreSQL returns int8 as strings to protect precision; our revisions stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export async function openDatabase(url: string): Promise<Database> {
  if (url.startsWith('sqlite:')) return openSqlite(url);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url);
  throw new Error(`unsupported database URL '${url}': use sqlite:PATH or postgres://…`);
}

function openSqlite(url: string): Database {
  const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new BetterSqlite3(path);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  const db = new Kysely({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return { db, dialect: 'sqlite', url, close: () => db.destroy() };
}

// Kysely prepares every statement anew; preparing costs as much as running a small insert,
// so statements are kept by their SQL text. Kysely's single-connection mutex means no statement
// is ever in use twice at once.
function withStatementCache(raw: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const MAX = 2000;
  return new Proxy(raw, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (text: string) => {
          let stmt = cache.get(text);
          if (!stmt) {
            if (cache.size >= MAX) cache.clear();
            stmt = target.prepare(text);
            cache.set(text, stmt);
          }
          return stmt;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.CLOUDNET_PG_POOL ?? 20) });
  // An idle client whose connection the server ended (a restart, an administrator, a dropped database) has
  // already been discarded by the pool, and the next query opens a new one; without a listener the pool's
  // 'error' event would instead crash the process.
  pool.on('error', () => undefined);
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  await sql`select 1`.execute(db);
  return { db, dialect: 'postgres', url, close: () => db.destroy() };
}
