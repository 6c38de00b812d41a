import { randomUUID } from 'node:crypto';
import { ApiError, badRequest, conflict } from '../../lib/errors.js';
import type { Db } from '../../store/database.js';
import type { Store, WriteTx } from '../../store/store.js';
import type { AmphoraHealthReport } from '../../agents/amphora/target.js';
import type { AuthContext } from '../auth.js';
import { memberBody, notFound, prepareCreate, prepareUpdate, type ResourceSpec, type WireObject } from '../network/attributes.js';
import { uuid } from '../network/validators.js';
import { deleteObject, getForWrite, insertObject, present, updateObject } from './objects.js';
import { isQuotaGlobalReader, requireLbAdmin, requireQuotaRead, requireQuotaWrite } from './policy.js';
import { QUOTA_RESOURCES, quotaLimits } from './quotas.js';
import { unsupportedOption, validationFailure } from './rules.js';
import { amphoraSpec, availabilityZoneProfileSpec, availabilityZoneSpec, flavorProfileSpec, flavorSpec, loadBalancerSpec, PROVIDERS } from './schemas.js';

/** What an amphora flavor profile may set: only the topology, the one choice cloudnet's amphorae offer. */
export const FLAVOR_CAPABILITIES = [
  { name: 'loadbalancer_topology', description: 'The load balancer topology. One of: SINGLE - One amphora per load balancer. ACTIVE_STANDBY - Two amphora per load balancer.' },
];

/**
 * What an amphora availability zone profile may set, as Octavia's amphora driver (without its `volume_zone`:
 * cloudnet has no volumes). The compute zone and management network are recorded; the lab has no zones to place
 * amphorae in, and amphorae reach the control plane over the host's management path.
 */
export const AVAILABILITY_ZONE_CAPABILITIES = [
  { name: 'compute_zone', description: 'The compute availability zone.' },
  { name: 'management_network', description: 'The ID of the network the amphorae are managed over.' },
  { name: 'valid_vip_networks', description: 'The IDs of the networks a VIP in this zone may be on; a load balancer on another network is refused.' },
];

export interface AvailabilityZoneData {
  compute_zone?: string;
  management_network?: string;
  valid_vip_networks?: string[];
}

function checkProvider(name: unknown): void {
  if (!PROVIDERS.some((p) => p.name === name)) throw new ApiError(400, 'ProviderNotFound', `Provider '${String(name)}' was not found.`);
}

/** `flavor_data` is a JSON object text of the provider's capabilities. */
function checkFlavorData(text: unknown): void {
  let data: unknown;
  try {
    data = JSON.parse(String(text));
  } catch {
    throw validationFailure('flavor_data must be a JSON object.');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw validationFailure('flavor_data must be a JSON object.');
  for (const [key, value] of Object.entries(data)) {
    if (!FLAVOR_CAPABILITIES.some((c) => c.name === key)) throw new ApiError(400, 'ProviderUnsupportedOptionError', `Provider 'amphora' does not support a requested option: ${key} is not a flavor capability.`);
    if (key === 'loadbalancer_topology' && value !== 'SINGLE' && value !== 'ACTIVE_STANDBY') {
      throw new ApiError(400, 'ProviderUnsupportedOptionError', `Provider 'amphora' does not support a requested option: loadbalancer_topology ${String(value)}.`);
    }
  }
}

/** `availability_zone_data`: a JSON object text of the capabilities above; what the provider cannot take is 501, as Octavia's. */
export function parseAvailabilityZoneData(text: string): AvailabilityZoneData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw validationFailure('availability_zone_data must be a JSON object.');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw validationFailure('availability_zone_data must be a JSON object.');
  const isUuid = (v: unknown) => {
    try {
      uuid(v);
      return true;
    } catch {
      return false;
    }
  };
  for (const [key, value] of Object.entries(data)) {
    if (!AVAILABILITY_ZONE_CAPABILITIES.some((c) => c.name === key)) throw unsupportedOption(`${key} is not an availability zone capability.`);
    const valid = key === 'compute_zone' ? typeof value === 'string' && value !== '' : key === 'management_network' ? isUuid(value) : Array.isArray(value) && value.every(isUuid);
    if (!valid) throw unsupportedOption(`${key} ${JSON.stringify(value)} is not ${key === 'compute_zone' ? 'a zone name' : key === 'management_network' ? 'a network ID' : 'a list of network IDs'}.`);
  }
  return data as AvailabilityZoneData;
}

