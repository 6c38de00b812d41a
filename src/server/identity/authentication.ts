import { unauthorized } from '../../lib/errors.js';
import type { Db } from '../../store/database.js';
import type { Store } from '../../store/store.js';
import type { DomainRef, AuthRequest, ScopedRef } from './authRequest.js';
import type { Project, TokenRecord, User } from './model.js';
import { verifyPassword } from './passwords.js';
import * as repo from './repository.js';
import {
  expiresAfter,
  generateAuditId,
  generateTokenId,
  hashTokenId,
  keystoneTime,
  tokenProblem,
} from './tokens.js';

export interface IssuedToken {
  tokenId: string;
  record: TokenRecord;
}

// Every credential failure gets this one message: saying which part was wrong would help a guesser.
const DENIED = 'The request you have made requires authentication.';

/** A stored token that still speaks for its user (not revoked, expired, or stripped of its roles), else undefined. */
export async function validTokenRecord(db: Db, tokenId: string, now: Date): Promise<TokenRecord | undefined> {
  const record = await repo.lookupToken(db, hashTokenId(tokenId));
  return record && tokenProblem(record, keystoneTime(now)) === undefined ? record : undefined;
}

/**
 * POST /v3/auth/tokens: establishes the user from every method given (they must agree), picks the scope,
 * and stores a new token. Throws 401 for anything the caller may not have.
 */
export async function authenticate(store: Store, request: AuthRequest, expirationSeconds: number): Promise<IssuedToken> {
  const now = new Date();
  let user: User | undefined;
  let expiresAt = expiresAfter(now, expirationSeconds);
  let auditIds = [generateAuditId()];
  let methods: string[] = request.methods;

  if (request.password) {
    user = await store.read((db) => findUser(db, request.password!.user));
    // The hash is computed even for an unknown user, so timing does not reveal which names exist.
    const ok = await verifyPassword(request.password.password, user?.passwordHash ?? null);
    if (!user || !ok || !user.enabled) throw unauthorized(DENIED);
  }
  if (request.token) {
    const original = await store.read((db) => validTokenRecord(db, request.token!.id, now));
    if (!original || (user && user.id !== original.user.id)) throw unauthorized(DENIED);
    user ??= await store.read((db) => repo.getUser(db, original.user.id));
    if (!user) throw unauthorized(DENIED);
    // A token made from a token lives no longer than it, and keeps its audit chain (Keystone's rescoping rule).
    const originalExpiry = new Date(original.expiresAt);
    if (originalExpiry < expiresAt) expiresAt = originalExpiry;
    auditIds = [auditIds[0], original.auditIds[original.auditIds.length - 1]];
    // …and says how the user first proved itself, as well as that a token was used since.
    methods = [...new Set([...original.methods, ...methods])];
  }
  if (!user) throw unauthorized(DENIED);
  const userId = user.id;
  const defaultProjectId = user.defaultProjectId;

  return store.write(async (tx) => {
    const project = await resolveScope(tx.db, userId, defaultProjectId, request.scope);
    const tokenId = generateTokenId();
    const idHash = hashTokenId(tokenId);
    await repo.insertToken(tx.db, {
      idHash,
      userId,
      projectId: project?.id ?? null,
      methods,
      auditIds,
      issuedAt: keystoneTime(now),
      expiresAt: keystoneTime(expiresAt),
    });
    const record = await repo.lookupToken(tx.db, idHash);
    if (!record) throw new Error('token vanished within its own transaction');
    return { tokenId, record };
  });
}

async function findUser(db: Db, ref: ScopedRef): Promise<User | undefined> {
  if ('id' in ref) return repo.getUser(db, ref.id);
  const domainId = await resolveDomainId(db, ref.domain);
  return domainId === undefined ? undefined : repo.findUserByName(db, domainId, ref.name);
}

async function resolveDomainId(db: Db, ref: DomainRef): Promise<string | undefined> {
  const domain = 'id' in ref ? await repo.getDomain(db, ref.id) : await repo.findDomainByName(db, ref.name);
  return domain?.enabled ? domain.id : undefined;
}

async function resolveScope(
  db: Db,
  userId: string,
  defaultProjectId: string | null,
  scope: AuthRequest['scope'],
): Promise<Project | undefined> {
  if (scope === 'unscoped') return undefined;
  if (scope === undefined) {
    // Without a scope Keystone scopes to the user's default project when the user may use it, else unscoped.
    if (!defaultProjectId) return undefined;
    const project = await repo.getProject(db, defaultProjectId);
    const usable = project?.enabled && (await repo.rolesOnProject(db, userId, project.id)).length > 0;
    return usable ? project : undefined;
  }
  const ref = scope.project;
  let project: Project | undefined;
  if ('id' in ref) project = await repo.getProject(db, ref.id);
  else {
    const domainId = await resolveDomainId(db, ref.domain);
    project = domainId === undefined ? undefined : await repo.findProjectByName(db, domainId, ref.name);
  }
  if (!project || !project.enabled || (await repo.rolesOnProject(db, userId, project.id)).length === 0) {
    throw unauthorized(`The request you have made requires authentication.`);
  }
  return project;
}
