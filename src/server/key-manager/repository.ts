import { sql } from 'kysely';
import type { Db } from '../../store/database.js';

// Table access for the key manager. Each function takes the Kysely handle to run on (the store's, or a write
// transaction's).

export interface SecretRow {
  id: string;
  project_id: string;
  creator_id: string;
  name: string | null;
  secret_type: string;
  algorithm: string | null;
  bit_length: number | null;
  mode: string | null;
  expiration: string | null;
  content_type: string | null;
  kek_id: string | null;
  sealed_payload: string | null;
  created_at: string;
  updated_at: string;
}

export interface ContainerRow {
  id: string;
  project_id: string;
  creator_id: string;
  name: string | null;
  type: string;
  created_at: string;
  updated_at: string;
}

export interface ContainerSecretRow {
  container_id: string;
  position: number;
  name: string | null;
  secret_id: string;
}

export type EntityType = 'secret' | 'container';

export interface AclRow {
  entity_type: EntityType;
  entity_id: string;
  operation: string;
  project_access: number;
  users: string;
  created_at: string;
  updated_at: string;
}

export interface ListFilter {
  projectId: string;
  now: string;
  offset: number;
  limit: number;
  equals: Record<string, string | number>;
}

const SECRETS = 'key_manager_secrets';
const CONTAINERS = 'key_manager_containers';

/** Barbican hides a secret once it has expired: gone from lists and reads alike. */
const unexpired = (now: string) => sql<boolean>`(expiration is null or expiration > ${now})`;

export async function getSecret(db: Db, id: string, now: string): Promise<SecretRow | undefined> {
  return (await db.selectFrom(SECRETS).selectAll().where('id', '=', id).where(unexpired(now)).executeTakeFirst()) as SecretRow | undefined;
}

export async function getSecrets(db: Db, ids: string[]): Promise<SecretRow[]> {
  if (ids.length === 0) return [];
  return (await db.selectFrom(SECRETS).selectAll().where('id', 'in', ids).execute()) as SecretRow[];
}

export async function insertSecret(db: Db, row: SecretRow): Promise<void> {
  await db.insertInto(SECRETS).values(row).execute();
}

/** Stores the payload of a secret that has none; false if one got there first. */
export async function setSecretPayload(db: Db, id: string, payload: Pick<SecretRow, 'content_type' | 'kek_id' | 'sealed_payload' | 'updated_at'>): Promise<boolean> {
  const result = await db.updateTable(SECRETS).set(payload).where('id', '=', id).where('sealed_payload', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteSecret(db: Db, id: string): Promise<void> {
  await db.deleteFrom('key_manager_acls').where('entity_type', '=', 'secret').where('entity_id', '=', id).execute();
  await db.deleteFrom(SECRETS).where('id', '=', id).execute();
}

/** One page of a project's objects, oldest first as Barbican lists them, and how many match in all. */
export async function listPage<R>(db: Db, table: typeof SECRETS | typeof CONTAINERS, filter: ListFilter): Promise<{ rows: R[]; total: number }> {
  let q = db.selectFrom(table).where('project_id', '=', filter.projectId);
  if (table === SECRETS) q = q.where(unexpired(filter.now));
  for (const [column, value] of Object.entries(filter.equals)) q = q.where(column, '=', value);
  const counted = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const rows = await q.selectAll().orderBy('created_at').orderBy('id').offset(filter.offset).limit(filter.limit).execute();
  return { rows: rows as R[], total: Number(counted.total) };
}

export const listSecrets = (db: Db, filter: ListFilter) => listPage<SecretRow>(db, SECRETS, filter);
export const listContainers = (db: Db, filter: ListFilter) => listPage<ContainerRow>(db, CONTAINERS, filter);

export async function getContainer(db: Db, id: string): Promise<ContainerRow | undefined> {
  return (await db.selectFrom(CONTAINERS).selectAll().where('id', '=', id).executeTakeFirst()) as ContainerRow | undefined;
}

export async function insertContainer(db: Db, row: ContainerRow, secrets: Array<{ name: string | null; secretId: string }>): Promise<void> {
  await db.insertInto(CONTAINERS).values(row).execute();
  if (secrets.length === 0) return;
  await db
    .insertInto('key_manager_container_secrets')
    .values(secrets.map((s, position) => ({ container_id: row.id, position, name: s.name, secret_id: s.secretId })))
    .execute();
}

/** The secrets each container names, in the order given at creation. */
export async function containerSecrets(db: Db, containerIds: string[]): Promise<Map<string, ContainerSecretRow[]>> {
  const out = new Map<string, ContainerSecretRow[]>(containerIds.map((id) => [id, []]));
  if (containerIds.length === 0) return out;
  const rows = (await db
    .selectFrom('key_manager_container_secrets')
    .selectAll()
    .where('container_id', 'in', containerIds)
    .orderBy('container_id')
    .orderBy('position')
    .execute()) as ContainerSecretRow[];
  for (const row of rows) out.get(row.container_id)!.push(row);
  return out;
}

export async function deleteContainer(db: Db, id: string): Promise<void> {
  await db.deleteFrom('key_manager_acls').where('entity_type', '=', 'container').where('entity_id', '=', id).execute();
  await db.deleteFrom(CONTAINERS).where('id', '=', id).execute();
}

export async function getReadAcl(db: Db, type: EntityType, id: string): Promise<AclRow | undefined> {
  return (await db
    .selectFrom('key_manager_acls')
    .selectAll()
    .where('entity_type', '=', type)
    .where('entity_id', '=', id)
    .where('operation', '=', 'read')
    .executeTakeFirst()) as AclRow | undefined;
}

export async function getReadAcls(db: Db, type: EntityType, ids: string[]): Promise<Map<string, AclRow>> {
  if (ids.length === 0) return new Map();
  const rows = (await db
    .selectFrom('key_manager_acls')
    .selectAll()
    .where('entity_type', '=', type)
    .where('entity_id', 'in', ids)
    .where('operation', '=', 'read')
    .execute()) as AclRow[];
  return new Map(rows.map((r) => [r.entity_id, r]));
}

export async function putReadAcl(db: Db, row: AclRow): Promise<void> {
  await db
    .insertInto('key_manager_acls')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['entity_type', 'entity_id', 'operation']).doUpdateSet({ project_access: row.project_access, users: row.users, updated_at: row.updated_at }),
    )
    .execute();
}

export async function deleteAcls(db: Db, type: EntityType, id: string): Promise<void> {
  await db.deleteFrom('key_manager_acls').where('entity_type', '=', type).where('entity_id', '=', id).execute();
}

/** Records the KEK id on first use and answers the one recorded. */
export async function recordedKekId(db: Db, kekId: string): Promise<string> {
  await db.insertInto('key_manager_kek').values({ id: 1, kek_id: kekId }).onConflict((oc) => oc.column('id').doNothing()).execute();
  const row = await db.selectFrom('key_manager_kek').select('kek_id').where('id', '=', 1).executeTakeFirstOrThrow();
  return row.kek_id as string;
}
