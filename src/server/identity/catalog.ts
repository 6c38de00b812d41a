import { createHash } from 'node:crypto';

export interface CatalogEndpoint {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  region: string;
  region_id: string;
  url: string;
}

export interface CatalogEntry {
  id: string;
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

/** The services this server answers, by catalog type: [OpenStack service name, path under the public URL]. */
const SERVICES: Array<[type: string, name: string, path: string]> = [
  ['identity', 'keystone', '/identity'],
  ['network', 'neutron', '/network'],
  ['load-balancer', 'octavia', '/load-balancer'],
  ['key-manager', 'barbican', '/key-manager'],
];

const INTERFACES = ['public', 'internal', 'admin'] as const;

/**
 * The service catalog, derived from the server's configuration rather than stored: every server on one database
 * advertises itself, and nothing in the database can drift from where the server really listens.
 * Ids are stable digests, so the same configuration always yields the same catalog.
 */
export function buildCatalog(publicUrl: string, region: string): CatalogEntry[] {
  const base = publicUrl.replace(/\/+$/, '');
  return SERVICES.map(([type, name, path]) => ({
    id: stableId(`service:${type}`),
    type,
    name,
    endpoints: INTERFACES.map((iface) => ({
      id: stableId(`endpoint:${type}:${iface}:${region}:${base}`),
      interface: iface,
      region,
      region_id: region,
      url: base + path,
    })),
  }));
}

function stableId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 32);
}
