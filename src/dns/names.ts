// Domain names inside the server are lower case, without the trailing dot; the root is ''.
// Queries keep their original spelling separately so answers can echo the client's case.

export function normalizeName(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

export function fqdn(name: string): string {
  return name === '' ? '.' : name.endsWith('.') ? name : name + '.';
}

export function isSubdomain(name: string, zone: string): boolean {
  return zone === '' || name === zone || (name.length > zone.length && name.endsWith(zone) && name[name.length - zone.length - 1] === '.');
}

// Longest zone that contains name, or null.
export function matchZone(name: string, zones: readonly string[]): string | null {
  let best: string | null = null;
  for (const z of zones) {
    if (isSubdomain(name, z) && (best === null || z.length > best.length)) best = z;
  }
  return best;
}

// The labels of name left of zone ('' when name is the zone itself).
export function trimZone(name: string, zone: string): string {
  if (zone === '') return name;
  if (name.length === zone.length) return '';
  return name.slice(0, name.length - zone.length - 1);
}
