import type { Db } from '../database.js';

// The change log: every write appends here in the same transaction (see store/write.ts).
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('revision_counter')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('revision', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('revision_counter').values({ id: 1, revision: 0 }).execute();
  await db.schema
    .createTable('changes')
    .addColumn('revision', 'bigint', (c) => c.primaryKey())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('body', 'text')
    .addColumn('previous', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}
