import type { Db } from '../database.js';

// The key manager (Barbican's model): secrets with their payload sealed by the server's key-encryption key,
// containers naming secrets, and read ACLs on both. Secrets and containers keep their project and creator, which
// is what Barbican's policies decide on.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('key_manager_secrets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('creator_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('secret_type', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text')
    .addColumn('bit_length', 'integer')
    .addColumn('mode', 'text')
    .addColumn('expiration', 'text')
    // Set together once the payload is stored: its normalized media type, the id of the key that sealed it, the
    // sealed bytes (AES-256-GCM, see src/server/key-manager/crypto.ts).
    .addColumn('content_type', 'text')
    .addColumn('kek_id', 'text')
    .addColumn('sealed_payload', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('key_manager_secrets_project').on('key_manager_secrets').columns(['project_id', 'created_at']).execute();

  await db.schema
    .createTable('key_manager_containers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('creator_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('key_manager_containers_project').on('key_manager_containers').columns(['project_id', 'created_at']).execute();

  // A container keeps naming a secret that is deleted later, as Barbican's does; reading it then fails clearly.
  await db.schema
    .createTable('key_manager_container_secrets')
    .addColumn('container_id', 'text', (c) => c.notNull().references('key_manager_containers.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('secret_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('key_manager_container_secrets_pk', ['container_id', 'position'])
    .execute();

  // One row per entity and operation (Barbican defines only 'read'); no row means the default ACL.
  await db.schema
    .createTable('key_manager_acls')
    .addColumn('entity_type', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('project_access', 'integer', (c) => c.notNull())
    .addColumn('users', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('key_manager_acls_pk', ['entity_type', 'entity_id', 'operation'])
    .execute();

  // The id of the key-encryption key this database's payloads are sealed with, so that a server started with
  // another key refuses to start instead of failing on every read.
  await db.schema
    .createTable('key_manager_kek')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('kek_id', 'text', (c) => c.notNull())
    .execute();
}
