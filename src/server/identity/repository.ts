import type { Db } from '../../store/database.js';
import type { Domain, NamedRef, Project, Role, TokenRecord, User } from './model.js';
import { impliedRoleNames } from './roles.js';

// Table access for identity objects. Each function takes the Kysely handle to run on (the store's, or a write
// transaction's) and translates between rows and the model.

interface DomainRow {
  id: string;
  name: string;
  description: string;
  enabled: number;
}

interface ProjectRow {
  id: string;
  domain_id: string;
  name: string;
  description: string;
  enabled: number;
  extra: string;
  created_at: string;
}

interface UserRow {
  id: string;
  domain_id: string;
  name: string;
  enabled: number;
  password_hash: string | null;
  default_project_id: string | null;
  extra: string;
  created_at: string;
}

const toDomain = (r: DomainRow): Domain => ({ id: r.id, name: r.name, description: r.description, enabled: Boolean(r.enabled) });

const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  domainId: r.domain_id,
  name: r.name,
  description: r.description,
  enabled: Boolean(r.enabled),
  extra: JSON.parse(r.extra) as Record<string, unknown>,
});

const toUser = (r: UserRow): User => ({
  id: r.id,
  domainId: r.domain_id,
  name: r.name,
  enabled: Boolean(r.enabled),
  passwordHash: r.password_hash,
  defaultProjectId: r.default_project_id,
  extra: JSON.parse(r.extra) as Record<string, unknown>,
});

// ---- domains

export async function getDomain(db: Db, id: string): Promise<Domain | undefined> {
  const row = (await db.selectFrom('identity_domains').selectAll().where('id', '=', id).executeTakeFirst()) as DomainRow | undefined;
  return row && toDomain(row);
}

export async function findDomainByName(db: Db, name: string): Promise<Domain | undefined> {
  const row = (await db.selectFrom('identity_domains').selectAll().where('name', '=', name).executeTakeFirst()) as DomainRow | undefined;
  return row && toDomain(row);
}

export async function insertDomain(db: Db, domain: Domain): Promise<void> {
  await db
    .insertInto('identity_domains')
    .values({ id: domain.id, name: domain.name, description: domain.description, enabled: domain.enabled ? 1 : 0 })
    .execute();
}

// ---- projects

export async function getProject(db: Db, id: string): Promise<Project | undefined> {
  const row = (await db.selectFrom('identity_projects').selectAll().where('id', '=', id).executeTakeFirst()) as ProjectRow | undefined;
  return row && toProject(row);
}

export async function findProjectByName(db: Db, domainId: string, name: string): Promise<Project | undefined> {
  const row = (await db
    .selectFrom('identity_projects')
    .selectAll()
    .where('domain_id', '=', domainId)
    .where('name', '=', name)
    .executeTakeFirst()) as ProjectRow | undefined;
  return row && toProject(row);
}

export async function insertProject(db: Db, project: Project, now: string): Promise<void> {
  await db
    .insertInto('identity_projects')
    .values({
      id: project.id,
      domain_id: project.domainId,
      name: project.name,
      description: project.description,
      enabled: project.enabled ? 1 : 0,
      extra: JSON.stringify(project.extra),
      created_at: now,
    })
    .execute();
}

// ---- users

export async function getUser(db: Db, id: string): Promise<User | undefined> {
  const row = (await db.selectFrom('identity_users').selectAll().where('id', '=', id).executeTakeFirst()) as UserRow | undefined;
  return row && toUser(row);
}

export async function findUserByName(db: Db, domainId: string, name: string): Promise<User | undefined> {
  const row = (await db
    .selectFrom('identity_users')
    .selectAll()
    .where('domain_id', '=', domainId)
    .where('name', '=', name)
    .executeTakeFirst()) as UserRow | undefined;
  return row && toUser(row);
}

export async function insertUser(db: Db, user: User, now: string): Promise<void> {
  await db
    .insertInto('identity_users')
    .values({
      id: user.id,
      domain_id: user.domainId,
      name: user.name,
      enabled: user.enabled ? 1 : 0,
      password_hash: user.passwordHash,
      default_project_id: user.defaultProjectId,
      extra: JSON.stringify(user.extra),
      created_at: now,
    })
    .execute();
}

