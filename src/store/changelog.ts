import { sql } from 'kysely';
import type { Db } from './database.js';

export type ChangeAction = 'create' | 'update' | 'delete';

/**
 * One entry of the change log: the state of one object after a write (null body for a delete) and before it
 * (null for a create). With both, a reader can tell what a change did without any other history, e.g. which
 * host a port left.
 */
export interface Change {
  resource: string;
  id: string;
  projectId: string | null;
  action: ChangeAction;
  body: unknown;
  previous?: unknown;
}

export interface LoggedChange extends Change {
  revision: number;
  createdAt: string;
}

interface ChangeRow {
  revision: number;
  resource: string;
  resource_id: string;
  project_id: string | null;
  action: ChangeAction;
  body: string | null;
  previous: string | null;
  created_at: string;
}

/**
 * Takes `count` revisions from the global counter. On PostgreSQL the row lock taken by this UPDATE is held
 * until commit, so writers commit in revision order and a reader never sees revision N+1 before N.
 * Callers do this as the last statement of the transaction to hold that lock as briefly as possible.
 */
export async function allocateRevisions(db: Db, count: number): Promise<number> {
  const row = await db
    .updateTable('revision_counter')
    .set({ revision: sql`revision + ${count}` })
    .where('id', '=', 1)
    .returning('revision')
    .executeTakeFirstOrThrow();
  return Number(row.revision) - count + 1;
}

export async function appendChanges(db: Db, changes: Change[], now: string): Promise<number> {
  const first = await allocateRevisions(db, changes.length);
  const rows: ChangeRow[] = changes.map((c, i) => ({
    revision: first + i,
    resource: c.resource,
    resource_id: c.id,
    project_id: c.projectId,
    action: c.action,
    body: toJson(c.body),
    previous: toJson(c.previous),
    created_at: now,
  }));
  // SQLite limits bound parameters per statement; 8 columns x 100 rows stays well inside it.
  for (let i = 0; i < rows.length; i += 100) {
    await db.insertInto('changes').values(rows.slice(i, i + 100)).execute();
  }
  return first + changes.length - 1;
}

const toJson = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export async function currentRevision(db: Db): Promise<number> {
  const row = await db.selectFrom('revision_counter').select('revision').where('id', '=', 1).executeTakeFirstOrThrow();
  return Number(row.revision);
}

/** Revisions at or below this were compacted away; a reader behind it needs a snapshot. */
export async function compactedThrough(db: Db): Promise<number> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', 'changes_compacted_through').executeTakeFirst();
  return row ? Number(row.value) : 0;
}

export async function readChanges(db: Db, since: number, limit: number): Promise<LoggedChange[]> {
  const rows = (await db
    .selectFrom('changes')
    .selectAll()
    .where('revision', '>', since)
    .orderBy('revision')
    .limit(limit)
    .execute()) as ChangeRow[];
  return rows.map((r) => ({
    revision: Number(r.revision),
    resource: r.resource,
    id: r.resource_id,
    projectId: r.project_id,
    action: r.action,
    body: r.body === null ? null : JSON.parse(r.body),
    previous: r.previous === null ? null : JSON.parse(r.previous),
    createdAt: r.created_at,
  }));
}

/** Drops log entries at or below `through`, remembering the mark so readers behind it are sent a snapshot. */
export async function compactChanges(db: Db, through: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('changes').where('revision', '<=', through).execute();
    const existing = await compactedThrough(tx);
    const mark = String(Math.max(existing, through));
    await tx
      .insertInto('meta')
      .values({ key: 'changes_compacted_through', value: mark })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: mark }))
      .execute();
  });
}
