// Compact maps for the DNS index, which holds every Service and EndpointSlice of the cluster in
// every worker. At 50,000 services a Set per address and a "namespace/name" key per object (a
// concatenated string plus its flat copy) were close to half of the index.

// A few values stored as the value itself when alone (nearly always) and as an array otherwise.
// Values must not be arrays themselves.
type Few<V> = V | V[];

function withValue<V>(current: Few<V> | undefined, value: V): Few<V> {
  if (current === undefined) return value;
  if (Array.isArray(current)) {
    if (!current.includes(value)) current.push(value);
    return current;
  }
  return current === value ? current : [current, value];
}

function withoutValue<V>(current: Few<V> | undefined, value: V): Few<V> | undefined {
  if (current === undefined || current === value) return undefined;
  if (!Array.isArray(current)) return current;
  const rest = current.filter((v) => v !== value);
  return rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : rest;
}

function valuesOf<V>(current: Few<V> | undefined): readonly V[] {
  if (current === undefined) return [];
  return Array.isArray(current) ? current : [current];
}

// key -> a few values (address -> the objects that have it).
export class MultiMap<K, V extends object | string> {
  private readonly map = new Map<K, Few<V>>();

  add(key: K, value: V): void {
    this.map.set(key, withValue(this.map.get(key), value));
  }

  remove(key: K, value: V): void {
    const rest = withoutValue(this.map.get(key), value);
    if (rest === undefined) this.map.delete(key);
    else this.map.set(key, rest);
  }

  get(key: K): readonly V[] {
    return valuesOf(this.map.get(key));
  }
}

// namespace -> name -> value, two levels instead of composite keys.
export class NamespacedMap<V> {
  private readonly namespaces = new Map<string, Map<string, V>>();
  size = 0;

  get(namespace: string, name: string): V | undefined {
    return this.namespaces.get(namespace)?.get(name);
  }

  set(namespace: string, name: string, value: V): void {
    let names = this.namespaces.get(namespace);
    if (!names) {
      names = new Map();
      this.namespaces.set(namespace, names);
    }
    if (!names.has(name)) this.size++;
    names.set(name, value);
  }

  delete(namespace: string, name: string): V | undefined {
    const names = this.namespaces.get(namespace);
    const old = names?.get(name);
    if (!names || old === undefined) return undefined;
    names.delete(name);
    this.size--;
    if (names.size === 0) this.namespaces.delete(namespace);
    return old;
  }

  *keys(): IterableIterator<[namespace: string, name: string]> {
    for (const [namespace, names] of this.namespaces) for (const name of names.keys()) yield [namespace, name];
  }
}

// namespace -> name -> a few values (service -> its endpoint slices).
export class NamespacedMultiMap<V extends object | string> {
  private readonly map = new NamespacedMap<Few<V>>();

  add(namespace: string, name: string, value: V): void {
    this.map.set(namespace, name, withValue(this.map.get(namespace, name), value));
  }

  remove(namespace: string, name: string, value: V): void {
    const rest = withoutValue(this.map.get(namespace, name), value);
    if (rest === undefined) this.map.delete(namespace, name);
    else this.map.set(namespace, name, rest);
  }

  get(namespace: string, name: string): readonly V[] {
    return valuesOf(this.map.get(namespace, name));
  }
}
