import { randomUUID } from 'node:crypto';
import { ApiError, badRequest, forbidden, notFound } from '../../lib/errors.js';
import type { Db } from '../../store/database.js';
import type { Store } from '../../store/store.js';
import type { AuthContext } from '../auth.js';
import { openPayload, sealPayload, type KeyEncryptionKey } from './crypto.js';
import { isAllowed, type Action, type Target } from './policy.js';
import * as repo from './repository.js';
import type { AclRow, ContainerRow, EntityType, SecretRow } from './repository.js';
import { lastSegment, normalizeContentType, parseAcl, parseContainerCreate, parseSecretCreate, payloadFromUpload, type PayloadInput } from './schemas.js';

export interface KeyManagerService {
  store: Store;
  kek: KeyEncryptionKey;
  /** Where this server's key manager is reached, e.g. http://127.0.0.1:9696/key-manager (read per request). */
  baseUrl(): string;
}

type Query = Record<string, string | string[] | undefined>;
type Wire = Record<string, unknown>;

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

const secretNotFound = () => notFound('Not Found. Sorry but your secret is in another castle.');
const containerNotFound = () => notFound('Not Found. Sorry but your container is in another castle.');

function deny(operation: string): ApiError {
  return forbidden(`${operation} attempt not allowed - please review your user/project privileges`, 'PolicyNotAuthorized');
}

function authorize(action: Action, operation: string, auth: AuthContext, target?: Target): void {
  if (!isAllowed(action, auth, target)) throw deny(operation);
}

/** What the policies read of an object: its project, creator and read ACL (none: project access, no users). */
export function targetOf(entity: { project_id: string; creator_id: string }, acl: AclRow | undefined): Target {
  return {
    projectId: entity.project_id,
    creatorId: entity.creator_id,
    readProjectAccess: acl ? Boolean(acl.project_access) : true,
    readUsers: acl ? (JSON.parse(acl.users) as string[]) : [],
  };
}

// ---- secrets

export async function createSecret(km: KeyManagerService, auth: AuthContext, body: unknown): Promise<string> {
  authorize('secrets:post', 'Secret creation', auth);
  const input = parseSecretCreate(body, new Date());
  const id = randomUUID();
  const now = timestamp();
  await km.store.write(async (tx) => {
    await repo.insertSecret(tx.db, {
      id,
      project_id: auth.projectId,
      creator_id: auth.userId,
      name: input.name,
      secret_type: input.secretType,
      algorithm: input.algorithm,
      bit_length: input.bitLength,
      mode: input.mode,
      expiration: input.expiration,
      ...sealed(km, id, input.payload),
      created_at: now,
      updated_at: now,
    });
  });
  return secretRef(km, id);
}

export async function listSecrets(km: KeyManagerService, auth: AuthContext, query: Query): Promise<Wire> {
  authorize('secrets:get', 'Secret(s) retrieval', auth);
  const equals: Record<string, string | number> = filtersOf(query, [['name', 'name'], ['alg', 'algorithm'], ['mode', 'mode'], ['secret_type', 'secret_type']]);
  // Barbican ignores a bit length that is not a positive number rather than refusing it.
  const bits = Number.parseInt(single(query.bits) ?? '', 10);
  if (bits > 0) equals.bit_length = bits;
  const { offset, limit } = paging(query);
  const { rows, total } = await km.store.read((db) => repo.listSecrets(db, { projectId: auth.projectId, now: nowIso(), offset, limit, equals }));
  return pageOf(km, 'secrets', rows.map((r) => secretView(km, r)), offset, limit, total);
}

export async function showSecret(km: KeyManagerService, auth: AuthContext, id: string): Promise<Wire> {
  const { secret } = await km.store.read((db) => loadSecret(db, auth, id, 'secret:get', 'Secret retrieval'));
  return secretView(km, secret);
}