/**
 * Provider profiles and the named entries that use them, which Octavia keeps alike for flavors and availability
 * zones: admin-only writes, a profile in use is neither changed nor deleted, entry names are unique, an entry a
 * balancer uses stays.
 */
export interface Catalogue {
  profile: ResourceSpec;
  /** The profile's provider document, checked on create and update. */
  dataField: string;
  checkData(text: unknown): void;
  entry: ResourceSpec;
  /** The entry's column naming its profile. */
  profileColumn: string;
  /** How a name conflict begins: "A flavor", "An availability zone". */
  entryNoun: string;
  entryId(values: WireObject): string;
  /** The balancers' column naming an entry. */
  balancerColumn: string;
}

export const FLAVORS: Catalogue = {
  profile: flavorProfileSpec,
  dataField: 'flavor_data',
  checkData: checkFlavorData,
  entry: flavorSpec,
  profileColumn: 'flavor_profile_id',
  entryNoun: 'A flavor',
  entryId: () => randomUUID(),
  balancerColumn: 'flavor_id',
};

export const AVAILABILITY_ZONES: Catalogue = {
  profile: availabilityZoneProfileSpec,
  dataField: 'availability_zone_data',
  checkData: (text) => void parseAvailabilityZoneData(text as string),
  entry: availabilityZoneSpec,
  profileColumn: 'availability_zone_profile_id',
  entryNoun: 'An availability zone',
  // Zones are known by name.
  entryId: (values) => values.name as string,
  balancerColumn: 'availability_zone',
};

/** The entry a balancer names (a flavor by id, a zone by name, which is its id): whether it is enabled, and its profile's document. */
export async function readCatalogueEntry(db: Db, catalogue: Catalogue, id: string): Promise<{ enabled: boolean; data: string } | undefined> {
  const { entry, profile } = catalogue;
  const row = (await db
    .selectFrom(entry.table)
    .innerJoin(profile.table, `${profile.table}.id`, `${entry.table}.${catalogue.profileColumn}`)
    .select([`${entry.table}.enabled as enabled`, `${profile.table}.${catalogue.dataField} as data`])
    .where(`${entry.table}.id`, '=', id)
    .executeTakeFirst()) as { enabled: number; data: string } | undefined;
  return row && { enabled: Number(row.enabled) === 1, data: row.data };
}

/**
 * The operator's side of the API: failovers (recorded for the provisioning controller to act on), amphorae,
 * flavors and their profiles, quotas.
 */
export class OperationsService {
  constructor(
    private readonly store: Store,
    private readonly defaultQuotas: Record<string, number>,
  ) {}

  /** Marks `amphoraIds` for replacement and the balancer PENDING_UPDATE; the controller replaces them. */
  private async requestFailover(tx: WriteTx, loadBalancerId: string, amphoraIds: string[]): Promise<void> {
    const { object: lb } = await getForWrite(tx, loadBalancerSpec, loadBalancerId);
    if (lb.provisioning_status !== 'ACTIVE') throw new ApiError(409, 'ImmutableObject', `Load Balancer ${loadBalancerId} is immutable and cannot be updated.`);
    for (const id of amphoraIds) {
      const { object } = await getForWrite(tx, amphoraSpec, id);
      await updateObject(tx, amphoraSpec, object, {}, { failover_requested: 1 });
    }
    await updateObject(tx, loadBalancerSpec, lb, { provisioning_status: 'PENDING_UPDATE' });
  }

