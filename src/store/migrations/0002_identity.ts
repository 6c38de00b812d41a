import type { Db } from '../database.js';

// Identity (Keystone v3 subset): domains, projects, users, roles, user-on-project role assignments and tokens.
// Flags are integers 0/1 because SQLite has no boolean type (and better-sqlite3 cannot bind one).
// Timestamps are ISO-8601 UTC strings of fixed width, so they compare correctly as text on both dialects.
export async function up(db: Db): Promise<void> {
  await db.schema
    .createTable('identity_domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('identity_projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('identity_domains.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    // Attributes Keystone accepts beyond its own, kept and returned as given (JSON object).
    .addColumn('extra', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('identity_projects_domain_name', ['domain_id', 'name'])
    .execute();
  await db.schema
    .createTable('identity_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('identity_domains.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    // scrypt with its parameters and per-user salt (see server/identity/passwords.ts); null: cannot log in.
    .addColumn('password_hash', 'text')
    .addColumn('default_project_id', 'text')
    .addColumn('extra', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('identity_users_domain_name', ['domain_id', 'name'])
    .execute();
  await db.schema
    .createTable('identity_roles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('identity_role_assignments')
    .addColumn('user_id', 'text', (c) => c.notNull().references('identity_users.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull().references('identity_projects.id').onDelete('cascade'))
    .addColumn('role_id', 'text', (c) => c.notNull().references('identity_roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('identity_role_assignments_pk', ['user_id', 'project_id', 'role_id'])
    .execute();
  await db.schema.createIndex('identity_role_assignments_project').on('identity_role_assignments').column('project_id').execute();
  await db.schema.createIndex('identity_role_assignments_role').on('identity_role_assignments').column('role_id').execute();
  // Tokens are opaque random strings; only their SHA-256 is stored, so a copy of the database grants nothing.
  await db.schema
    .createTable('identity_tokens')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('identity_users.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.references('identity_projects.id').onDelete('cascade'))
    .addColumn('methods', 'text', (c) => c.notNull())
    .addColumn('audit_ids', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('identity_tokens_expires').on('identity_tokens').column('expires_at').execute();
  await db.schema.createIndex('identity_tokens_user').on('identity_tokens').column('user_id').execute();
}
