import { randomUUID } from 'node:crypto';
import type { Db, DialectName } from '../../store/database.js';
import type { Store, WriteTx } from '../../store/store.js';
import { ApiError, badRequest, forbidden, preconditionFailed } from '../../lib/errors.js';
import type { AuthContext } from '../auth.js';
import {
  hasTags,
  memberBody,
  notFound,
  prepareCreate,
  prepareUpdate,
  present,
  rowToObject,
  toColumns,
  type ResourceSpec,
  type WireObject,
} from './attributes.js';
import { parseListQuery, type QueryParams } from './list-query.js';
import { getRow, getRowForUpdate, listRows, tagsOf, type CustomFilter, type Row, type VisibilityFilter } from './repository.js';
import {
  string,
  InvalidValue,
  invalidInput,
} from './validators.js';

/** What a Neutron resource adds to the generic machinery: who sees what, derived attributes, and its rules. */
export interface Resource {
  spec: ResourceSpec;
  /** SQL restriction to the rows the caller may see (undefined: all). */
  visibleTo(auth: AuthContext): VisibilityFilter;
  /** Filters answered by the resource's own SQL (e.g. `fixed_ips`). */
  customFilters?: Record<string, CustomFilter>;
  /** Fills derived attributes of objects read from rows (e.g. a network's `subnets`), in bulk. */
  hydrate?(db: Db, objects: WireObject[]): Promise<void>;
  /** Inserts a prepared object (defaults filled, owner set); returns nothing, the object is read back after. */
  create(tx: WriteTx, values: WireObject, auth: AuthContext): Promise<void>;
  /** Applies validated changes to the current object. Default: write the changed columns. */
  update?(tx: WriteTx, current: WireObject, changes: WireObject, auth: AuthContext): Promise<void>;
  /** Checks and performs a delete, including dependent rows. Default: delete the row. */
  delete?(tx: WriteTx, current: WireObject, auth: AuthContext): Promise<void>;
  /** Whether the caller may change this visible object (e.g. a shared network it does not own: no). */
  canModify?(object: WireObject, auth: AuthContext): boolean;
  /** Objects cannot be changed once created (security group rules): PUT is 405. */
  immutable?: boolean;
  /**
   * Checks the prepared items of one create request together and returns them in canonical form, before
   * anything is written (e.g. the same security group rule twice in one bulk request).
   */
  prepareBatch?(items: WireObject[], auth: AuthContext): WireObject[];
  /**
   * A write that must have happened before `projectId`'s objects are listed (Neutron creates a project's
   * default security group when the project first lists its groups). Must be cheap when already done.
   */
  prepareList?(store: Store, projectId: string, auth: AuthContext): Promise<void>;
}

export interface ListResult {
  items: WireObject[];
  links: { rel: string; href: string }[];
}

const REVISION_ETAG = /^revision_number=(\d+)$/;

/** The service every collection is served by: Neutron's API semantics over a `Resource`. */
export class ResourceService {
  constructor(
    readonly resource: Resource,
    private readonly store: Store,
    private readonly enforceQuota: (tx: WriteTx, projectId: string, resource: string) => Promise<void> = async () => undefined,
  ) {}

  get spec(): ResourceSpec {
    return this.resource.spec;
  }

  async list(auth: AuthContext, params: QueryParams, selfUrl: string): Promise<ListResult> {
    const query = parseListQuery(this.spec, params, Object.keys(this.resource.customFilters ?? {}));
    const visible = this.resource.visibleTo(auth);
    const projectFilter = query.filters.get('project_id')?.[0];
    await this.resource.prepareList?.(this.store, typeof projectFilter === 'string' ? projectFilter : auth.projectId, auth);
    return this.store.read(async (db) => {
      let markerRow: Row | undefined;
      if (query.marker) {
        markerRow = await getRow(db, this.spec, query.marker, visible);
        if (!markerRow) throw notFound(this.spec, query.marker);
      }
      const rows = await listRows(db, this.spec, query, { visible, customFilters: this.resource.customFilters }, markerRow);
      const objects = await this.hydrate(db, rows);
      const items = objects.map((o) => present(this.spec, o, auth, query.fields));
      return { items, links: paginationLinks(selfUrl, params, objects, query.limit, query.pageReverse) };
    });
  }

  async show(auth: AuthContext, id: string, fields: string[]): Promise<WireObject> {
    return this.store.read(async (db) => present(this.spec, await this.load(db, id, auth), auth, fields));
  }

