import type { Db } from '../database.js';

// Hosts (hypervisors) and their agents: registration, liveness and where their tunnels end.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('hosts')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('agent_type', 'text', (c) => c.notNull())
    .addColumn('binary', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('tunnel_ip', 'text', (c) => c.notNull())
    .addColumn('provider_interfaces', 'text', (c) => c.notNull())
    .addColumn('alive', 'integer', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}
