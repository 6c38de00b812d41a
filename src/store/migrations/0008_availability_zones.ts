import type { Db } from '../database.js';

// Octavia's availability zone profiles (provider data, admin only) and availability zones (what a balancer names).
// A zone is known by its name; its row's `id` holds the name too, so that it is keyed like every other LB object.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('lb_availability_zone_profiles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('provider_name', 'text', (c) => c.notNull())
    .addColumn('availability_zone_data', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('lb_availability_zones')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('availability_zone_profile_id', 'text', (c) => c.notNull().references('lb_availability_zone_profiles.id'))
    .execute();
}