export async function setPasswordHash(db: Db, userId: string, passwordHash: string): Promise<void> {
  await db.updateTable('identity_users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
}

// ---- roles and assignments

export async function findRoleByName(db: Db, name: string): Promise<Role | undefined> {
  return (await db.selectFrom('identity_roles').selectAll().where('name', '=', name).executeTakeFirst()) as Role | undefined;
}

export async function insertRole(db: Db, role: Role): Promise<void> {
  await db.insertInto('identity_roles').values({ id: role.id, name: role.name, description: role.description }).execute();
}

/** Grants a role; granting one the user already holds changes nothing. */
export async function grantRole(db: Db, userId: string, projectId: string, roleId: string): Promise<void> {
  await db
    .insertInto('identity_role_assignments')
    .values({ user_id: userId, project_id: projectId, role_id: roleId })
    .onConflict((oc) => oc.columns(['user_id', 'project_id', 'role_id']).doNothing())
    .execute();
}

export async function rolesOnProject(db: Db, userId: string, projectId: string): Promise<Role[]> {
  return (await db
    .selectFrom('identity_role_assignments as ra')
    .innerJoin('identity_roles as r', 'r.id', 'ra.role_id')
    .select(['r.id', 'r.name', 'r.description'])
    .where('ra.user_id', '=', userId)
    .where('ra.project_id', '=', projectId)
    .orderBy('r.name')
    .execute()) as Role[];
}

// ---- tokens

export interface NewToken {
  idHash: string;
  userId: string;
  projectId: string | null;
  methods: string[];
  auditIds: string[];
  issuedAt: string;
  expiresAt: string;
}

export async function insertToken(db: Db, token: NewToken): Promise<void> {
  await db
    .insertInto('identity_tokens')
    .values({
      id_hash: token.idHash,
      user_id: token.userId,
      project_id: token.projectId,
      methods: JSON.stringify(token.methods),
      audit_ids: JSON.stringify(token.auditIds),
      issued_at: token.issuedAt,
      expires_at: token.expiresAt,
      revoked_at: null,
    })
    .execute();
}

/** Marks a token revoked; false when no such token is stored. */
export async function revokeToken(db: Db, idHash: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('identity_tokens')
    .set({ revoked_at: now })
    .where('id_hash', '=', idHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Forgets tokens that expired before `before`; an expired token is refused whether or not its row remains. */
export async function deleteExpiredTokens(db: Db, before: string): Promise<void> {
  await db.deleteFrom('identity_tokens').where('expires_at', '<', before).execute();
}

interface TokenJoinRow {
  user_id: string;
  project_id: string | null;
  methods: string;
  audit_ids: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
  user_name: string;
  user_enabled: number;
  user_domain_id: string;
  user_domain_name: string;
  project_name: string | null;
  project_enabled: number | null;
  project_domain_id: string | null;
  project_domain_name: string | null;
  role_id: string | null;
  role_name: string | null;
}

async function rolesNamed(db: Db, names: string[]): Promise<NamedRef[]> {
  if (names.length === 0) return [];
  return (await db.selectFrom('identity_roles').select(['id', 'name']).where('name', 'in', names).execute()) as NamedRef[];
}

/**
 * A token with its user, project and the user's current roles on that project (with the roles they imply), in one round trip (one row per
 * role). Whether it is still good is decided by `tokenProblem`.
 */
export async function lookupToken(db: Db, idHash: string): Promise<TokenRecord | undefined> {
  const rows = (await db
    .selectFrom('identity_tokens as t')
    .innerJoin('identity_users as u', 'u.id', 't.user_id')
    .innerJoin('identity_domains as ud', 'ud.id', 'u.domain_id')
    .leftJoin('identity_projects as p', 'p.id', 't.project_id')
    .leftJoin('identity_domains as pd', 'pd.id', 'p.domain_id')
    .leftJoin('identity_role_assignments as ra', (join) =>
      join.onRef('ra.user_id', '=', 't.user_id').onRef('ra.project_id', '=', 't.project_id'),
    )
    .leftJoin('identity_roles as r', 'r.id', 'ra.role_id')
    .select([
      't.user_id',
      't.project_id',
      't.methods',
      't.audit_ids',
      't.issued_at',
      't.expires_at',
      't.revoked_at',
      'u.name as user_name',
      'u.enabled as user_enabled',
      'ud.id as user_domain_id',
      'ud.name as user_domain_name',
      'p.name as project_name',
      'p.enabled as project_enabled',
      'pd.id as project_domain_id',
      'pd.name as project_domain_name',
      'r.id as role_id',
      'r.name as role_name',
    ])
    .where('t.id_hash', '=', idHash)
    .orderBy('r.name')
    .execute()) as TokenJoinRow[];
  const first = rows[0];
  if (!first) return undefined;
  const held: NamedRef[] = rows.flatMap((r) => (r.role_id && r.role_name ? [{ id: r.role_id, name: r.role_name }] : []));
  const roles = [...held, ...(await rolesNamed(db, impliedRoleNames(held.map((r) => r.name))))].sort((x, y) =>
    x.name < y.name ? -1 : x.name > y.name ? 1 : 0,
  );
  return {
    user: {
      id: first.user_id,
      name: first.user_name,
      enabled: Boolean(first.user_enabled),
      domain: { id: first.user_domain_id, name: first.user_domain_name },
    },
    project:
      first.project_id && first.project_name !== null
        ? {
            id: first.project_id,
            name: first.project_name,
            enabled: Boolean(first.project_enabled),
            domain: { id: first.project_domain_id ?? '', name: first.project_domain_name ?? '' },
          }
        : null,
    roles,
    methods: JSON.parse(first.methods) as string[],
    auditIds: JSON.parse(first.audit_ids) as string[],
    issuedAt: first.issued_at,
    expiresAt: first.expires_at,
    revokedAt: first.revoked_at,
  };
}

// ---- listing, changing and removing (admin CRUD)

export async function listDomains(db: Db, filter: { name?: string; enabled?: boolean }): Promise<Domain[]> {
  let q = db.selectFrom('identity_domains').selectAll().orderBy('name');
  if (filter.name !== undefined) q = q.where('name', '=', filter.name);
  if (filter.enabled !== undefined) q = q.where('enabled', '=', filter.enabled ? 1 : 0);
  return ((await q.execute()) as DomainRow[]).map(toDomain);
}

export interface ProjectFilter {
  name?: string;
  domainId?: string;
  enabled?: boolean;
  /** Only projects where this user holds at least one role. */
  memberId?: string;
}

export async function listProjects(db: Db, filter: ProjectFilter): Promise<Project[]> {
  let q = db.selectFrom('identity_projects as p').selectAll('p').orderBy('p.name');
  if (filter.name !== undefined) q = q.where('p.name', '=', filter.name);
  if (filter.domainId !== undefined) q = q.where('p.domain_id', '=', filter.domainId);
  if (filter.enabled !== undefined) q = q.where('p.enabled', '=', filter.enabled ? 1 : 0);
  if (filter.memberId !== undefined) {
    const memberId = filter.memberId;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('identity_role_assignments as ra')
          .select('ra.role_id')
          .whereRef('ra.project_id', '=', 'p.id')
          .where('ra.user_id', '=', memberId),
      ),
    );
  }
  return ((await q.execute()) as ProjectRow[]).map(toProject);
}

export async function updateProject(db: Db, project: Project): Promise<void> {
  await db
    .updateTable('identity_projects')
    .set({ name: project.name, description: project.description, enabled: project.enabled ? 1 : 0, extra: JSON.stringify(project.extra) })
    .where('id', '=', project.id)
    .execute();
}

/** Removes a project with its role assignments and tokens (by foreign-key cascade). */
export async function deleteProject(db: Db, id: string): Promise<void> {
  await db.deleteFrom('identity_projects').where('id', '=', id).execute();
}

export async function listUsers(db: Db, filter: { name?: string; domainId?: string; enabled?: boolean }): Promise<User[]> {
  let q = db.selectFrom('identity_users').selectAll().orderBy('name');
  if (filter.name !== undefined) q = q.where('name', '=', filter.name);
  if (filter.domainId !== undefined) q = q.where('domain_id', '=', filter.domainId);
  if (filter.enabled !== undefined) q = q.where('enabled', '=', filter.enabled ? 1 : 0);
  return ((await q.execute()) as UserRow[]).map(toUser);
}

export async function updateUser(db: Db, user: User): Promise<void> {
  await db
    .updateTable('identity_users')
    .set({
      name: user.name,
      enabled: user.enabled ? 1 : 0,
      password_hash: user.passwordHash,
      default_project_id: user.defaultProjectId,
      extra: JSON.stringify(user.extra),
    })
    .where('id', '=', user.id)
    .execute();
}

/** Removes a user with its role assignments and tokens (by foreign-key cascade). */
export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.deleteFrom('identity_users').where('id', '=', id).execute();
}

