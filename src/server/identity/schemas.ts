import { booleanAt, invalid, isObject, objectAt, stringAt, type Json } from './validation.js';

// Bodies of the admin API, checked field by field (a 400 names the field) and reduced to what the service stores.
// Attributes Keystone does not define are kept in `extra`, as Keystone does; its own read-only ones are refused.

export interface ProjectChanges {
  name?: string;
  description?: string;
  enabled?: boolean;
  extra: Json;
}

export interface ProjectCreate extends ProjectChanges {
  name: string;
  domainId: string | undefined;
}

export interface UserChanges {
  name?: string;
  enabled?: boolean;
  /** A new password; null removes it (the user can no longer log in with one). */
  password?: string | null;
  defaultProjectId?: string | null;
  extra: Json;
}

export interface UserCreate extends UserChanges {
  name: string;
  domainId: string | undefined;
}

export interface RoleChanges {
  name?: string;
  description?: string;
}

const READ_ONLY = new Set(['id', 'links']);

function entity(body: unknown, key: string): Json {
  return objectAt(isObject(body) ? body[key] : undefined, key);
}

function nullableString(value: unknown, field: string, max: number): string | null | undefined {
  return value === null ? null : value === undefined ? undefined : stringAt(value, field, max);
}

/** A description may be given as null (Keystone stores it as empty). */
function description(value: unknown, field: string): string | undefined {
  if (value === null) return '';
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  if (value.length > 65535) throw invalid(field, 'is too long');
  return value;
}

/**
 * Keystone's clients (tempest's among them) repeat the object's id in an update; that is accepted when it is the
 * id in the path, and refused as an attempt to change it otherwise. On create an id is never the client's to choose.
 */
function checkId(e: Json, key: string, pathId: string | undefined): void {
  if (e.id === undefined) return;
  if (pathId === undefined) throw invalid(`${key}.id`, 'is read-only');
  if (e.id !== pathId) throw invalid(`${key}.id`, 'cannot be changed');
}

function extraOf(e: Json, key: string, known: Set<string>): Json {
  const extra: Json = {};
  for (const [name, value] of Object.entries(e)) {
    if (name === 'id') continue;
    if (READ_ONLY.has(name)) throw invalid(`${key}.${name}`, 'is read-only');
    if (!known.has(name)) extra[name] = value;
  }
  return extra;
}

function checkOptions(value: unknown, field: string): void {
  if (value === undefined) return;
  const options = objectAt(value, field);
  if (Object.keys(options).length > 0) throw invalid(field, 'resource options are not supported');
}

function checkTags(value: unknown, field: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw invalid(field, 'must be a list of strings');
  if (value.length > 80) throw invalid(field, 'must hold at most 80 tags');
  for (const tag of value) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > 255 || /[/,]/.test(tag)) {
      throw invalid(field, "each tag must be 1 to 255 characters without '/' or ','");
    }
  }
}

// ---- projects

const PROJECT_FIELDS = new Set(['name', 'description', 'enabled', 'domain_id', 'parent_id', 'is_domain', 'options']);

function projectChanges(p: Json, pathId?: string): ProjectChanges {
  checkId(p, 'project', pathId);
  checkOptions(p.options, 'project.options');
  checkTags(p.tags, 'project.tags');
  if (p.is_domain !== undefined && booleanAt(p.is_domain, 'project.is_domain') === true) {
    throw invalid('project.is_domain', 'projects acting as domains are not supported');
  }
  return {
    name: p.name === undefined ? undefined : stringAt(p.name, 'project.name', 64),
    description: description(p.description, 'project.description'),
    enabled: booleanAt(p.enabled, 'project.enabled'),
    extra: extraOf(p, 'project', PROJECT_FIELDS),
  };
}

