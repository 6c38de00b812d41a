// The patch formats PATCH accepts. Pure: they take the current object and the patch and
// return the new object, or throw PatchError (the server turns it into a 4xx Status).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export class PatchError extends Error {
  /** 422 when the patch is well-formed but cannot apply (json-patch `test`), else 400. */
  constructor(
    message: string,
    readonly code: 400 | 422 = 400,
  ) {
    super(message);
  }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key] ?? null, value);
  }
  return result;
}

interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: Json;
  from?: string;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer: ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: Json, tokens: string[]): Json | undefined {
  let v: Json | undefined = doc;
  for (const t of tokens) {
    if (Array.isArray(v)) v = /^\d+$/.test(t) ? v[Number(t)] : undefined;
    else if (isObject(v)) v = Object.prototype.hasOwnProperty.call(v, t) ? v[t] : undefined;
    else return undefined;
  }
  return v;
}

function parentOf(doc: Json, tokens: string[], path: string): { parent: JsonObject | Json[]; last: string } {
  const parent = getAt(doc, tokens.slice(0, -1));
  if (!isObject(parent) && !Array.isArray(parent)) throw new PatchError(`doc is missing path: "${path}"`);
  return { parent, last: tokens[tokens.length - 1] };
}

function arrayIndex(arr: Json[], token: string, path: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  const bound = forInsert ? arr.length : arr.length - 1;
  if (!/^\d+$/.test(token) || Number(token) > bound) throw new PatchError(`unable to access invalid index: ${token} in "${path}"`);
  return Number(token);
}

function remove(doc: Json, path: string): { doc: Json; removed: Json } {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, path, false);
    return { doc, removed: parent.splice(i, 1)[0] };
  }
  if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
  const removed = parent[last];
  delete parent[last];
  return { doc, removed };
}

function add(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, path, !replace);
    parent.splice(i, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    parent[last] = value;
  }
  return doc;
}

/** RFC 6902, applied to a copy; any failing operation rejects the whole patch. */
export function applyJsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw new PatchError('json patch must be an array of operations');
  let doc = structuredClone(target);
  for (const raw of patch) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw new PatchError(`invalid operation ${JSON.stringify(raw)}`);
    const op = raw as unknown as JsonPatchOperation;
    switch (op.op) {
      case 'add':
      case 'replace':
        if (op.value === undefined) throw new PatchError(`${op.op} operation at ${op.path} has no value`);
        doc = add(doc, op.path, structuredClone(op.value), op.op === 'replace');
        break;
      case 'remove':
        doc = remove(doc, op.path).doc;
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(`${op.op} operation at ${op.path} has no from`);
        const value = op.op === 'move' ? remove(doc, op.from).removed : getAt(doc, parsePointer(op.from));
        if (value === undefined) throw new PatchError(`${op.op} operation does not apply: doc is missing from path: ${op.from}`);
        doc = add(doc, op.path, structuredClone(value), false);
        break;
      }
      case 'test': {
        const actual = getAt(doc, parsePointer(op.path));
        if (JSON.stringify(actual) !== JSON.stringify(op.value)) throw new PatchError(`testing value ${op.path} failed: test failed`, 422);
        break;
      }
      default:
        throw new PatchError(`Unexpected kind: ${String((raw as JsonObject).op)}`);
    }
  }
  return doc;
}
