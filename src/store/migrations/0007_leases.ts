import type { Db } from '../database.js';

// Named leases: which server holds a job that only one server may run at a time (the balancer controller and
// health manager), until when. Expiry is epoch milliseconds of the holder's clock, as Kubernetes' Lease objects.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('acquired_at', 'text', (c) => c.notNull())
    .execute();
}