/** The payload as `accept` asks: the stored bytes, or their UTF-8 text for text/plain. */
export async function readPayload(km: KeyManagerService, auth: AuthContext, id: string, accept: string | undefined): Promise<{ body: Buffer | string; contentType: string }> {
  const { secret } = await km.store.read((db) => loadSecret(db, auth, id, 'secret:decrypt', 'Secret payload retrieval'));
  if (!secret.sealed_payload) throw notFound('Not Found. Sorry but your secret has no payload.');
  // No Accept means octet-stream (Barbican's default); */* means the type the payload was stored as.
  const wanted = !accept ? 'application/octet-stream' : accept === '*/*' ? secret.content_type! : normalizeContentType(accept);
  const refuse = () => new ApiError(406, 'SecretAcceptNotSupported', `Secret Accept of '${accept}' not supported.`);
  if (!wanted) throw refuse();
  const bytes = openPayload(km.kek, secret.kek_id!, secret.id, secret.sealed_payload);
  if (wanted !== 'text/plain') return { body: bytes, contentType: wanted };
  try {
    return { body: new TextDecoder('utf-8', { fatal: true }).decode(bytes), contentType: 'text/plain; charset=utf-8' };
  } catch {
    throw refuse();
  }
}

/** `PUT /v1/secrets/{id}`: the payload of a secret created without one. */
export async function putPayload(km: KeyManagerService, auth: AuthContext, id: string, body: Buffer, contentType: string | undefined, contentEncoding: string | undefined): Promise<void> {
  await km.store.write(async (tx) => {
    const { secret } = await loadSecret(tx.db, auth, id, 'secret:put', 'Secret update');
    const mime = contentType?.split(';')[0]!.trim().toLowerCase();
    if (mime !== 'text/plain' && mime !== 'application/octet-stream') {
      throw new ApiError(415, 'HTTPUnsupportedMediaType', "Unexpected content type. Expected content types are: ['application/octet-stream', 'text/plain']");
    }
    const payload = payloadFromUpload(body, contentType!, contentEncoding);
    const alreadyHasData = () => new ApiError(409, 'HTTPConflict', 'Secret already has data, cannot modify it.');
    if (secret.sealed_payload) throw alreadyHasData();
    if (!(await repo.setSecretPayload(tx.db, id, { ...sealed(km, id, payload), updated_at: timestamp() }))) throw alreadyHasData();
  });
}

export async function deleteSecret(km: KeyManagerService, auth: AuthContext, id: string): Promise<void> {
  await km.store.write(async (tx) => {
    await loadSecret(tx.db, auth, id, 'secret:delete', 'Secret deletion');
    await repo.deleteSecret(tx.db, id);
  });
}

// ---- containers

export async function createContainer(km: KeyManagerService, auth: AuthContext, body: unknown): Promise<string> {
  authorize('containers:post', 'Container creation', auth);
  const input = parseContainerCreate(body);
  const base = km.baseUrl();
  for (const ref of input.secretRefs) {
    if (!ref.secretRef.startsWith(base)) {
      throw badRequest(
        "No support for value set on field 'secret_ref' on schema 'Container': Secret_ref does not match the configured hostname, please try again",
        'UnsupportedField',
      );
    }
  }
  const id = randomUUID();
  const now = timestamp();
  await km.store.write(async (tx) => {
    const secrets = [];
    for (const ref of input.secretRefs) {
      // Barbican takes only the caller's project's secrets into a container.
      const secret = await repo.getSecret(tx.db, lastSegment(ref.secretRef), nowIso());
      if (!secret || secret.project_id !== auth.projectId) throw notFound(`Secret provided for '${ref.name}' doesn't exist.`);
      secrets.push({ name: ref.name, secretId: secret.id });
    }
    await repo.insertContainer(
      tx.db,
      { id, project_id: auth.projectId, creator_id: auth.userId, name: input.name, type: input.type, created_at: now, updated_at: now },
      secrets,
    );
  });
  return containerRef(km, id);
}

export async function listContainers(km: KeyManagerService, auth: AuthContext, query: Query): Promise<Wire> {
  authorize('containers:get', 'Containers(s) retrieval', auth);
  const equals = filtersOf(query, [['name', 'name'], ['type', 'type']]);
  const { offset, limit } = paging(query);
  return km.store.read(async (db) => {
    const { rows, total } = await repo.listContainers(db, { projectId: auth.projectId, now: nowIso(), offset, limit, equals });
    const secrets = await repo.containerSecrets(db, rows.map((r) => r.id));
    return pageOf(km, 'containers', rows.map((r) => containerView(km, r, secrets.get(r.id)!)), offset, limit, total);
  });
}

