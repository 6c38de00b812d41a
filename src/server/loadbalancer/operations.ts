import { randomUUID } from 'node:crypto';
import { ApiError, badRequest, conflict } from '../../lib/errors.js';
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

  // ---- flavor profiles (admin only) and flavors (read by whoever reads balancers) --------------------------------

  async createFlavorProfile(auth: AuthContext, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const values = prepareCreate(flavorProfileSpec, memberBody(flavorProfileSpec, body), auth);
    checkProvider(values.provider_name);
    checkFlavorData(values.flavor_data);
    const object = await this.store.write((tx) => insertObject(tx, flavorProfileSpec, { ...values, id: randomUUID() }));
    return present(flavorProfileSpec, object);
  }

  async updateFlavorProfile(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const changes = prepareUpdate(flavorProfileSpec, memberBody(flavorProfileSpec, body), auth);
    if ('provider_name' in changes) checkProvider(changes.provider_name);
    if ('flavor_data' in changes) checkFlavorData(changes.flavor_data);
    const object = await this.store.write(async (tx) => {
      const { object: current } = await getForWrite(tx, flavorProfileSpec, id);
      await profileUnused(tx, flavorProfileSpec, id, 'modified');
      return updateObject(tx, flavorProfileSpec, current, changes);
    });
    return present(flavorProfileSpec, object);
  }

  async deleteFlavorProfile(auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const { object } = await getForWrite(tx, flavorProfileSpec, id);
      await profileUnused(tx, flavorProfileSpec, id, 'deleted');
      await deleteObject(tx, flavorProfileSpec, object);
    });
  }

  async createFlavor(auth: AuthContext, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const values = prepareCreate(flavorSpec, memberBody(flavorSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const profile = await tx.db.selectFrom('lb_flavor_profiles').select('id').where('id', '=', values.flavor_profile_id as string).executeTakeFirst();
      if (!profile) throw notFound(flavorProfileSpec, values.flavor_profile_id as string);
      const sameName = await tx.db.selectFrom('lb_flavors').select('id').where('name', '=', values.name as string).executeTakeFirst();
      if (sameName) throw conflict(`A flavor of name ${String(values.name)} already exists.`, 'RecordAlreadyExists');
      return insertObject(tx, flavorSpec, { ...values, id: randomUUID() });
    });
    return present(flavorSpec, object);
  }

  async updateFlavor(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const changes = prepareUpdate(flavorSpec, memberBody(flavorSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const { object: current } = await getForWrite(tx, flavorSpec, id);
      return updateObject(tx, flavorSpec, current, changes);
    });
    return present(flavorSpec, object);
  }

  async deleteFlavor(auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const { object } = await getForWrite(tx, flavorSpec, id);
      const used = await tx.db.selectFrom('load_balancers').select('id').where('flavor_id', '=', id).executeTakeFirst();
      if (used) throw conflict(`Flavor ${id} is in use and cannot be deleted.`, 'ObjectInUse');
      await deleteObject(tx, flavorSpec, object);
    });
  }

  // ---- availability zone profiles (admin only) and availability zones (read by whoever reads balancers) ----------

  async createAvailabilityZoneProfile(auth: AuthContext, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const values = prepareCreate(availabilityZoneProfileSpec, memberBody(availabilityZoneProfileSpec, body), auth);
    checkProvider(values.provider_name);
    parseAvailabilityZoneData(values.availability_zone_data as string);
    const object = await this.store.write((tx) => insertObject(tx, availabilityZoneProfileSpec, { ...values, id: randomUUID() }));
    return present(availabilityZoneProfileSpec, object);
  }

  async updateAvailabilityZoneProfile(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const changes = prepareUpdate(availabilityZoneProfileSpec, memberBody(availabilityZoneProfileSpec, body), auth);
    if ('provider_name' in changes) checkProvider(changes.provider_name);
    if ('availability_zone_data' in changes) parseAvailabilityZoneData(changes.availability_zone_data as string);
    const object = await this.store.write(async (tx) => {
      const { object: current } = await getForWrite(tx, availabilityZoneProfileSpec, id);
      await profileUnused(tx, availabilityZoneProfileSpec, id, 'modified');
      return updateObject(tx, availabilityZoneProfileSpec, current, changes);
    });
    return present(availabilityZoneProfileSpec, object);
  }

  async deleteAvailabilityZoneProfile(auth: AuthContext, id: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const { object } = await getForWrite(tx, availabilityZoneProfileSpec, id);
      await profileUnused(tx, availabilityZoneProfileSpec, id, 'deleted');
      await deleteObject(tx, availabilityZoneProfileSpec, object);
    });
  }

  async createAvailabilityZone(auth: AuthContext, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const values = prepareCreate(availabilityZoneSpec, memberBody(availabilityZoneSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const profile = await tx.db.selectFrom('lb_availability_zone_profiles').select('id').where('id', '=', values.availability_zone_profile_id as string).executeTakeFirst();
      if (!profile) throw notFound(availabilityZoneProfileSpec, values.availability_zone_profile_id as string);
      const sameName = await tx.db.selectFrom('lb_availability_zones').select('id').where('name', '=', values.name as string).executeTakeFirst();
      if (sameName) throw conflict(`An availability zone of name ${String(values.name)} already exists.`, 'RecordAlreadyExists');
      return insertObject(tx, availabilityZoneSpec, { ...values, id: values.name });
    });
    return present(availabilityZoneSpec, object);
  }

  async updateAvailabilityZone(auth: AuthContext, name: string, body: unknown): Promise<WireObject> {
    requireLbAdmin(auth);
    const changes = prepareUpdate(availabilityZoneSpec, memberBody(availabilityZoneSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const { object: current } = await getForWrite(tx, availabilityZoneSpec, name);
      return updateObject(tx, availabilityZoneSpec, current, changes);
    });
    return present(availabilityZoneSpec, object);
  }

  async deleteAvailabilityZone(auth: AuthContext, name: string): Promise<void> {
    requireLbAdmin(auth);
    await this.store.write(async (tx) => {
      const { object } = await getForWrite(tx, availabilityZoneSpec, name);
      const used = await tx.db.selectFrom('load_balancers').select('id').where('availability_zone', '=', name).executeTakeFirst();
      if (used) throw conflict(`Availability Zone ${name} is in use and cannot be deleted.`, 'ObjectInUse');
      await deleteObject(tx, availabilityZoneSpec, object);
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

/** A flavor or zone profile in use is fixed: balancers were built by it. */
async function profileUnused(tx: WriteTx, spec: ResourceSpec, id: string, verb: string): Promise<void> {
  const [table, column] = spec === flavorProfileSpec ? ['lb_flavors', 'flavor_profile_id'] : ['lb_availability_zones', 'availability_zone_profile_id'];
  const used = await tx.db.selectFrom(table).select('id').where(column, '=', id).executeTakeFirst();
  if (used) throw conflict(`${spec.title} ${id} is in use and cannot be ${verb}.`, 'ObjectInUse');
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
