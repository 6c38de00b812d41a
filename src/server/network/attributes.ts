import { ApiError, badRequest, forbidden } from '../../lib/errors.js';
import type { AuthContext } from '../auth.js';
import { InvalidValue, string, type Convert } from './validators.js';

/**
 * How one attribute of a resource behaves on the wire and where it is kept. This is Neutron's attribute map
 * (allow_post, allow_put, convert/validate, default, is_filter, is_sort_key, enforce_policy) in TypeScript.
 */
export interface AttributeSpec {
  /** The name on the wire, e.g. `router:external`. */
  name: string;
  /** Where the value lives: its own column (named `column`, default = name), a JSON text column, or nowhere
   * (derived by the resource from other tables, e.g. a port's `fixed_ips`). */
  storage: 'column' | 'json' | 'derived';
  column?: string;
  /** Column type, for converting row values and query-string filters. */
  type: 'string' | 'boolean' | 'integer' | 'json';
  post?: boolean;
  put?: boolean;
  /** The value when a create omits it. Without one (and without `optional`), the attribute is required on create. */
  default?: unknown;
  /** May be omitted on create; the resource then fills it in (e.g. a port's MAC address). */
  optional?: boolean;
  convert?: Convert;
  filter?: boolean;
  sort?: boolean;
  /** Only an admin may set it (Neutron's `enforce_policy` with an admin-only rule). */
  adminWrite?: boolean;
  /** Only an admin sees it (provider and binding attributes). */
  adminRead?: boolean;
}

export interface ResourceSpec {
  /** `networks` */
  collection: string;
  /** `network` */
  member: string;
  /** The URL segment when it differs from the collection (`security-groups` for `security_groups`). */
  path?: string;
  /** The alias of the extension that provides the resource; `GET /v2.0/` lists only the core resources. */
  extension?: string;
  table: string;
  /** For messages: "Network 1234 could not be found." */
  title: string;
  notFoundType: string;
  notFoundMessage(id: string): string;
  attributes: AttributeSpec[];
}

export type WireObject = Record<string, unknown>;

/**
 * The attributes every Neutron resource with standard attributes has. Some have no `name`, and only those
 * Neutron marks `tag_support` have `tags` (security group rules, for one, have neither).
 */
export function standardAttributes({ name = true, tags = true }: { name?: boolean; tags?: boolean } = {}): AttributeSpec[] {
  const attrs: AttributeSpec[] = [
    { name: 'id', storage: 'column', type: 'string', filter: true, sort: true },
    { name: 'project_id', storage: 'column', type: 'string', post: true, convert: string(255), filter: true, sort: true },
    { name: 'tenant_id', storage: 'derived', type: 'string', post: true, convert: string(255), filter: true, sort: true },
    { name: 'description', storage: 'column', type: 'string', post: true, put: true, default: '', convert: string(255), filter: true, sort: true },
    ...(tags ? [{ name: 'tags', storage: 'derived', type: 'json', filter: true } satisfies AttributeSpec] : []),
    { name: 'created_at', storage: 'column', type: 'string', filter: true, sort: true },
    { name: 'updated_at', storage: 'column', type: 'string', filter: true, sort: true },
    { name: 'revision_number', storage: 'column', type: 'integer', filter: true, sort: true },
  ];
  if (name) attrs.splice(1, 0, { name: 'name', storage: 'column', type: 'string', post: true, put: true, default: '', convert: string(255), filter: true, sort: true });
  return attrs;
}

export function columnOf(attr: AttributeSpec): string {
  return attr.column ?? attr.name;
}

export function attribute(spec: ResourceSpec, name: string): AttributeSpec | undefined {
  return spec.attributes.find((a) => a.name === name);
}

export function hasTags(spec: ResourceSpec): boolean {
  return attribute(spec, 'tags') !== undefined;
}

function convertOne(attr: AttributeSpec, value: unknown): unknown {
  if (!attr.convert) return value;
  try {
    return attr.convert(value);
  } catch (err) {
    // Neutron converts request values with webob's HTTPBadRequest, not its InvalidInput exception.
    if (err instanceof InvalidValue) throw badRequest(`Invalid input for ${attr.name}. Reason: ${err.message}.`);
    throw err;
  }
}

/** Unwraps `{"network": {...}}`, refusing anything else with Neutron's messages. */
export function memberBody(spec: ResourceSpec, body: unknown): WireObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('Body contains invalid data');
  }
  const inner = (body as Record<string, unknown>)[spec.member];
  if (inner === undefined) throw badRequest(`Unable to find '${spec.member}' in request body`);
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw badRequest('Body contains invalid data');
  return inner as WireObject;
}

