// Objects by resource and key, one global resourceVersion (like etcd's revision), and a
// bounded history of changes so a list or watch can start from a past version. History
// older than the window is gone, which is what makes clients see `410 Gone`.
//
// Stored objects are never mutated: every write stores a new object, so lists, watch
// events and history entries can share them without copying.
import type { JsonObject } from './patch.js';

export type KubeObject = JsonObject & { metadata: JsonObject };

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  type: ChangeType;
  /** The resource's key in the store, e.g. "services" or "endpointslices.discovery.k8s.io". */
  resource: string;
  resourceVersion: number;
  /** The object after the change; for DELETED, the last state stamped with the deletion's version. */
  object: KubeObject;
  /** The object before the change (MODIFIED and DELETED). */
  previous?: KubeObject;
}

export type Expired = { expired: true; oldest: number };

/** Objects sort as etcd keys do: by namespace, then by name. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function keyOf(o: KubeObject): string {
  return objectKey(o.metadata.namespace as string | undefined, o.metadata.name as string);
}

function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The keys >= `from` of one namespace (a "ns/" prefix, names hold no '/') or of all. */
function keysInRange(keys: string[], namespace: string | undefined, from: string): string[] {
  const prefix = namespace ? `${namespace}/` : '';
  const start = lowerBound(keys, from > prefix ? from : prefix);
  if (!prefix) return keys.slice(start);
  let end = start;
  while (end < keys.length && keys[end].startsWith(prefix)) end++;
  return keys.slice(start, end);
}

function mergeSorted(a: string[], b: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out;
}

function withResourceVersion(o: KubeObject, rv: number): KubeObject {
  return { ...o, metadata: { ...o.metadata, resourceVersion: String(rv) } };
}

export class ObjectStore {
  private revision = 0;
  /** Every change with resourceVersion > compactedThrough is still in `history`. */
  private compactedThrough = 0;
  private readonly history: Change[] = [];
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly sorted = new Map<string, string[]>();
  private readonly listeners = new Set<(change: Change) => void>();

  constructor(private readonly historyLimit: number) {}

  resourceVersion(): number {
    return this.revision;
  }

  /** The oldest version a watch or list can still start from. */
  oldestResourceVersion(): number {
    return this.compactedThrough;
  }

  private bucket(resource: string): Map<string, KubeObject> {
    let b = this.objects.get(resource);
    if (!b) {
      b = new Map();
      this.objects.set(resource, b);
    }
    return b;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(resource)?.get(objectKey(namespace, name));
  }

  // Keys in order, cached until the next create or delete of that resource, so paging
  // through a large list does not sort it again for every page.
  private sortedKeys(resource: string): string[] {
    let keys = this.sorted.get(resource);
    if (!keys) {
      keys = [...(this.objects.get(resource)?.keys() ?? [])].sort();
      this.sorted.set(resource, keys);
    }
    return keys;
  }

  /** Current objects of a resource in key order, optionally of one namespace, from key `from` on. */
  list(resource: string, namespace?: string, from = ''): KubeObject[] {
    const bucket = this.objects.get(resource);
    if (!bucket) return [];
    return keysInRange(this.sortedKeys(resource), namespace, from).map((k) => bucket.get(k)!);
  }

  /** The objects as they were at `rv`, rebuilt by undoing later changes; Expired when history is too short. */
  listAt(resource: string, namespace: string | undefined, rv: number, from = ''): KubeObject[] | Expired {
    if (rv < this.compactedThrough) return { expired: true, oldest: this.compactedThrough };
    const past = new Map<string, KubeObject | undefined>();
    for (let i = this.history.length - 1; i >= 0 && this.history[i].resourceVersion > rv; i--) {
      const change = this.history[i];
      if (change.resource !== resource) continue;
      past.set(keyOf(change.object), change.type === 'ADDED' ? undefined : change.previous);
    }
    if (past.size === 0) return this.list(resource, namespace, from);
    const bucket = this.objects.get(resource) ?? new Map<string, KubeObject>();
    const keys = mergeSorted(this.sortedKeys(resource), [...past.keys()].sort());
    const result: KubeObject[] = [];
    for (const key of keysInRange(keys, namespace, from)) {
      const o = past.has(key) ? past.get(key) : bucket.get(key);
      if (o) result.push(o);
    }
    return result;
  }

  /** Changes after `rv`, oldest first; Expired when some of them were compacted away. */
  changesSince(rv: number): Change[] | Expired {
    if (rv < this.compactedThrough) return { expired: true, oldest: this.compactedThrough };
    let i = this.history.length;
    while (i > 0 && this.history[i - 1].resourceVersion > rv) i--;
    return this.history.slice(i);
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(change: Change): void {
    this.history.push(change);
    // Trim in batches so a busy store does not pay an O(window) shift on every write.
    if (this.history.length > this.historyLimit + Math.ceil(this.historyLimit / 4)) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedThrough = dropped[dropped.length - 1].resourceVersion;
    }
    for (const listener of [...this.listeners]) listener(change);
  }

  /** Stores a new object; the caller has checked it does not exist. Returns it with its resourceVersion. */
  create(resource: string, object: KubeObject): KubeObject {
    const stored = withResourceVersion(object, ++this.revision);
    this.bucket(resource).set(keyOf(stored), stored);
    this.sorted.delete(resource);
    this.record({ type: 'ADDED', resource, resourceVersion: this.revision, object: stored });
    return stored;
  }

  update(resource: string, object: KubeObject): KubeObject {
    const previous = this.get(resource, object.metadata.namespace as string | undefined, object.metadata.name as string);
    if (!previous) throw new Error(`update of a missing object ${resource} ${keyOf(object)}`);
    const stored = withResourceVersion(object, ++this.revision);
    this.bucket(resource).set(keyOf(stored), stored);
    this.record({ type: 'MODIFIED', resource, resourceVersion: this.revision, object: stored, previous });
    return stored;
  }

  delete(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const previous = this.get(resource, namespace, name);
    if (!previous) return undefined;
    this.bucket(resource).delete(objectKey(namespace, name));
    this.sorted.delete(resource);
    const stamped = withResourceVersion(previous, ++this.revision);
    this.record({ type: 'DELETED', resource, resourceVersion: this.revision, object: stamped, previous });
    return stamped;
  }
}