export function parseProjectCreate(body: unknown): ProjectCreate {
  const p = entity(body, 'project');
  const changes = projectChanges(p);
  const domainId = nullableString(p.domain_id, 'project.domain_id', 64) ?? undefined;
  const parentId = nullableString(p.parent_id, 'project.parent_id', 64);
  // Projects hang directly off their domain here; a parent, if named, must be that domain.
  if (parentId && domainId && parentId !== domainId) throw invalid('project.parent_id', 'nested projects are not supported');
  return { ...changes, name: stringAt(p.name, 'project.name', 64), domainId: domainId ?? parentId ?? undefined };
}

export function parseProjectUpdate(body: unknown, id: string): ProjectChanges {
  const p = entity(body, 'project');
  if (p.domain_id !== undefined) throw invalid('project.domain_id', 'cannot be changed');
  if (p.parent_id !== undefined) throw invalid('project.parent_id', 'cannot be changed');
  return projectChanges(p, id);
}

// ---- users

const USER_FIELDS = new Set(['name', 'enabled', 'password', 'default_project_id', 'domain_id', 'options', 'password_expires_at']);

function userChanges(u: Json, pathId?: string): UserChanges {
  checkId(u, 'user', pathId);
  checkOptions(u.options, 'user.options');
  if (u.password_expires_at !== undefined) throw invalid('user.password_expires_at', 'is read-only');
  return {
    name: u.name === undefined ? undefined : stringAt(u.name, 'user.name', 255),
    enabled: booleanAt(u.enabled, 'user.enabled'),
    password: nullableString(u.password, 'user.password', 4096),
    defaultProjectId: nullableString(u.default_project_id, 'user.default_project_id', 64),
    extra: extraOf(u, 'user', USER_FIELDS),
  };
}

export function parseUserCreate(body: unknown): UserCreate {
  const u = entity(body, 'user');
  const changes = userChanges(u);
  return { ...changes, name: stringAt(u.name, 'user.name', 255), domainId: nullableString(u.domain_id, 'user.domain_id', 64) ?? undefined };
}

export function parseUserUpdate(body: unknown, id: string): UserChanges {
  const u = entity(body, 'user');
  if (u.domain_id !== undefined) throw invalid('user.domain_id', 'cannot be changed');
  return userChanges(u, id);
}

export function parsePasswordChange(body: unknown): { password: string; originalPassword: string } {
  const u = entity(body, 'user');
  return {
    password: stringAt(u.password, 'user.password', 4096),
    originalPassword: stringAt(u.original_password, 'user.original_password', 4096),
  };
}

// ---- roles

function roleChanges(r: Json, pathId?: string): RoleChanges {
  checkId(r, 'role', pathId);
  checkOptions(r.options, 'role.options');
  // Domain-specific roles are not kept here; every role is global, like the built-in ones.
  if (r.domain_id !== undefined && r.domain_id !== null) throw invalid('role.domain_id', 'domain-specific roles are not supported');
  if (r.links !== undefined) throw invalid('role.links', 'is read-only');
  return {
    name: r.name === undefined ? undefined : stringAt(r.name, 'role.name', 255),
    description: description(r.description, 'role.description'),
  };
}

export function parseRoleCreate(body: unknown): RoleChanges & { name: string } {
  const r = entity(body, 'role');
  return { ...roleChanges(r), name: stringAt(r.name, 'role.name', 255) };
}

export function parseRoleUpdate(body: unknown, id: string): RoleChanges {
  return roleChanges(entity(body, 'role'), id);
}

// ---- query strings

/** Keystone's reading of a boolean query parameter: present means true unless it is '0' or 'false'. */
export function queryFlag(value: unknown): boolean {
  if (value === undefined) return false;
  const text = String(Array.isArray(value) ? value[0] : value).toLowerCase();
  return text !== '0' && text !== 'false';
}

/** A boolean filter such as `enabled=false`; undefined when not given. */
export function queryBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  const text = String(Array.isArray(value) ? value[0] : value).toLowerCase();
  if (['1', 'true', 'yes', ''].includes(text)) return true;
  if (['0', 'false', 'no'].includes(text)) return false;
  throw invalid(field, 'must be true or false');
}

export function queryString(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return String(Array.isArray(value) ? value[0] : value);
}
