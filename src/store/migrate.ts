import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './database.js';
import * as core from './migrations/0001_core.js';
import * as identity from './migrations/0002_identity.js';
import * as network from './migrations/0003_network.js';
import * as hosts from './migrations/0004_hosts.js';
import * as loadbalancer from './migrations/0005_loadbalancer.js';
import * as keyManager from './migrations/0006_key_manager.js';
import * as leases from './migrations/0007_leases.js';
import * as availabilityZones from './migrations/0008_availability_zones.js';

// Migrations are TypeScript modules listed here in order; Kysely records which ran in its own table,
// and takes a lock so that several servers starting at once migrate only once.
const MIGRATIONS: Record<string, Migration> = {
  '0001_core': core,
  '0002_identity': identity,
  '0003_network': network,
  '0004_hosts': hosts,
  '0005_loadbalancer': loadbalancer,
  '0006_key_manager': keyManager,
  '0007_leases': leases,
  '0008_availability_zones': availabilityZones,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export async function migrateToLatest(database: Database): Promise<void> {
  const migrator = new Migrator({ db: database.db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error).message ?? error)}`);
  }
}