  async failoverLoadBalancer(auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const amphorae = (await tx.db.selectFrom('amphorae').select('id').where('loadbalancer_id', '=', id).where('status', '!=', 'DELETED').execute()) as { id: string }[];
      await this.requestFailover(tx, id, amphorae.map((a) => a.id));
    });
  }

  async failoverAmphora(auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const { row } = await getForWrite(tx, amphoraSpec, id);
      if (!row.loadbalancer_id) throw validationFailure(`Amphora ${id} is not associated with a load balancer.`);
      await this.requestFailover(tx, row.loadbalancer_id as string, [id]);
    });
  }

  /** `PUT /amphorae/{id}/config`: asks for the amphora's agent configuration to be sent again (a logged touch). */
  async refreshAmphoraConfig(auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const { object } = await getForWrite(tx, amphoraSpec, id);
      await updateObject(tx, amphoraSpec, object, {});
    });
  }

  /** Per-listener counters of one amphora, from its last health report. */
  async amphoraStats(auth: AuthContext, id: string): Promise<unknown[]> {
    requireLbAdmin(auth);
    const row = await this.store.read((db) => db.selectFrom('amphorae').select(['id', 'loadbalancer_id', 'health']).where('id', '=', id).executeTakeFirst());
    if (!row) throw notFound(amphoraSpec, id);
    const health = row.health ? (JSON.parse(row.health as string) as AmphoraHealthReport) : null;
    return Object.entries(health?.listeners ?? {}).map(([listenerId, { stats }]) => ({
      id: row.id,
      loadbalancer_id: row.loadbalancer_id,
      listener_id: listenerId,
      active_connections: stats.activeConnections,
      bytes_in: stats.bytesIn,
      bytes_out: stats.bytesOut,
      request_errors: stats.requestErrors,
      total_connections: stats.totalConnections,
    }));
  }

  // ---- profiles (admin only) and their catalogue entries (read by whoever reads balancers) -------------------------

  async createProfile(catalogue: Catalogue, auth: AuthContext, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const { profile } = catalogue;
    const values = prepareCreate(profile, memberBody(profile, body), auth);
    checkProvider(values.provider_name);
    catalogue.checkData(values[catalogue.dataField]);
    const object = await this.store.write((tx) => insertObject(tx, profile, { ...values, id: randomUUID() }));
    return present(profile, object);
  }

  async updateProfile(catalogue: Catalogue, auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const { profile } = catalogue;
    const changes = prepareUpdate(profile, memberBody(profile, body), auth);
    if ('provider_name' in changes) checkProvider(changes.provider_name);
    if (catalogue.dataField in changes) catalogue.checkData(changes[catalogue.dataField]);
    const object = await this.store.write(async (tx) => {
      const { object: current } = await getForWrite(tx, profile, id);
      await profileUnused(tx, catalogue, id, 'modified');
      return updateObject(tx, profile, current, changes);
    });
    return present(profile, object);
  }

  async deleteProfile(catalogue: Catalogue, auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const { object } = await getForWrite(tx, catalogue.profile, id);
      await profileUnused(tx, catalogue, id, 'deleted');
      await deleteObject(tx, catalogue.profile, object);
    });
  }

  async createEntry(catalogue: Catalogue, auth: AuthContext, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const { entry, profile } = catalogue;
    const values = prepareCreate(entry, memberBody(entry, body), auth);
    const profileId = values[catalogue.profileColumn] as string;
    const object = await this.store.write(async (tx) => {
      const found = await tx.db.selectFrom(profile.table).select('id').where('id', '=', profileId).executeTakeFirst();
      if (!found) throw notFound(profile, profileId);
      const sameName = await tx.db.selectFrom(entry.table).select('id').where('name', '=', values.name as string).executeTakeFirst();
      if (sameName) throw conflict(`${catalogue.entryNoun} of name ${String(values.name)} already exists.`, 'RecordAlreadyExists');
      return insertObject(tx, entry, { ...values, id: catalogue.entryId(values) });
    });
    return present(entry, object);
  }

  async updateEntry(catalogue: Catalogue, auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const { entry } = catalogue;
    const changes = prepareUpdate(entry, memberBody(entry, body), auth);
    const object = await this.store.write(async (tx) => {
      const { object: current } = await getForWrite(tx, entry, id);
      return updateObject(tx, entry, current, changes);
    });
    return present(entry, object);
  }

  async deleteEntry(catalogue: Catalogue, auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    const { entry } = catalogue;
    await this.store.write(async (tx) => {
      const { object } = await getForWrite(tx, entry, id);
      const used = await tx.db.selectFrom('load_balancers').select('id').where(catalogue.balancerColumn, '=', id).executeTakeFirst();
      if (used) throw conflict(`${entry.title} ${id} is in use and cannot be deleted.`, 'ObjectInUse');
      await deleteObject(tx, entry, object);
    });
  }

  // ---- quotas ------------------------------------------------------------------------------------------------------

  async listQuotas(auth: AuthContext, projectFilter: string | undefined): Promise<WireObject[]> {
    requireQuotaRead(auth, auth.projectId);
    return this.store.read(async (db) => {
      let q = db.selectFrom('lb_quotas').select('project_id').distinct().orderBy('project_id');
      if (!isQuotaGlobalReader(auth)) q = q.where('project_id', '=', auth.projectId);
      if (projectFilter) q = q.where('project_id', '=', projectFilter);
      const rows = (await q.execute()) as { project_id: string }[];
      const out: WireObject[] = [];
      for (const { project_id } of rows) out.push({ project_id, ...(await quotaLimits(db, this.defaultQuotas, project_id)) });
      return out;
    });
  }

  async showQuota(auth: AuthContext, projectId: string): Promise<WireObject> {
    requireQuotaRead(auth, projectId);
    return this.store.read((db) => quotaLimits(db, this.defaultQuotas, projectId));
  }

  defaults(auth: AuthContext): WireObject {
    requireQuotaRead(auth, auth.projectId);
    return { ...this.defaultQuotas };
  }

  async updateQuota(auth: AuthContext, projectId: string, body: unknown): Promise<WireObject> {
    requireQuotaWrite(auth);
    const values = parseQuotaBody(body);
    await this.store.write(async (tx) => {
      for (const [resource, limit] of Object.entries(values)) {
        await tx.db
          .insertInto('lb_quotas')
          .values({ project_id: projectId, resource, quota_limit: limit })
          .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ quota_limit: limit }))
          .execute();
      }
    });
    return this.store.read((db) => quotaLimits(db, this.defaultQuotas, projectId));
  }

  async resetQuota(auth: AuthContext, projectId: string): Promise<void> {
    requireQuotaWrite(auth);
    await this.store.write(async (tx) => {
      await tx.db.deleteFrom('lb_quotas').where('project_id', '=', projectId).execute();
    });
  }
}