  /** One object (`{"network": {}}`) or a bulk request (`{"networks": [...]}`), all or nothing. */
  async create(auth: AuthContext, body: unknown): Promise<{ bulk: boolean; items: WireObject[] }> {
    const bulkItems = bulkBody(this.spec, body);
    const requests = bulkItems ?? [memberBody(this.spec, body)];
    const each = requests.map((r) => prepareCreate(this.spec, r, auth));
    const prepared = this.resource.prepareBatch ? this.resource.prepareBatch(each, auth) : each;
    const items = await this.store.write(async (tx) => {
      const created: WireObject[] = [];
      for (const values of prepared) {
        const id = randomUUID();
        await this.enforceQuota(tx, values.project_id as string, this.spec.member);
        await this.resource.create(tx, { ...values, id, created_at: tx.now, updated_at: tx.now, revision_number: 1 }, auth);
        const object = await this.load(tx.db, id, undefined);
        this.record(tx, 'create', object, null);
        created.push(object);
      }
      return created;
    });
    return { bulk: bulkItems !== undefined, items: items.map((o) => present(this.spec, o, auth, [])) };
  }

  async update(auth: AuthContext, id: string, body: unknown, ifMatch: string | undefined): Promise<WireObject> {
    if (this.resource.immutable) throw new ApiError(405, 'HTTPMethodNotAllowed', `A ${this.spec.member} cannot be updated.`);
    const changes = prepareUpdate(this.spec, memberBody(this.spec, body), auth);
    const expected = parseIfMatch(ifMatch);
    const updated = await this.store.write(async (tx) => {
      const current = await this.loadForWrite(tx, id, auth, 'update');
      checkRevision(current, expected);
      if (this.resource.update) await this.resource.update(tx, current, changes, auth);
      else await writeColumns(tx, this.spec, id, changes);
      await bumpRevision(tx, this.spec, id);
      const object = await this.load(tx.db, id, undefined);
      this.record(tx, 'update', object, current);
      return object;
    });
    return present(this.spec, updated, auth, []);
  }

  async delete(auth: AuthContext, id: string, ifMatch: string | undefined): Promise<void> {
    const expected = parseIfMatch(ifMatch);
    await this.store.write(async (tx) => {
      const current = await this.loadForWrite(tx, id, auth, 'delete');
      checkRevision(current, expected);
      if (this.resource.delete) await this.resource.delete(tx, current, auth);
      else await tx.db.deleteFrom(this.spec.table).where('id', '=', id).execute();
      if (hasTags(this.spec)) {
        await tx.db.deleteFrom('tags').where('resource_type', '=', this.spec.collection).where('resource_id', '=', id).execute();
      }
      this.record(tx, 'delete', null, current);
    });
  }

  async replaceTags(auth: AuthContext, id: string, tags: string[] | undefined, add?: string, remove?: string): Promise<string[]> {
    return this.store.write(async (tx) => {
      const current = await this.loadForWrite(tx, id, auth, 'update');
      let next = new Set(current.tags as string[]);
      if (tags) next = new Set(tags);
      if (add !== undefined) next.add(add);
      if (remove !== undefined) {
        if (!next.has(remove)) throw new ApiError(404, 'TagNotFound', `Tag ${remove} could not be found for ${this.spec.member} ${id}.`);
        next.delete(remove);
      }
      const before = new Set(current.tags as string[]);
      if ([...next].sort().join('\n') === [...before].sort().join('\n')) return [...before].sort();
      await tx.db.deleteFrom('tags').where('resource_type', '=', this.spec.collection).where('resource_id', '=', id).execute();
      if (next.size) {
        await tx.db
          .insertInto('tags')
          .values([...next].map((tag) => ({ resource_type: this.spec.collection, resource_id: id, tag })))
          .execute();
      }
      await bumpRevision(tx, this.spec, id);
      const object = await this.load(tx.db, id, undefined);
      this.record(tx, 'update', object, current);
      return object.tags as string[];
    });
  }

  /**
   * A write elsewhere changes this object (a group's rules, a network's subnets): runs it between reading the
   * object's state before and after, bumps its revision and logs both states.
   */
  async change(tx: WriteTx, id: string, write: () => Promise<void>): Promise<void> {
    const previous = await this.load(tx.db, id, undefined);
    await write();
    await bumpRevision(tx, this.spec, id);
    this.record(tx, 'update', await this.load(tx.db, id, undefined), previous);
  }

  /** A change the system itself makes (a port's status from its agent), bypassing the API's attribute rules. */
  async internalUpdate(tx: WriteTx, id: string, changes: WireObject): Promise<WireObject> {
    const previous = await this.load(tx.db, id, undefined);
    await writeColumns(tx, this.spec, id, changes);
    await bumpRevision(tx, this.spec, id);
    const object = await this.load(tx.db, id, undefined);
    this.record(tx, 'update', object, previous);
    return object;
  }

  async tagsOf(auth: AuthContext, id: string): Promise<string[]> {
    return this.store.read(async (db) => (await this.load(db, id, auth)).tags as string[]);
  }

