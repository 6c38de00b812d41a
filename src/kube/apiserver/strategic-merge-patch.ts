// Strategic merge patch, as kubectl apply/edit/patch send it, for the kinds served here.
// It is a JSON merge patch except for lists: lists declared with a merge key in the Go types
// merge element by element, and `$patch`, `$setElementOrder/`, `$deleteFromPrimitiveList/`
// and `$retainKeys` directives steer the merge. The table below is those Go struct tags.
import { PatchError, type Json, type JsonObject } from './patch.js';

/** Dotted field paths (list indices dropped) to their patchMergeKey. */
const MERGE_KEYS: Record<string, string> = {
  'metadata.ownerReferences': 'uid',
  'metadata.managedFields': 'manager',
  'spec.ports': 'port',
  'spec.volumes': 'name',
  'spec.imagePullSecrets': 'name',
  'spec.hostAliases': 'ip',
  'spec.taints': 'key',
  'status.conditions': 'type',
  'status.addresses': 'type',
  'status.podIPs': 'ip',
  'status.hostIPs': 'ip',
  ...Object.fromEntries(
    ['spec.containers', 'spec.initContainers', 'spec.ephemeralContainers'].flatMap((c) => [
      [c, 'name'],
      [`${c}.ports`, 'containerPort'],
      [`${c}.env`, 'name'],
      [`${c}.volumeMounts`, 'mountPath'],
      [`${c}.volumeDevices`, 'devicePath'],
    ]),
  ),
};

/** Primitive lists with patchStrategy "merge": the patch's values are added, not substituted. */
const MERGED_PRIMITIVE_LISTS = new Set(['metadata.finalizers', 'spec.podCIDRs']);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function withoutDirective(o: JsonObject): JsonObject {
  const copy = { ...o };
  delete copy.$patch;
  return copy;
}

function mergeList(original: Json | undefined, patch: Json[], path: string): Json[] {
  const mergeKey = MERGE_KEYS[path];
  if (mergeKey) {
    if (patch.some((e) => isObject(e) && e.$patch === 'replace')) {
      return patch.filter((e) => !(isObject(e) && e.$patch === 'replace')).map((e) => (isObject(e) ? withoutDirective(e) : e));
    }
    const result = Array.isArray(original) ? [...original] : [];
    for (const item of patch) {
      if (!isObject(item) || item[mergeKey] === undefined) throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
      const i = result.findIndex((o) => isObject(o) && o[mergeKey] === item[mergeKey]);
      if (item.$patch === 'delete') {
        if (i >= 0) result.splice(i, 1);
      } else if (i >= 0) result[i] = mergeObject(result[i], item, path) ?? null;
      else result.push(mergeObject(undefined, item, path) ?? null);
    }
    return result;
  }
  if (MERGED_PRIMITIVE_LISTS.has(path)) {
    const result = Array.isArray(original) ? [...original] : [];
    for (const v of patch) if (!result.includes(v)) result.push(v);
    return result;
  }
  return patch;
}

function orderBy(list: Json[], order: Json[], mergeKey: string | undefined): Json[] {
  const keyOf = (e: Json) => JSON.stringify(mergeKey && isObject(e) ? e[mergeKey] : e);
  const rank = new Map(order.map((e, i) => [keyOf(e), i]));
  const ranked = list.map((e, i) => ({ e, r: rank.get(keyOf(e)) ?? order.length + i }));
  return ranked.sort((a, b) => a.r - b.r).map(({ e }) => e);
}

/** Merges `patch` into `original`; undefined means the patch deleted the whole object. */
function mergeObject(original: Json | undefined, patch: JsonObject, path: string): Json | undefined {
  if (patch.$patch === 'replace') return withoutDirective(patch);
  if (patch.$patch === 'delete') return undefined;
  const result: JsonObject = isObject(original) ? { ...original } : {};
  const orders: Array<[string, Json[]]> = [];
  const deletions: Array<[string, Json[]]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) {
      if (Array.isArray(value)) orders.push([key.slice('$setElementOrder/'.length), value]);
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      if (Array.isArray(value)) deletions.push([key.slice('$deleteFromPrimitiveList/'.length), value]);
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = mergeList(result[key], value, childPath);
    else if (isObject(value)) {
      const merged = mergeObject(result[key], value, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else result[key] = value;
  }
  for (const [field, values] of deletions) {
    const list = result[field];
    if (Array.isArray(list)) result[field] = list.filter((v) => !values.includes(v));
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list)) result[field] = orderBy(list, order, MERGE_KEYS[path ? `${path}.${field}` : field]);
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys);
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}

export function applyStrategicMergePatch(original: JsonObject, patch: JsonObject): JsonObject {
  const merged = mergeObject(original, patch, '');
  if (!isObject(merged)) throw new PatchError('a strategic merge patch may not delete the whole object');
  return merged;
}
