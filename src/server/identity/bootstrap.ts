import type { Store } from '../../store/store.js';
import type { Db } from '../../store/database.js';
import { DEFAULT_DOMAIN_ID, type Role } from './model.js';
import { hashPassword } from './passwords.js';
import * as repo from './repository.js';
import { newIdentityId } from './ids.js';

/** The roles every cloud has: Keystone's three defaults and those Octavia's policies name. */
export const BUILTIN_ROLES = [
  'admin',
  'member',
  'reader',
  'load-balancer_observer',
  'load-balancer_global_observer',
  'load-balancer_member',
  'load-balancer_admin',
  'load-balancer_quota_admin',
] as const;

export interface BootstrapOptions {
  /** The admin user's password when the user is created. */
  password: string;
  /** Also set it on an admin user that already exists (`--admin-password` given explicitly), as keystone-manage bootstrap does. */
  resetPassword: boolean;
}

export interface BootstrapResult {
  adminUserId: string;
  adminProjectId: string;
  /** False when the admin user existed already (and so `password` applies only if `resetPassword`). */
  createdAdmin: boolean;
}

/**
 * Creates what a fresh cloud needs: domain `Default`, project `admin`, user `admin` holding role `admin` there,
 * and the built-in roles. Idempotent; servers starting together on one PostgreSQL take turns under one lock,
 * and the unique constraints on names stop any duplicate that slipped past.
 */
export async function bootstrapAdmin(store: Store, options: BootstrapOptions): Promise<BootstrapResult> {
  const passwordHash = await hashPassword(options.password);
  return store.write(async (tx) => {
    await tx.lock('identity:bootstrap');
    const db = tx.db;
    if (!(await repo.getDomain(db, DEFAULT_DOMAIN_ID))) {
      await repo.insertDomain(db, { id: DEFAULT_DOMAIN_ID, name: 'Default', description: 'The default domain', enabled: true });
    }
    const roles = new Map<string, Role>();
    for (const name of BUILTIN_ROLES) roles.set(name, await ensureRole(db, name));

    let project = await repo.findProjectByName(db, DEFAULT_DOMAIN_ID, 'admin');
    if (!project) {
      project = {
        id: newIdentityId(),
        domainId: DEFAULT_DOMAIN_ID,
        name: 'admin',
        description: 'Bootstrap project for initializing the cloud.',
        enabled: true,
        extra: {},
      };
      await repo.insertProject(db, project, tx.now);
    }

    let user = await repo.findUserByName(db, DEFAULT_DOMAIN_ID, 'admin');
    const createdAdmin = !user;
    if (!user) {
      user = {
        id: newIdentityId(),
        domainId: DEFAULT_DOMAIN_ID,
        name: 'admin',
        enabled: true,
        passwordHash,
        defaultProjectId: project.id,
        extra: {},
      };
      await repo.insertUser(db, user, tx.now);
    } else if (options.resetPassword) {
      await repo.setPasswordHash(db, user.id, passwordHash);
    }
    await repo.grantRole(db, user.id, project.id, roles.get('admin')!.id);
    return { adminUserId: user.id, adminProjectId: project.id, createdAdmin };
  });
}

async function ensureRole(db: Db, name: string): Promise<Role> {
  const existing = await repo.findRoleByName(db, name);
  if (existing) return existing;
  const role: Role = { id: newIdentityId(), name, description: '' };
  await repo.insertRole(db, role);
  return role;
}
