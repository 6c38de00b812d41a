import { badRequest } from '../../lib/errors.js';
import { attribute, type ResourceSpec } from './attributes.js';
import { boolean, integer, InvalidValue } from './validators.js';

export type QueryParams = Record<string, string | string[] | undefined>;

export interface SortKey {
  attribute: string;
  ascending: boolean;
}

/** A list request, parsed and checked against the resource's attribute map. */
export interface ListQuery {
  /** Attribute -> accepted values (any of them matches), converted to stored form. */
  filters: Map<string, unknown[]>;
  tags: { all: string[]; any: string[]; notAll: string[]; notAny: string[] };
  fields: string[];
  sort: SortKey[];
  limit: number | undefined;
  marker: string | undefined;
  pageReverse: boolean;
}

const RESERVED = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

export function valuesOf(params: QueryParams, key: string): string[] {
  const v = params[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Python's repr of a list of strings, which is how Neutron names bad keys in its messages. */
export function pyList(items: string[]): string {
  return `[${items.map((i) => `'${i}'`).join(', ')}]`;
}

/**
 * Parses Neutron's list query string. `extraFilters` are attributes a resource filters on with its own logic
 * (a port's `fixed_ips`), passed through unconverted.
 */
export function parseListQuery(spec: ResourceSpec, params: QueryParams, extraFilters: string[] = []): ListQuery {
  const filters = new Map<string, unknown[]>();
  const invalid: string[] = [];
  for (const key of Object.keys(params)) {
    if (RESERVED.has(key)) continue;
    const values = valuesOf(params, key);
    if (extraFilters.includes(key)) {
      filters.set(key, values);
      continue;
    }
    const attr = attribute(spec, key);
    if (!attr?.filter || attr.name === 'tags') {
      invalid.push(key);
      continue;
    }
    filters.set(key === 'tenant_id' ? 'project_id' : key, values.map((v) => filterValue(attr.type, key, v)));
  }
  if (invalid.length) throw badRequest(`${pyList(invalid)} is invalid attribute for filtering`);

  const sortKeys = valuesOf(params, 'sort_key').filter(Boolean);
  const sortDirs = valuesOf(params, 'sort_dir').filter(Boolean);
  if (sortKeys.length !== sortDirs.length) throw badRequest('The number of sort_keys and sort_dirs must be same');
  const badKeys = sortKeys.filter((k) => !attribute(spec, k)?.sort);
  if (badKeys.length) throw badRequest(`${pyList(badKeys)} is invalid attribute for sort_keys`);
  const badDirs = sortDirs.filter((d) => d !== 'asc' && d !== 'desc');
  if (badDirs.length) throw badRequest(`${pyList(badDirs)} is invalid value for sort_dirs, valid value is 'asc' and 'desc'`);

  const limitText = valuesOf(params, 'limit')[0];
  let limit: number | undefined;
  if (limitText !== undefined) {
    const n = /^\d+$/.test(limitText) ? Number(limitText) : NaN;
    if (!Number.isSafeInteger(n)) throw badRequest(`Limit must be an integer 0 or greater and not '${limitText}'`);
    limit = n === 0 ? undefined : n;
  }
  const tagList = (key: string) => valuesOf(params, key).flatMap((v) => v.split(',')).filter(Boolean);
  return {
    filters,
    tags: { all: tagList('tags'), any: tagList('tags-any'), notAll: tagList('not-tags'), notAny: tagList('not-tags-any') },
    fields: valuesOf(params, 'fields').flatMap((f) => f.split(',')).filter(Boolean),
    sort: sortKeys.map((k, i) => ({ attribute: k === 'tenant_id' ? 'project_id' : k, ascending: sortDirs[i] === 'asc' })),
    limit,
    marker: valuesOf(params, 'marker')[0] || undefined,
    pageReverse: (valuesOf(params, 'page_reverse')[0] ?? 'false').toLowerCase() === 'true',
  };
}

function filterValue(type: string, key: string, text: string): unknown {
  try {
    if (type === 'boolean') return boolean(text) ? 1 : 0;
    if (type === 'integer') return integer(text);
  } catch (err) {
    if (err instanceof InvalidValue) throw badRequest(`Invalid input for ${key}. Reason: ${err.message}.`);
    throw err;
  }
  return text;
}
