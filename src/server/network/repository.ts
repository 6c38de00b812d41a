import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Db } from '../../store/database.js';
import { attribute, columnOf, type ResourceSpec } from './attributes.js';
import type { ListQuery, SortKey } from './list-query.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Builder = ExpressionBuilder<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Select = SelectQueryBuilder<any, any, any>;
export type Row = Record<string, unknown>;

/** Restricts a query to what the caller may see; undefined means everything (admin). */
export type VisibilityFilter = ((eb: Builder) => Expression<SqlBool>) | undefined;

/** A filter that a resource answers with its own SQL (e.g. a port's `fixed_ips`). */
export type CustomFilter = (query: Select, values: unknown[]) => Select;

export async function getRow(db: Db, spec: ResourceSpec, id: string, visible: VisibilityFilter): Promise<Row | undefined> {
  let q = db.selectFrom(spec.table).selectAll().where('id', '=', id);
  if (visible) q = q.where(visible);
  return (await q.executeTakeFirst()) as Row | undefined;
}

/** Locks the row for the rest of the transaction on PostgreSQL, so a compare-and-swap reads what it replaces. */
export async function getRowForUpdate(db: Db, dialect: string, spec: ResourceSpec, id: string, visible: VisibilityFilter): Promise<Row | undefined> {
  let q = db.selectFrom(spec.table).selectAll().where('id', '=', id);
  if (visible) q = q.where(visible);
  if (dialect === 'postgres') q = q.forUpdate();
  return (await q.executeTakeFirst()) as Row | undefined;
}

export interface ListOptions {
  visible: VisibilityFilter;
  customFilters?: Record<string, CustomFilter>;
}

/**
 * Rows matching a list query, in order, one page of them when a limit is set (Neutron's native pagination:
 * keyset over the sort keys with `id` as the final tie-break, so pages never skip or repeat rows).
 */
export async function listRows(db: Db, spec: ResourceSpec, query: ListQuery, options: ListOptions, markerRow?: Row): Promise<Row[]> {
  let q: Select = db.selectFrom(spec.table).selectAll();
  if (options.visible) q = q.where(options.visible);
  for (const [name, values] of query.filters) {
    const custom = options.customFilters?.[name];
    if (custom) {
      q = custom(q, values);
      continue;
    }
    const attr = attribute(spec, name)!;
    const column = columnOf(attr);
    const nonNull = values.filter((v) => v !== null && v !== '');
    const wantsEmpty = values.some((v) => v === '' || v === null);
    if (attr.type === 'string' && wantsEmpty && nonNull.length === 0) {
      q = q.where((eb) => eb.or([eb(column, '=', ''), eb(column, 'is', null)]));
    } else {
      q = q.where(column, 'in', values);
    }
  }
  q = applyTagFilters(q, spec, query.tags);

  const sort: SortKey[] = [...query.sort];
  if (!sort.some((s) => s.attribute === 'id')) sort.push({ attribute: 'id', ascending: true });
  const effective = sort.map((s) => ({ column: columnOf(attribute(spec, s.attribute)!), ascending: query.pageReverse ? !s.ascending : s.ascending }));
  if (markerRow) q = q.where((eb) => afterMarker(eb, effective, markerRow));
  for (const s of effective) q = q.orderBy(s.column, s.ascending ? 'asc' : 'desc');
  if (query.limit !== undefined) q = q.limit(query.limit);
  const rows = (await q.execute()) as Row[];
  return query.pageReverse ? rows.reverse() : rows;
}

/** (k1, k2, ...) strictly after the marker's values in the given directions, as nested OR/AND. */
function afterMarker(eb: Builder, keys: { column: string; ascending: boolean }[], marker: Row): Expression<SqlBool> {
  const clauses: Expression<SqlBool>[] = keys.map((key, i) => {
    const equalBefore = keys.slice(0, i).map((k) => eb(k.column, '=', marker[k.column]));
    const beyond = eb(key.column, key.ascending ? '>' : '<', marker[key.column]);
    return eb.and([...equalBefore, beyond]);
  });
  return eb.or(clauses);
}

function applyTagFilters(q: Select, spec: ResourceSpec, tags: ListQuery['tags']): Select {
  const hasTag = (eb: Builder, tag: string) =>
    eb.exists(
      eb
        .selectFrom('tags')
        .select(sql`1`.as('one'))
        .where('tags.resource_type', '=', spec.collection)
        .whereRef('tags.resource_id', '=', `${spec.table}.id`)
        .where('tags.tag', '=', tag),
    );
  if (tags.all.length) q = q.where((eb) => eb.and(tags.all.map((t) => hasTag(eb, t))));
  if (tags.any.length) q = q.where((eb) => eb.or(tags.any.map((t) => hasTag(eb, t))));
  if (tags.notAll.length) q = q.where((eb) => eb.not(eb.and(tags.notAll.map((t) => hasTag(eb, t)))));
  if (tags.notAny.length) q = q.where((eb) => eb.not(eb.or(tags.notAny.map((t) => hasTag(eb, t)))));
  return q;
}

/** Tags of many objects in one query, in a stable order. */
export async function tagsOf(db: Db, resourceType: string, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const id of ids) out.set(id, []);
  for (const chunk of chunks(ids, 500)) {
    const rows = (await db
      .selectFrom('tags')
      .select(['resource_id', 'tag'])
      .where('resource_type', '=', resourceType)
      .where('resource_id', 'in', chunk)
      .orderBy('tag')
      .execute()) as { resource_id: string; tag: string }[];
    for (const r of rows) out.get(r.resource_id)?.push(r.tag);
  }
  return out;
}

/** Splits a list so IN (...) lists stay under SQLite's bound-parameter limit. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