/** A profile an entry names is fixed: balancers were built by it. */
async function profileUnused(tx: WriteTx, catalogue: Catalogue, id: string, verb: string): Promise<void> {
  const used = await tx.db.selectFrom(catalogue.entry.table).select('id').where(catalogue.profileColumn, '=', id).executeTakeFirst();
  if (used) throw conflict(`${catalogue.profile.title} ${id} is in use and cannot be ${verb}.`, 'ObjectInUse');
}

/** `{"quota": {"load_balancer": 5, …}}`: known resources, integers from -1 (unlimited) up; null resets to default. */
function parseQuotaBody(body: unknown): Record<string, number> {
  const quota = (body as { quota?: unknown } | null)?.quota;
  if (!quota || typeof quota !== 'object' || Array.isArray(quota)) throw badRequest("Unable to find 'quota' in request body");
  const out: Record<string, number> = {};
  for (const [resource, value] of Object.entries(quota as Record<string, unknown>)) {
    if (!(resource in QUOTA_RESOURCES)) throw badRequest(`Unknown attribute for argument quota: ${resource}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < -1 || value > 2_000_000_000) {
      throw badRequest(`Invalid input for field/attribute ${resource}. Value: '${String(value)}'. Value should be greater or equal to -1`);
    }
    out[resource] = value;
  }
  return out;
}
