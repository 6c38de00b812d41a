import { conflict, ApiError } from '../../../lib/errors.js';
import type { Db } from '../../../store/database.js';
import type { WriteTx } from '../../../store/store.js';
import { standardAttributes, toColumns, type ResourceSpec, type WireObject } from '../attributes.js';
import { VXLAN_OVERHEAD, type NetworkConfig } from '../config.js';
import { writeColumns, type Resource } from '../resource.js';
import { chunks } from '../repository.js';
import {
  boolean,
  integer,
  nonNegative,
  oneOf,
  stringOrNull,
  string,
  invalidInput,
} from '../validators.js';

export const networkSpec: ResourceSpec = {
  collection: 'networks',
  member: 'network',
  table: 'networks',
  title: 'Network',
  notFoundType: 'NetworkNotFound',
  notFoundMessage: (id) => `Network ${id} could not be found.`,
  attributes: [
    ...standardAttributes(),
    { name: 'admin_state_up', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean, filter: true, sort: true },
    { name: 'status', storage: 'column', type: 'string', filter: true, sort: true },
    { name: 'shared', storage: 'column', type: 'boolean', post: true, put: true, default: false, convert: boolean, filter: true, adminWrite: true },
    { name: 'router:external', column: 'router_external', storage: 'column', type: 'boolean', post: true, put: true, default: false, convert: boolean, filter: true, adminWrite: true },
    { name: 'mtu', storage: 'column', type: 'integer', post: true, put: true, optional: true, convert: nonNegative, filter: true, sort: true },
    { name: 'port_security_enabled', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean },
    { name: 'provider:network_type', column: 'provider_network_type', storage: 'column', type: 'string', post: true, optional: true, convert: oneOf(['vxlan', 'flat']), filter: true, adminWrite: true, adminRead: true },
    { name: 'provider:physical_network', column: 'provider_physical_network', storage: 'column', type: 'string', post: true, optional: true, convert: stringOrNull(64), filter: true, adminWrite: true, adminRead: true },
    { name: 'provider:segmentation_id', column: 'provider_segmentation_id', storage: 'column', type: 'integer', post: true, optional: true, convert: integer, filter: true, adminWrite: true, adminRead: true },
    { name: 'dns_domain', storage: 'column', type: 'string', post: true, put: true, default: '', convert: string(255) },
    { name: 'subnets', storage: 'derived', type: 'json' },
    { name: 'availability_zone_hints', storage: 'derived', type: 'json' },
    { name: 'availability_zones', storage: 'derived', type: 'json' },
  ],
};

/** Device owners of ports that belong to the network itself and go away with it. */
export const isNetworkOwnedPort = (deviceOwner: string) => deviceOwner.startsWith('network:') && deviceOwner !== 'network:router_interface';

export function createNetworkResource(config: NetworkConfig): Resource {
  return {
    spec: networkSpec,
    visibleTo: (auth) =>
      auth.isAdmin ? undefined : (eb) => eb.or([eb('project_id', '=', auth.projectId), eb('shared', '=', 1), eb('router_external', '=', 1)]),
    canModify: (network, auth) => auth.isAdmin || network.project_id === auth.projectId,
    hydrate: hydrateNetworks,
    async create(tx, values) {
      const segment = await allocateSegment(tx, config, values);
      const mtuMax = segment.type === 'vxlan' ? config.underlayMtu - VXLAN_OVERHEAD : config.underlayMtu;
      const mtu = values.mtu === undefined ? mtuMax : (values.mtu as number);
      checkMtu(mtu, mtuMax);
      const row = toColumns(networkSpec, {
        ...values,
        status: 'ACTIVE',
        mtu,
        'provider:network_type': segment.type,
        'provider:physical_network': segment.physicalNetwork,
        'provider:segmentation_id': segment.segmentationId,
      });
      await tx.db.insertInto('networks').values(row).execute();
    },
    async update(tx, current, changes) {
      if (changes.mtu !== undefined) {
        const type = current['provider:network_type'];
        checkMtu(changes.mtu as number, type === 'vxlan' ? config.underlayMtu - VXLAN_OVERHEAD : config.underlayMtu);
      }
      await writeColumns(tx, networkSpec, current.id as string, changes);
    },
    async delete(tx, current) {
      await deleteNetwork(tx, current);
    },
  };
}

function checkMtu(mtu: number, max: number): void {
  if (mtu < 68) throw invalidInput(`MTU ${mtu} is below the minimum of 68`);
  if (mtu > max) throw invalidInput(`Requested MTU is too big, maximum is ${max}`);
}

interface Segment {
  type: 'vxlan' | 'flat';
  physicalNetwork: string | null;
  segmentationId: number | null;
}