export async function showContainer(km: KeyManagerService, auth: AuthContext, id: string): Promise<Wire> {
  return km.store.read(async (db) => {
    const { container } = await loadContainer(db, auth, id, 'container:get', 'Container retrieval');
    return containerView(km, container, (await repo.containerSecrets(db, [id])).get(id)!);
  });
}

export async function deleteContainer(km: KeyManagerService, auth: AuthContext, id: string): Promise<void> {
  await km.store.write(async (tx) => {
    await loadContainer(tx.db, auth, id, 'container:delete', 'Container deletion');
    await repo.deleteContainer(tx.db, id);
  });
}

// ---- ACLs

const ACL_OPERATION: Record<EntityType, string> = { secret: 'SecretACL(s)', container: 'ContainerACL(s)' };

export async function getAcl(km: KeyManagerService, auth: AuthContext, type: EntityType, id: string): Promise<Wire> {
  return km.store.read(async (db) => {
    const { acl } = await loadEntity(db, auth, type, id, 'acls:get', `${ACL_OPERATION[type]} retrieval`);
    if (!acl) return { read: { 'project-access': true } };
    return { read: { 'project-access': Boolean(acl.project_access), users: JSON.parse(acl.users), created: acl.created_at, updated: acl.updated_at } };
  });
}

/** PUT replaces the read ACL (an absent one is removed); PATCH changes only what it names. */
export async function setAcl(km: KeyManagerService, auth: AuthContext, type: EntityType, id: string, body: unknown, mode: 'replace' | 'merge'): Promise<Wire> {
  await km.store.write(async (tx) => {
    const { acl } = await loadEntity(tx.db, auth, type, id, 'acls:put_patch', `${ACL_OPERATION[type]} Update`);
    const input = parseAcl(body);
    if (!input) {
      if (mode === 'replace') await repo.deleteAcls(tx.db, type, id);
      return;
    }
    const merged = mode === 'replace' ? { projectAccess: input.projectAccess ?? true, users: input.users ?? [] } : {
      projectAccess: input.projectAccess ?? (acl ? Boolean(acl.project_access) : true),
      users: input.users ?? (acl ? (JSON.parse(acl.users) as string[]) : []),
    };
    await repo.putReadAcl(tx.db, {
      entity_type: type,
      entity_id: id,
      operation: 'read',
      project_access: merged.projectAccess ? 1 : 0,
      users: JSON.stringify(merged.users),
      created_at: acl?.created_at ?? timestamp(),
      updated_at: timestamp(),
    });
  });
  return { acl_ref: `${type === 'secret' ? secretRef(km, id) : containerRef(km, id)}/acl` };
}

export async function deleteAcl(km: KeyManagerService, auth: AuthContext, type: EntityType, id: string): Promise<void> {
  await km.store.write(async (tx) => {
    await loadEntity(tx.db, auth, type, id, 'acls:delete', `${ACL_OPERATION[type]} deletion`);
    await repo.deleteAcls(tx.db, type, id);
  });
}

// ---- shared

/** A secret by id, whatever its project (Barbican looks up first and then applies its policy: 404, then 403). */
async function loadSecret(db: Db, auth: AuthContext, id: string, action: Action, operation: string) {
  const secret = await repo.getSecret(db, id, nowIso());
  if (!secret) throw secretNotFound();
  const acl = await repo.getReadAcl(db, 'secret', id);
  authorize(action, operation, auth, targetOf(secret, acl));
  return { secret, acl };
}

async function loadContainer(db: Db, auth: AuthContext, id: string, action: Action, operation: string) {
  const container = await repo.getContainer(db, id);
  if (!container) throw containerNotFound();
  const acl = await repo.getReadAcl(db, 'container', id);
  authorize(action, operation, auth, targetOf(container, acl));
  return { container, acl };
}