function checkKnown(spec: ResourceSpec, values: WireObject): void {
  const known = new Set(spec.attributes.map((a) => a.name));
  const extra = Object.keys(values).filter((k) => !known.has(k));
  if (extra.length) throw badRequest(`Unrecognized attribute(s) '${extra.join(', ')}'`);
}

function checkPolicy(spec: ResourceSpec, action: 'create' | 'update', values: WireObject, auth: AuthContext): void {
  if (auth.isAdmin) return;
  for (const attr of spec.attributes) {
    if (attr.adminWrite && values[attr.name] !== undefined) {
      throw forbidden(`(rule:${action}_${spec.member} and rule:${action}_${spec.member}:${attr.name}) is disallowed by policy`);
    }
  }
}

/**
 * Turns a create request's attributes into a complete, validated object (defaults filled, values canonical),
 * owned by the caller's project unless an admin names another one.
 */
export function prepareCreate(spec: ResourceSpec, values: WireObject, auth: AuthContext): WireObject {
  checkKnown(spec, values);
  const out: WireObject = {};
  for (const attr of spec.attributes) {
    const given = values[attr.name];
    if (!attr.post) {
      if (given !== undefined) throw badRequest(`Attribute '${attr.name}' not allowed in POST`);
      continue;
    }
    if (given === undefined) {
      if ('default' in attr) out[attr.name] = structuredClone(attr.default);
      else if (!attr.optional && attr.name !== 'tenant_id' && attr.name !== 'project_id') {
        throw badRequest(`Failed to parse request. Required attribute '${attr.name}' not specified`);
      }
      continue;
    }
    out[attr.name] = convertOne(attr, given);
  }
  out.project_id = resolveOwner(out, auth);
  delete out.tenant_id;
  checkPolicy(spec, 'create', values, auth);
  return out;
}

function resolveOwner(values: WireObject, auth: AuthContext): string {
  const { project_id: projectId, tenant_id: tenantId } = values as { project_id?: string; tenant_id?: string };
  if (projectId !== undefined && tenantId !== undefined && projectId !== tenantId) {
    throw badRequest("'project_id' and 'tenant_id' do not match");
  }
  const owner = projectId ?? tenantId ?? auth.projectId;
  if (owner !== auth.projectId && !auth.isAdmin) {
    throw badRequest(
      "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin or advsvc privileges",
    );
  }
  return owner;
}

/** Validates an update request: only attributes allowed on PUT, converted to canonical form. */
export function prepareUpdate(spec: ResourceSpec, values: WireObject, auth: AuthContext): WireObject {
  checkKnown(spec, values);
  const out: WireObject = {};
  for (const [name, given] of Object.entries(values)) {
    const attr = attribute(spec, name)!;
    if (!attr.put) throw badRequest(`Cannot update read-only attribute ${name}`);
    out[name] = convertOne(attr, given);
  }
  checkPolicy(spec, 'update', values, auth);
  return out;
}

/** A stored row as the wire object (columns only; the resource adds derived attributes). */
export function rowToObject(spec: ResourceSpec, row: Record<string, unknown>): WireObject {
  const out: WireObject = {};
  for (const attr of spec.attributes) {
    if (attr.storage === 'derived') continue;
    const raw = row[columnOf(attr)];
    out[attr.name] = fromColumn(attr, raw);
  }
  if ('project_id' in out) out.tenant_id = out.project_id;
  return out;
}

function fromColumn(attr: AttributeSpec, raw: unknown): unknown {
  if (raw === null || raw === undefined) return attr.storage === 'json' ? null : (raw ?? null);
  if (attr.storage === 'json') return JSON.parse(String(raw));
  if (attr.type === 'boolean') return raw === 1 || raw === true || raw === '1';
  if (attr.type === 'integer') return Number(raw);
  return raw;
}

/** The column values for writing `values` (only attributes that are stored in this table). */
export function toColumns(spec: ResourceSpec, values: WireObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const attr of spec.attributes) {
    if (attr.storage === 'derived' || !(attr.name in values)) continue;
    out[columnOf(attr)] = toColumn(attr, values[attr.name]);
  }
  return out;
}

export function toColumn(attr: AttributeSpec, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (attr.storage === 'json') return JSON.stringify(value);
  if (attr.type === 'boolean') return value ? 1 : 0;
  return value;
}

/** Hides what the caller may not see, then keeps only the requested `fields` (all when none). */
export function present(spec: ResourceSpec, object: WireObject, auth: AuthContext, fields: string[]): WireObject {
  const out: WireObject = {};
  for (const attr of spec.attributes) {
    if (attr.adminRead && !auth.isAdmin) continue;
    if (fields.length && !fields.includes(attr.name)) continue;
    if (attr.name in object) out[attr.name] = object[attr.name];
  }
  return out;
}

export function notFound(spec: ResourceSpec, id: string): ApiError {
  return new ApiError(404, spec.notFoundType, spec.notFoundMessage(id));
}
