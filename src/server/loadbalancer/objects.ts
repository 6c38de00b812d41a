import type { Db } from '../../store/database.js';
import type { WriteTx } from '../../store/store.js';
import { notFound, rowToObject, toColumns, type ResourceSpec, type WireObject } from '../network/attributes.js';
import { chunks, getRowForUpdate, tagsOf, type Row } from '../network/repository.js';
import {
  CHANGE_RESOURCE,
  healthMonitorSpec,
  l7PolicySpec,
  listenerSpec,
  loadBalancerSpec,
  poolSpec,
  REQUEST_ONLY,
} from './schemas.js';

/**
 * Reading and writing balancer objects as Octavia's wire objects, every write logged with the object's state
 * after and before it. Shared by the API's service and the lifecycle steps the provisioning controller runs.
 */

const idRefs = (ids: string[]) => ids.map((id) => ({ id }));

/** Ids of `table` rows whose `column` is one of `keys`, grouped by that column, in creation order. */
async function idsBy(db: Db, table: string, column: string, keys: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(keys.map((k) => [k, []]));
  for (const chunk of chunks(keys, 500)) {
    const rows = (await db.selectFrom(table).select(['id', column]).where(column, 'in', chunk).orderBy('created_at').orderBy('id').execute()) as Row[];
    for (const r of rows) out.get(r[column] as string)?.push(r.id as string);
  }
  return out;
}

/** Rows as wire objects, with the attributes derived from other tables (child ids, tags). */
export async function toWireObjects(db: Db, spec: ResourceSpec, rows: Row[]): Promise<WireObject[]> {
  const objects = rows.map((r) => rowToObject(spec, r));
  if (objects.length === 0) return objects;
  const ids = objects.map((o) => o.id as string);
  const tags = await tagsOf(db, spec.collection, ids);
  objects.forEach((o, i) => {
    o.tags = tags.get(ids[i]) ?? [];
  });
  if (spec === loadBalancerSpec) {
    const listeners = await idsBy(db, 'lb_listeners', 'load_balancer_id', ids);
    const pools = await idsBy(db, 'lb_pools', 'load_balancer_id', ids);
    objects.forEach((o, i) => {
      o.listeners = idRefs(listeners.get(ids[i])!);
      o.pools = idRefs(pools.get(ids[i])!);
    });
  } else if (spec === listenerSpec) {
    const policies = await idsBy(db, 'lb_l7policies', 'listener_id', ids);
    objects.forEach((o, i) => {
      o.loadbalancers = [{ id: rows[i].load_balancer_id }];
      o.l7policies = idRefs(policies.get(ids[i])!);
    });
  } else if (spec === poolSpec) {
    const members = await idsBy(db, 'lb_members', 'pool_id', ids);
    const monitors = await idsBy(db, 'lb_health_monitors', 'pool_id', ids);
    const byDefault = await idsBy(db, 'lb_listeners', 'default_pool_id', ids);
    const byPolicy = await idsBy(db, 'lb_l7policies', 'redirect_pool_id', ids);
    const policyListeners = new Map<string, string>();
    for (const chunk of chunks([...byPolicy.values()].flat(), 500)) {
      const rows = (await db.selectFrom('lb_l7policies').select(['id', 'listener_id']).where('id', 'in', chunk).execute()) as Row[];
      for (const r of rows) policyListeners.set(r.id as string, r.listener_id as string);
    }
    objects.forEach((o, i) => {
      const listeners = new Set([...byDefault.get(ids[i])!, ...byPolicy.get(ids[i])!.map((p) => policyListeners.get(p)!)]);
      o.loadbalancers = [{ id: rows[i].load_balancer_id }];
      o.listeners = idRefs([...listeners]);
      o.members = idRefs(members.get(ids[i])!);
      o.healthmonitor_id = monitors.get(ids[i])![0] ?? null;
    });
  } else if (spec === healthMonitorSpec) {
    for (const o of objects) o.pools = [{ id: o.pool_id }];
  } else if (spec === l7PolicySpec) {
    const rules = await idsBy(db, 'lb_l7rules', 'l7policy_id', ids);
    objects.forEach((o, i) => {
      o.rules = idRefs(rules.get(ids[i])!);
    });
  }
  return objects;
}