function loadEntity(db: Db, auth: AuthContext, type: EntityType, id: string, action: Action, operation: string) {
  return type === 'secret' ? loadSecret(db, auth, id, action, operation) : loadContainer(db, auth, id, action, operation);
}

function sealed(km: KeyManagerService, id: string, payload: PayloadInput | null): Pick<SecretRow, 'content_type' | 'kek_id' | 'sealed_payload'> {
  if (!payload) return { content_type: null, kek_id: null, sealed_payload: null };
  return { content_type: payload.contentType, kek_id: km.kek.id, sealed_payload: sealPayload(km.kek, id, payload.bytes) };
}

export const secretRef = (km: KeyManagerService, id: string) => `${km.baseUrl()}/v1/secrets/${id}`;
export const containerRef = (km: KeyManagerService, id: string) => `${km.baseUrl()}/v1/containers/${id}`;

function secretView(km: KeyManagerService, row: SecretRow): Wire {
  return {
    secret_ref: secretRef(km, row.id),
    name: row.name,
    secret_type: row.secret_type,
    status: 'ACTIVE',
    algorithm: row.algorithm,
    bit_length: row.bit_length,
    mode: row.mode,
    expiration: row.expiration,
    creator_id: row.creator_id,
    created: row.created_at,
    updated: row.updated_at,
    ...(row.content_type ? { content_types: { default: row.content_type } } : {}),
  };
}

function containerView(km: KeyManagerService, row: ContainerRow, secrets: repo.ContainerSecretRow[]): Wire {
  return {
    container_ref: containerRef(km, row.id),
    name: row.name,
    type: row.type,
    status: 'ACTIVE',
    secret_refs: secrets.map((s) => ({ name: s.name, secret_ref: secretRef(km, s.secret_id) })),
    consumers: [],
    creator_id: row.creator_id,
    created: row.created_at,
    updated: row.updated_at,
  };
}

/** Barbican's offset paging: the page, `total`, and `previous`/`next` links while there are such pages. */
function pageOf(km: KeyManagerService, collection: string, items: Wire[], offset: number, limit: number, total: number): Wire {
  if (items.length === 0) return { [collection]: [], total };
  const href = (at: number) => `${km.baseUrl()}/v1/${collection}?limit=${limit}&offset=${at}`;
  return {
    [collection]: items,
    ...(offset > 0 ? { previous: href(Math.max(0, offset - limit)) } : {}),
    ...(total > offset + limit ? { next: href(offset + limit) } : {}),
    total,
  };
}

/** Barbican's lenient paging values: bad numbers fall back to the defaults, limits are clamped to 1..100. */
export function paging(query: Query): { offset: number; limit: number } {
  const offsetText = single(query.offset);
  const limitText = single(query.limit);
  const offset = offsetText && /^\d+$/.test(offsetText) ? Number(offsetText) : 0;
  const limit = limitText && /^-?\d+$/.test(limitText) ? Math.min(MAX_LIMIT, Math.max(1, Number(limitText))) : DEFAULT_LIMIT;
  return { offset: Number.isSafeInteger(offset) ? offset : 0, limit };
}

/** Equality filters from query parameters (param → column); an empty value filters nothing, as in Barbican. */
function filtersOf(query: Query, params: Array<[param: string, column: string]>): Record<string, string | number> {
  const equals: Record<string, string | number> = {};
  for (const [param, column] of params) {
    const value = single(query[param]);
    if (value) equals[column] = value;
  }
  return equals;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

let lastMicros = 0;

/**
 * Creation and update times with microseconds, as Barbican's: lists are ordered by creation, and objects made within
 * one millisecond must still come out in the order they were made (strictly increasing within this process).
 */
function timestamp(): string {
  lastMicros = Math.max(lastMicros + 1, Math.floor((performance.timeOrigin + performance.now()) * 1000));
  return `${new Date(Math.floor(lastMicros / 1000)).toISOString().slice(0, 19)}.${String(lastMicros % 1_000_000).padStart(6, '0')}Z`;
}

/** Expirations are compared as ISO text with milliseconds, the form they are stored in. */
function nowIso(): string {
  return new Date().toISOString();
}
