import { conflict, notFound, unauthorized } from '../../lib/errors.js';
import type { Db } from '../../store/database.js';
import type { Store } from '../../store/store.js';
import { newIdentityId } from './ids.js';
import { DEFAULT_DOMAIN_ID, type Project, type Role, type User } from './model.js';
import { hashPassword, verifyPassword } from './passwords.js';
import * as repo from './repository.js';
import type { ProjectChanges, ProjectCreate, RoleChanges, UserChanges, UserCreate } from './schemas.js';
import { invalid } from './validation.js';

// The rules of the admin API: existence (404), uniqueness of names (409), references that must resolve (400),
// and which changes end a user's sessions. Every change is one transaction; a failed one changes nothing.

/** A unique constraint refused the write (PostgreSQL 23505, SQLite's constraint codes). */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

async function storing<T>(kind: string, what: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`Conflict occurred attempting to store ${kind} - Duplicate entry found with ${what}.`);
    throw err;
  }
}

const missing = (kind: string, id: string) => notFound(`Could not find ${kind}: ${id}.`);

async function mustGet<T>(kind: string, id: string, get: Promise<T | undefined>): Promise<T> {
  const found = await get;
  if (found === undefined) throw missing(kind, id);
  return found;
}

/** The domain a new project or user goes into: Default unless named; a domain that does not exist is a 404, as in Keystone. */
async function domainFor(db: Db, domainId: string | undefined): Promise<string> {
  const id = domainId ?? DEFAULT_DOMAIN_ID;
  await mustGet('domain', id, repo.getDomain(db, id));
  return id;
}

// ---- projects

export async function createProject(store: Store, input: ProjectCreate): Promise<Project> {
  return storing(
    'project',
    `name ${input.name} at domain ID ${input.domainId ?? DEFAULT_DOMAIN_ID}`,
    store.write(async (tx) => {
      const project: Project = {
        id: newIdentityId(),
        domainId: await domainFor(tx.db, input.domainId),
        name: input.name,
        description: input.description ?? '',
        enabled: input.enabled ?? true,
        extra: input.extra,
      };
      await repo.insertProject(tx.db, project, tx.now);
      return project;
    }),
  );
}

export async function updateProject(store: Store, id: string, changes: ProjectChanges): Promise<Project> {
  return storing(
    'project',
    `name ${changes.name ?? ''}`,
    store.write(async (tx) => {
      const current = await mustGet('project', id, repo.getProject(tx.db, id));
      const updated: Project = {
        ...current,
        name: changes.name ?? current.name,
        description: changes.description ?? current.description,
        enabled: changes.enabled ?? current.enabled,
        extra: { ...current.extra, ...changes.extra },
      };
      await repo.updateProject(tx.db, updated);
      return updated;
    }),
  );
}

export async function deleteProject(store: Store, id: string): Promise<void> {
  await store.write(async (tx) => {
    await mustGet('project', id, repo.getProject(tx.db, id));
    await repo.clearDefaultProject(tx.db, id);
    await repo.deleteProject(tx.db, id);
  });
}

// ---- users

async function projectReference(db: Db, id: string | null | undefined): Promise<string | null | undefined> {
  if (id && !(await repo.getProject(db, id))) throw invalid('user.default_project_id', `no project with id '${id}'`);
  return id;
}

export async function createUser(store: Store, input: UserCreate): Promise<User> {
  const passwordHash = typeof input.password === 'string' ? await hashPassword(input.password) : null;
  return storing(
    'user',
    `name ${input.name} at domain ID ${input.domainId ?? DEFAULT_DOMAIN_ID}`,
    store.write(async (tx) => {
      const user: User = {
        id: newIdentityId(),
        domainId: await domainFor(tx.db, input.domainId),
        name: input.name,
        enabled: input.enabled ?? true,
        passwordHash,
        defaultProjectId: (await projectReference(tx.db, input.defaultProjectId)) ?? null,
        extra: input.extra,
      };
      await repo.insertUser(tx.db, user, tx.now);
      return user;
    }),
  );
}