/** Users whose default project this was keep no dangling reference (Keystone does the same). */
export async function clearDefaultProject(db: Db, projectId: string): Promise<void> {
  await db.updateTable('identity_users').set({ default_project_id: null }).where('default_project_id', '=', projectId).execute();
}

export async function getRole(db: Db, id: string): Promise<Role | undefined> {
  return (await db.selectFrom('identity_roles').selectAll().where('id', '=', id).executeTakeFirst()) as Role | undefined;
}

export async function listRoles(db: Db, filter: { name?: string }): Promise<Role[]> {
  let q = db.selectFrom('identity_roles').selectAll().orderBy('name');
  if (filter.name !== undefined) q = q.where('name', '=', filter.name);
  return (await q.execute()) as Role[];
}

export async function updateRole(db: Db, role: Role): Promise<void> {
  await db.updateTable('identity_roles').set({ name: role.name, description: role.description }).where('id', '=', role.id).execute();
}

/** Removes a role and every assignment of it (by foreign-key cascade). */
export async function deleteRole(db: Db, id: string): Promise<void> {
  await db.deleteFrom('identity_roles').where('id', '=', id).execute();
}

export async function hasGrant(db: Db, userId: string, projectId: string, roleId: string): Promise<boolean> {
  const row = await db
    .selectFrom('identity_role_assignments')
    .select('role_id')
    .where('user_id', '=', userId)
    .where('project_id', '=', projectId)
    .where('role_id', '=', roleId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function revokeGrant(db: Db, userId: string, projectId: string, roleId: string): Promise<void> {
  await db
    .deleteFrom('identity_role_assignments')
    .where('user_id', '=', userId)
    .where('project_id', '=', projectId)
    .where('role_id', '=', roleId)
    .execute();
}

export interface AssignmentFilter {
  userId?: string;
  projectId?: string;
  roleId?: string;
}

export interface Assignment {
  role: NamedRef;
  user: NamedRef & { domain: NamedRef };
  project: NamedRef & { domain: NamedRef };
}

interface AssignmentRow {
  role_id: string;
  role_name: string;
  user_id: string;
  user_name: string;
  user_domain_id: string;
  user_domain_name: string;
  project_id: string;
  project_name: string;
  project_domain_id: string;
  project_domain_name: string;
}

export async function listAssignments(db: Db, filter: AssignmentFilter): Promise<Assignment[]> {
  let q = db
    .selectFrom('identity_role_assignments as ra')
    .innerJoin('identity_roles as r', 'r.id', 'ra.role_id')
    .innerJoin('identity_users as u', 'u.id', 'ra.user_id')
    .innerJoin('identity_domains as ud', 'ud.id', 'u.domain_id')
    .innerJoin('identity_projects as p', 'p.id', 'ra.project_id')
    .innerJoin('identity_domains as pd', 'pd.id', 'p.domain_id')
    .select([
      'r.id as role_id',
      'r.name as role_name',
      'u.id as user_id',
      'u.name as user_name',
      'ud.id as user_domain_id',
      'ud.name as user_domain_name',
      'p.id as project_id',
      'p.name as project_name',
      'pd.id as project_domain_id',
      'pd.name as project_domain_name',
    ])
    .orderBy('u.name')
    .orderBy('p.name')
    .orderBy('r.name');
  if (filter.userId !== undefined) q = q.where('ra.user_id', '=', filter.userId);
  if (filter.projectId !== undefined) q = q.where('ra.project_id', '=', filter.projectId);
  if (filter.roleId !== undefined) q = q.where('ra.role_id', '=', filter.roleId);
  return ((await q.execute()) as AssignmentRow[]).map((r) => ({
    role: { id: r.role_id, name: r.role_name },
    user: { id: r.user_id, name: r.user_name, domain: { id: r.user_domain_id, name: r.user_domain_name } },
    project: { id: r.project_id, name: r.project_name, domain: { id: r.project_domain_id, name: r.project_domain_name } },
  }));
}

/** Revokes every live token of a user (after its password changes or it is disabled). */
export async function revokeUserTokens(db: Db, userId: string, now: string): Promise<void> {
  await db.updateTable('identity_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}