/** The object as the API shows it: without request-only attributes, and only `fields` when asked. */
export function present(spec: ResourceSpec, object: WireObject, fields: string[] = []): WireObject {
  const hidden = REQUEST_ONLY.get(spec) ?? [];
  const out: WireObject = {};
  for (const attr of spec.attributes) {
    if (hidden.includes(attr.name) || !(attr.name in object)) continue;
    if (fields.length && !fields.includes(attr.name)) continue;
    out[attr.name] = object[attr.name];
  }
  return out;
}

export async function getObject(db: Db, spec: ResourceSpec, id: string): Promise<WireObject | undefined> {
  const row = (await db.selectFrom(spec.table).selectAll().where('id', '=', id).executeTakeFirst()) as Row | undefined;
  return row ? (await toWireObjects(db, spec, [row]))[0] : undefined;
}

/** The row (locked until commit on PostgreSQL) and its wire object; 404 in Octavia's words when missing. */
export async function getForWrite(tx: WriteTx, spec: ResourceSpec, id: string): Promise<{ row: Row; object: WireObject }> {
  const row = await getRowForUpdate(tx.db, tx.dialect, spec, id, undefined);
  if (!row) throw notFound(spec, id);
  return { row, object: (await toWireObjects(tx.db, spec, [row]))[0] };
}

export function recordChange(tx: WriteTx, spec: ResourceSpec, action: 'create' | 'update' | 'delete', body: WireObject | null, previous: WireObject | null): void {
  const object = (body ?? previous)!;
  tx.record({ resource: CHANGE_RESOURCE.get(spec)!, id: object.id as string, projectId: object.project_id as string, action, body, previous });
}

/** Inserts an object (attribute values plus columns that are no attribute, e.g. load_balancer_id) and logs it. */
export async function insertObject(tx: WriteTx, spec: ResourceSpec, values: WireObject, columns: Row = {}): Promise<WireObject> {
  await tx.db.insertInto(spec.table).values({ ...toColumns(spec, values), ...columns }).execute();
  const tags = (values.tags as string[] | undefined) ?? [];
  if (tags.length) await tx.db.insertInto('tags').values(tags.map((tag) => ({ resource_type: spec.collection, resource_id: values.id, tag }))).execute();
  const object = (await getObject(tx.db, spec, values.id as string))!;
  recordChange(tx, spec, 'create', object, null);
  return object;
}

/** Writes changed attributes (and extra columns), stamps updated_at, logs before and after. */
export async function updateObject(tx: WriteTx, spec: ResourceSpec, previous: WireObject, changes: WireObject, columns: Row = {}): Promise<WireObject> {
  const id = previous.id as string;
  const set = { ...toColumns(spec, changes), ...columns, updated_at: tx.now };
  await tx.db.updateTable(spec.table).set(set).where('id', '=', id).execute();
  if (changes.tags !== undefined) {
    await tx.db.deleteFrom('tags').where('resource_type', '=', spec.collection).where('resource_id', '=', id).execute();
    const tags = changes.tags as string[];
    if (tags.length) await tx.db.insertInto('tags').values(tags.map((tag) => ({ resource_type: spec.collection, resource_id: id, tag }))).execute();
  }
  const object = (await getObject(tx.db, spec, id))!;
  recordChange(tx, spec, 'update', object, previous);
  return object;
}

export async function deleteObject(tx: WriteTx, spec: ResourceSpec, previous: WireObject): Promise<void> {
  const id = previous.id as string;
  await tx.db.deleteFrom('tags').where('resource_type', '=', spec.collection).where('resource_id', '=', id).execute();
  await tx.db.deleteFrom(spec.table).where('id', '=', id).execute();
  recordChange(tx, spec, 'delete', null, previous);
}