export async function updateUser(store: Store, id: string, changes: UserChanges): Promise<User> {
  const passwordHash = typeof changes.password === 'string' ? await hashPassword(changes.password) : changes.password;
  return storing(
    'user',
    `name ${changes.name ?? ''}`,
    store.write(async (tx) => {
      const current = await mustGet('user', id, repo.getUser(tx.db, id));
      const defaultProjectId = await projectReference(tx.db, changes.defaultProjectId);
      const updated: User = {
        ...current,
        name: changes.name ?? current.name,
        enabled: changes.enabled ?? current.enabled,
        passwordHash: passwordHash === undefined ? current.passwordHash : passwordHash,
        defaultProjectId: defaultProjectId === undefined ? current.defaultProjectId : defaultProjectId,
        extra: { ...current.extra, ...changes.extra },
      };
      await repo.updateUser(tx.db, updated);
      // A new password or a disabled account ends every session of the user, as in Keystone.
      if (passwordHash !== undefined || (current.enabled && !updated.enabled)) await repo.revokeUserTokens(tx.db, id, tx.now);
      return updated;
    }),
  );
}

/** A user changing its own password proves it knows the current one (401 otherwise, like a failed login). */
export async function changePassword(store: Store, id: string, originalPassword: string, password: string): Promise<void> {
  const user = await store.read((db) => repo.getUser(db, id));
  const ok = await verifyPassword(originalPassword, user?.passwordHash ?? null);
  if (!user || !ok || !user.enabled) throw unauthorized();
  const passwordHash = await hashPassword(password);
  await store.write(async (tx) => {
    await repo.setPasswordHash(tx.db, id, passwordHash);
    await repo.revokeUserTokens(tx.db, id, tx.now);
  });
}

export async function deleteUser(store: Store, id: string): Promise<void> {
  await store.write(async (tx) => {
    await mustGet('user', id, repo.getUser(tx.db, id));
    await repo.deleteUser(tx.db, id);
  });
}

// ---- roles

export async function createRole(store: Store, input: RoleChanges & { name: string }): Promise<Role> {
  return storing(
    'role',
    `name ${input.name}`,
    store.write(async (tx) => {
      const role: Role = { id: newIdentityId(), name: input.name, description: input.description ?? '' };
      await repo.insertRole(tx.db, role);
      return role;
    }),
  );
}

export async function updateRole(store: Store, id: string, changes: RoleChanges): Promise<Role> {
  return storing(
    'role',
    `name ${changes.name ?? ''}`,
    store.write(async (tx) => {
      const current = await mustGet('role', id, repo.getRole(tx.db, id));
      const updated: Role = { ...current, name: changes.name ?? current.name, description: changes.description ?? current.description };
      await repo.updateRole(tx.db, updated);
      return updated;
    }),
  );
}

export async function deleteRole(store: Store, id: string): Promise<void> {
  await store.write(async (tx) => {
    await mustGet('role', id, repo.getRole(tx.db, id));
    await repo.deleteRole(tx.db, id);
  });
}

// ---- grants of a role to a user on a project

export interface GrantRef {
  projectId: string;
  userId: string;
  roleId: string;
}

async function checkGrantParts(db: Db, g: GrantRef): Promise<void> {
  await mustGet('project', g.projectId, repo.getProject(db, g.projectId));
  await mustGet('user', g.userId, repo.getUser(db, g.userId));
  await mustGet('role', g.roleId, repo.getRole(db, g.roleId));
}

export async function grant(store: Store, g: GrantRef): Promise<void> {
  await store.write(async (tx) => {
    await checkGrantParts(tx.db, g);
    await repo.grantRole(tx.db, g.userId, g.projectId, g.roleId);
  });
}

export async function checkGrant(store: Store, g: GrantRef): Promise<void> {
  await store.read(async (db) => {
    await checkGrantParts(db, g);
    if (!(await repo.hasGrant(db, g.userId, g.projectId, g.roleId))) throw missing('role assignment', `${g.roleId}`);
  });
}

export async function revokeGrant(store: Store, g: GrantRef): Promise<void> {
  await store.write(async (tx) => {
    await checkGrantParts(tx.db, g);
    if (!(await repo.hasGrant(tx.db, g.userId, g.projectId, g.roleId))) throw missing('role assignment', `${g.roleId}`);
    await repo.revokeGrant(tx.db, g.userId, g.projectId, g.roleId);
  });
}

export async function rolesOfUserOnProject(store: Store, projectId: string, userId: string): Promise<Role[]> {
  return store.read(async (db) => {
    await mustGet('project', projectId, repo.getProject(db, projectId));
    await mustGet('user', userId, repo.getUser(db, userId));
    return repo.rolesOnProject(db, userId, projectId);
  });
}

export { mustGet };