/** Picks the network's segment: a free VNI for tenant networks, or checks an admin's provider request. */
async function allocateSegment(tx: WriteTx, config: NetworkConfig, values: WireObject): Promise<Segment> {
  const type = (values['provider:network_type'] as 'vxlan' | 'flat' | undefined) ?? 'vxlan';
  const physnet = (values['provider:physical_network'] as string | null | undefined) ?? null;
  const requestedId = values['provider:segmentation_id'] as number | null | undefined;
  if (type === 'flat') {
    if (requestedId !== undefined && requestedId !== null) {
      throw invalidInput('segmentation_id specified for flat provider network');
    }
    if (!physnet) throw invalidInput('physical_network required for flat provider network');
    if (!config.physicalNetworks.includes(physnet)) {
      throw invalidInput(`physical_network '${physnet}' unknown for flat provider network`);
    }
    await tx.lock(`flat:${physnet}`);
    const used = await tx.db.selectFrom('networks').select('id').where('provider_network_type', '=', 'flat').where('provider_physical_network', '=', physnet).executeTakeFirst();
    if (used) throw conflict(`Unable to create the flat network. Physical network ${physnet} is in use.`, 'FlatNetworkInUse');
    return { type, physicalNetwork: physnet, segmentationId: null };
  }
  if (physnet) throw invalidInput(`provider:physical_network specified for vxlan network`);
  await tx.lock('vxlan-vni');
  if (requestedId !== undefined && requestedId !== null) {
    if (requestedId < 1 || requestedId > 0xffffff) {
      throw invalidInput(`${requestedId} is not a valid VXLAN VNI, valid range is from 1 to 16777215`);
    }
    const used = await tx.db.selectFrom('networks').select('id').where('provider_network_type', '=', 'vxlan').where('provider_segmentation_id', '=', requestedId).executeTakeFirst();
    if (used) throw conflict(`Unable to create the network. The tunnel ID ${requestedId} is in use.`, 'TunnelIdInUse');
    return { type, physicalNetwork: null, segmentationId: requestedId };
  }
  return { type, physicalNetwork: null, segmentationId: await freeVni(tx.db, config.vniRange) };
}

/** The lowest free VNI of the range: one pass over the used ones, in order. */
async function freeVni(db: Db, [low, high]: [number, number]): Promise<number> {
  const used = (await db
    .selectFrom('networks')
    .select('provider_segmentation_id as vni')
    .where('provider_network_type', '=', 'vxlan')
    .where('provider_segmentation_id', '>=', low)
    .where('provider_segmentation_id', '<=', high)
    .orderBy('provider_segmentation_id')
    .execute()) as { vni: number }[];
  let candidate = low;
  for (const { vni } of used) {
    if (Number(vni) !== candidate) break;
    candidate++;
  }
  if (candidate > high) throw new ApiError(503, 'NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
  return candidate;
}

async function hydrateNetworks(db: Db, networks: WireObject[]): Promise<void> {
  const byId = new Map(networks.map((n) => [n.id as string, n]));
  for (const n of networks) {
    n.subnets = [];
    n.availability_zone_hints = [];
    n.availability_zones = ['nova'];
  }
  for (const chunk of chunks([...byId.keys()], 500)) {
    const rows = (await db.selectFrom('subnets').select(['id', 'network_id']).where('network_id', 'in', chunk).orderBy('created_at').orderBy('id').execute()) as {
      id: string;
      network_id: string;
    }[];
    for (const r of rows) (byId.get(r.network_id)!.subnets as string[]).push(r.id);
  }
}

async function deleteNetwork(tx: WriteTx, network: WireObject): Promise<void> {
  const id = network.id as string;
  const ports = (await tx.db.selectFrom('ports').select(['id', 'device_owner', 'project_id', 'binding_host_id']).where('network_id', '=', id).execute()) as {
    id: string;
    device_owner: string;
    project_id: string;
    binding_host_id: string;
  }[];
  if (ports.some((p) => !isNetworkOwnedPort(p.device_owner))) {
    throw conflict(`Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`, 'NetworkInUse');
  }
  for (const p of ports) {
    await tx.db.deleteFrom('ports').where('id', '=', p.id).execute();
    const previous = { id: p.id, project_id: p.project_id, network_id: id, device_owner: p.device_owner, 'binding:host_id': p.binding_host_id };
    tx.record({ resource: 'port', id: p.id, projectId: p.project_id, action: 'delete', body: null, previous });
  }
  const subnets = (await tx.db.selectFrom('subnets').select(['id', 'project_id']).where('network_id', '=', id).execute()) as { id: string; project_id: string }[];
  for (const s of subnets) {
    await tx.db.deleteFrom('ip_allocations').where('subnet_id', '=', s.id).execute();
    await tx.db.deleteFrom('subnets').where('id', '=', s.id).execute();
    await tx.db.deleteFrom('tags').where('resource_type', '=', 'subnets').where('resource_id', '=', s.id).execute();
    tx.record({ resource: 'subnet', id: s.id, projectId: s.project_id, action: 'delete', body: null, previous: { id: s.id, project_id: s.project_id, network_id: id } });
  }
  await tx.db.deleteFrom('networks').where('id', '=', id).execute();
}