  /** The full object (every attribute, derived ones included) as the caller may see it; 404 otherwise. */
  async load(db: Db, id: string, auth: AuthContext | undefined): Promise<WireObject> {
    const row = await getRow(db, this.spec, id, auth ? this.resource.visibleTo(auth) : undefined);
    if (!row) throw notFound(this.spec, id);
    return (await this.hydrate(db, [row]))[0];
  }

  private async loadForWrite(tx: WriteTx, id: string, auth: AuthContext, action: 'update' | 'delete'): Promise<WireObject> {
    const row = await getRowForUpdate(tx.db, tx.dialect, this.spec, id, this.resource.visibleTo(auth));
    if (!row) throw notFound(this.spec, id);
    const object = (await this.hydrate(tx.db, [row]))[0];
    if (this.resource.canModify && !this.resource.canModify(object, auth)) {
      throw forbidden(`(rule:${action}_${this.spec.member}) is disallowed by policy`);
    }
    return object;
  }

  async hydrate(db: Db, rows: Row[]): Promise<WireObject[]> {
    const objects = rows.map((r) => rowToObject(this.spec, r));
    if (objects.length === 0) return objects;
    if (hasTags(this.spec)) {
      const tags = await tagsOf(
        db,
        this.spec.collection,
        objects.map((o) => o.id as string),
      );
      for (const o of objects) o.tags = tags.get(o.id as string) ?? [];
    }
    await this.resource.hydrate?.(db, objects);
    return objects;
  }

  /** Logs a write with the object's state after (`body`, null for a delete) and before (`previous`, null for a create). */
  record(tx: WriteTx, action: 'create' | 'update' | 'delete', body: WireObject | null, previous: WireObject | null): void {
    const object = (body ?? previous)!;
    tx.record({ resource: this.spec.member, id: object.id as string, projectId: object.project_id as string, action, body, previous });
  }
}

export async function writeColumns(tx: WriteTx, spec: ResourceSpec, id: string, changes: WireObject): Promise<void> {
  const columns = toColumns(spec, changes);
  if (Object.keys(columns).length) await tx.db.updateTable(spec.table).set(columns).where('id', '=', id).execute();
}

/** Every write to an object moves its revision_number on and stamps updated_at. */
export async function bumpRevision(tx: WriteTx, spec: ResourceSpec, id: string): Promise<void> {
  await tx.db
    .updateTable(spec.table)
    .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: tx.now }))
    .where('id', '=', id)
    .execute();
}

function bulkBody(spec: ResourceSpec, body: unknown): WireObject[] | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const list = (body as Record<string, unknown>)[spec.collection];
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length === 0) throw badRequest('Resources required');
  return list.map((item) => memberBody(spec, { [spec.member]: item }));
}

function parseIfMatch(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''));
  const revisions = tags.filter((t) => t.startsWith('revision_number='));
  if (revisions.length > 1) throw badRequest('Multiple revision_number etags are not supported.');
  if (revisions.length === 0) return undefined;
  const m = REVISION_ETAG.exec(revisions[0]);
  if (!m) throw badRequest('Revision number etag must be in the format of revision_number=<int>');
  return Number(m[1]);
}

function checkRevision(current: WireObject, expected: number | undefined): void {
  if (expected !== undefined && current.revision_number !== expected) {
    throw preconditionFailed(`Constrained to ${expected}, but current revision is ${String(current.revision_number)}`);
  }
}

/** Neutron's (and Octavia's) `links` of one page: next and previous, each with the marker of the page's edge. */
export function paginationLinks(selfUrl: string, params: QueryParams, objects: WireObject[], limit: number | undefined, pageReverse: boolean) {
  const links: { rel: string; href: string }[] = [];
  if (!limit) return links;
  const link = (marker: string | undefined, reverse: boolean) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (k === 'marker' || k === 'page_reverse' || v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) search.append(k, item);
    }
    if (marker) search.set('marker', marker);
    if (reverse) search.set('page_reverse', 'True');
    return `${selfUrl}?${search.toString()}`;
  };
  if (!(objects.length < limit && !pageReverse)) links.push({ rel: 'next', href: link(objects.at(-1)?.id as string, false) });
  if (!(objects.length < limit && pageReverse)) links.push({ rel: 'previous', href: link(objects[0]?.id as string, true) });
  return links;
}

/** Validates a tag as Neutron does: a non-empty string of at most 255 characters without a comma. */
export function checkTag(tag: unknown): string {
  try {
    const t = string(255)(tag) as string;
    if (!t || t.includes(',')) throw new InvalidValue(`'${t}' is not a valid tag`);
    return t;
  } catch (err) {
    if (err instanceof InvalidValue) throw invalidInput(`${err.message}`);
    throw err;
  }
}

export type { DialectName };
