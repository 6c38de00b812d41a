import { ApiError, badRequest, conflict } from '../../../lib/errors.js';
import { cidrContains, cidrsOverlap, parseCidr, parseIp } from '../../../lib/ip.js';
import type { Db } from '../../../store/database.js';
import type { WriteTx } from '../../../store/store.js';
import type { AuthContext } from '../../auth.js';
import { notFound, standardAttributes, toColumns, type ResourceSpec, type WireObject } from '../attributes.js';
import { checkPools, defaultAllocationPools, defaultGateway, hostRange, type Pool } from '../ipam.js';
import { writeColumns, type Resource } from '../resource.js';
import { chunks, getRow } from '../repository.js';
import {
  boolean,
  dictWith,
  integer,
  ipAddress,
  ipAddressOrNull,
  listOf,
  noDuplicates,
  oneOf,
  subnetCidr,
  uuid,
  uuidOrNull,
  type Convert,
  invalidInput,
} from '../validators.js';
import { isNetworkOwnedPort, networkSpec } from './networks.js';

const IPV6_MODES = ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'] as const;
const MAX_DNS_NAMESERVERS = 5;
const MAX_HOST_ROUTES = 20;

const limited =
  (convert: Convert, max: number, what: string): Convert =>
  (v) => {
    const list = convert(v) as unknown[];
    if (list.length > max) throw badRequest(`Number of ${what} exceeds the limit ${max}`, `${what === 'DNS nameservers' ? 'DNSNameServersExhausted' : 'HostRoutesExhausted'}`);
    return list;
  };

const pools = listOf(dictWith({ start: { convert: ipAddress, required: true }, end: { convert: ipAddress, required: true } }));
const nameservers = limited(noDuplicates(listOf(ipAddress), 'nameserver'), MAX_DNS_NAMESERVERS, 'DNS nameservers');
const hostRoutes = limited(
  noDuplicates(listOf(dictWith({ destination: { convert: subnetCidr, required: true }, nexthop: { convert: ipAddress, required: true } })), 'hostroute'),
  MAX_HOST_ROUTES,
  'host routes',
);
const orEmpty =
  (convert: Convert): Convert =>
  (v) => (v === null ? [] : convert(v));

export const subnetSpec: ResourceSpec = {
  collection: 'subnets',
  member: 'subnet',
  table: 'subnets',
  title: 'Subnet',
  notFoundType: 'SubnetNotFound',
  notFoundMessage: (id) => `Subnet ${id} could not be found.`,
  attributes: [
    ...standardAttributes(),
    { name: 'network_id', storage: 'column', type: 'string', post: true, convert: uuid, filter: true, sort: true },
    { name: 'ip_version', storage: 'column', type: 'integer', post: true, convert: (v) => oneOf([4, 6])(integer(v)), filter: true, sort: true },
    { name: 'cidr', storage: 'column', type: 'string', post: true, optional: true, convert: subnetCidr, filter: true, sort: true },
    { name: 'prefixlen', storage: 'derived', type: 'integer', post: true, optional: true, convert: integer },
    { name: 'subnetpool_id', storage: 'column', type: 'string', post: true, optional: true, convert: uuidOrNull, filter: true, sort: true },
    { name: 'gateway_ip', storage: 'column', type: 'string', post: true, put: true, optional: true, convert: ipAddressOrNull, filter: true, sort: true },
    { name: 'allocation_pools', storage: 'json', type: 'json', post: true, put: true, optional: true, convert: pools },
    { name: 'dns_nameservers', storage: 'json', type: 'json', post: true, put: true, default: [], convert: orEmpty(nameservers) },
    { name: 'host_routes', storage: 'json', type: 'json', post: true, put: true, default: [], convert: orEmpty(hostRoutes) },
    { name: 'enable_dhcp', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean, filter: true, sort: true },
    { name: 'ipv6_ra_mode', storage: 'column', type: 'string', post: true, optional: true, convert: (v) => (v === null ? null : oneOf(IPV6_MODES)(v)), filter: true, sort: true },
    { name: 'ipv6_address_mode', storage: 'column', type: 'string', post: true, optional: true, convert: (v) => (v === null ? null : oneOf(IPV6_MODES)(v)), filter: true, sort: true },
    { name: 'shared', storage: 'derived', type: 'boolean' },
    { name: 'service_types', storage: 'derived', type: 'json' },
    { name: 'segment_id', storage: 'derived', type: 'string' },
  ],
};

/** A network the caller may attach subnets or ports to: its own, or (ports only) a shared one; admins: any. */
export async function attachableNetwork(db: Db, networkId: string, auth: AuthContext, allowShared: boolean): Promise<WireObject> {
  const row = await getRow(db, networkSpec, networkId, undefined);
  const visible =
    row && (auth.isAdmin || row.project_id === auth.projectId || row.shared === 1 || (row.router_external === 1 && !allowShared));
  if (!row || !visible) throw notFound(networkSpec, networkId);
  if (!auth.isAdmin && row.project_id !== auth.projectId && !(allowShared && row.shared === 1)) {
    throw new ApiError(403, 'HTTPForbidden', `(rule:create_${allowShared ? 'port' : 'subnet'}) is disallowed by policy`);
  }
  return row as WireObject;
}

export interface SubnetResourceOptions {
  /** A subnet created or deleted is a change of its network (its `subnets`): new revision, both states logged. */
  changeNetwork(tx: WriteTx, networkId: string, write: () => Promise<void>): Promise<void>;
  /** Runs a write to a port (losing an address of a deleted subnet) as a logged change of that port. */
  changePort(tx: WriteTx, portId: string, write: () => Promise<void>): Promise<void>;
}

export function createSubnetResource({ changeNetwork, changePort }: SubnetResourceOptions): Resource {
  return {
    spec: subnetSpec,
    visibleTo: (auth) =>
      auth.isAdmin
        ? undefined
        : (eb) =>
            eb.or([
              eb('project_id', '=', auth.projectId),
              eb.exists(
                eb
                  .selectFrom('networks as n')
                  .select('n.id')
                  .whereRef('n.id', '=', 'subnets.network_id')
                  // An external network is visible to all, but its subnets only when it is also shared (Neutron's policy).
                  .where('n.shared', '=', 1),
              ),
            ]),
    canModify: (subnet, auth) => auth.isAdmin || subnet.project_id === auth.projectId,
    hydrate: hydrateSubnets,
    async create(tx, values, auth) {
      const network = await attachableNetwork(tx.db, values.network_id as string, auth, false);
      await tx.lock(`network-subnets:${network.id as string}`);
      const subnet = await completeSubnet(tx.db, values);
      await changeNetwork(tx, network.id as string, async () => {
        await tx.db.insertInto('subnets').values(toColumns(subnetSpec, subnet)).execute();
      });
    },
    async update(tx, current, changes) {
      const merged = { ...current, ...changes };
      if ('gateway_ip' in changes || 'allocation_pools' in changes) {
        checkGatewayAndPools(merged.cidr as string, merged.gateway_ip as string | null, merged.allocation_pools as Pool[]);
      }
      if ('gateway_ip' in changes && changes.gateway_ip) await checkGatewayFree(tx.db, current.id as string, changes.gateway_ip as string);
      await writeColumns(tx, subnetSpec, current.id as string, changes);
    },
    async delete(tx, current) {
      await changeNetwork(tx, current.network_id as string, () => deleteSubnet(tx, current, changePort));
    },
  };
}

/** Fills in what a create left out and checks the whole: addresses, pools, gateway, overlap. */
async function completeSubnet(db: Db, values: WireObject): Promise<WireObject> {
  if (values.subnetpool_id) throw invalidInput('subnet pools are not supported by this cloud; give a cidr');
  if (values.prefixlen !== undefined && values.cidr === undefined) {
    throw invalidInput('a prefixlen needs a subnet pool; give a cidr');
  }
  if (values.cidr === undefined) throw badRequest('Bad subnets request: a cidr must be specified in the absence of a subnet pool.');
  const cidrText = values.cidr as string;
  const cidr = parseCidr(cidrText)!;
  const version = values.ip_version as number;
  if (cidr.version !== version) throw invalidInput(`Cidr ${cidrText} does not match ip_version ${version}`);
  if (version === 4 && (values.ipv6_ra_mode || values.ipv6_address_mode)) {
    throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False or ip_version is 4');
  }
  if (values.ipv6_ra_mode && values.ipv6_address_mode && values.ipv6_ra_mode !== values.ipv6_address_mode) {
    throw invalidInput(`ipv6_ra_mode set to '${String(values.ipv6_ra_mode)}' with ipv6_address_mode set to '${String(values.ipv6_address_mode)}' is not valid. If both attributes are set, they must be the same value`);
  }
  if (!hostRange(cidr)) throw invalidInput(`Subnet ${cidrText} has no usable addresses`);
  for (const server of values.dns_nameservers as string[]) checkFamily(server, version, 'dns_nameservers');
  for (const route of values.host_routes as { destination: string; nexthop: string }[]) {
    checkFamily(route.nexthop, version, 'host_routes');
    if (parseCidr(route.destination)!.version !== version) {
      throw invalidInput(`host_routes destination ${route.destination} does not match ip_version ${version}`);
    }
  }
  const gateway = values.gateway_ip === undefined ? defaultGateway(cidrText) : (values.gateway_ip as string | null);
  const pools = (values.allocation_pools as Pool[] | undefined) ?? defaultAllocationPools(cidrText, gateway);
  checkGatewayAndPools(cidrText, gateway, pools);

  const siblings = (await db.selectFrom('subnets').select(['id', 'cidr']).where('network_id', '=', values.network_id as string).execute()) as {
    id: string;
    cidr: string;
  }[];
  for (const s of siblings) {
    if (cidrsOverlap(cidr, parseCidr(s.cidr)!)) {
      throw invalidInput(`Requested subnet with cidr: ${cidrText} for network: ${String(values.network_id)} overlaps with another subnet`);
    }
  }
  const { prefixlen: _prefixlen, ...rest } = values;
  return { ...rest, gateway_ip: gateway, allocation_pools: pools, ipv6_ra_mode: values.ipv6_ra_mode ?? null, ipv6_address_mode: values.ipv6_address_mode ?? null, subnetpool_id: null };
}

function checkFamily(address: string, version: number, field: string): void {
  if (parseIp(address)!.version !== version) {
    throw invalidInput(`${field} address ${address} does not match ip_version ${version}`);
  }
}

function checkGatewayAndPools(cidrText: string, gateway: string | null, pools: Pool[]): void {
  const reason = checkPools(cidrText, pools);
  if (reason) throw invalidInput(`${reason}`);
  if (!gateway) return;
  const cidr = parseCidr(cidrText)!;
  const gw = parseIp(gateway)!;
  if (!cidrContains(cidr, gw)) throw invalidInput(`Gateway is not valid on subnet`);
  const hosts = hostRange(cidr)!;
  if (cidr.version === 4 && (gw.value < hosts.start || gw.value > hosts.end)) {
    throw invalidInput(`Gateway ip ${gateway} conflicts with the subnet's network or broadcast address`);
  }
  for (const p of pools) {
    const start = parseIp(p.start)!.value;
    const end = parseIp(p.end)!.value;
    if (gw.value >= start && gw.value <= end) {
      throw conflict(`Gateway ip ${gateway} conflicts with allocation pool ${p.start}-${p.end}.`, 'GatewayConflictWithAllocationPools');
    }
  }
}

async function checkGatewayFree(db: Db, subnetId: string, gateway: string): Promise<void> {
  const taken = await db
    .selectFrom('ip_allocations as a')
    .innerJoin('ports as p', 'p.id', 'a.port_id')
    .select('p.device_owner')
    .where('a.subnet_id', '=', subnetId)
    .where('a.ip_address', '=', gateway)
    .executeTakeFirst();
  if (taken && !String(taken.device_owner).startsWith('network:router')) {
    throw conflict(`Gateway ip ${gateway} conflicts with an existing port's address.`, 'GatewayIpInUse');
  }
}

/**
 * Deletes a subnet that no user port has an address from. An IPv6 subnet whose addresses come from the MAC
 * (SLAAC, DHCPv6-stateless) is deleted anyway, as Neutron does: its ports simply lose that address.
 */
async function deleteSubnet(tx: WriteTx, subnet: WireObject, changePort: SubnetResourceOptions['changePort']): Promise<void> {
  const id = subnet.id as string;
  const users = (await tx.db
    .selectFrom('ip_allocations as a')
    .innerJoin('ports as p', 'p.id', 'a.port_id')
    .select(['p.id', 'p.device_owner'])
    .where('a.subnet_id', '=', id)
    .execute()) as { id: string; device_owner: string }[];
  const autoAddress = subnet.ip_version === 6 && (subnet.ipv6_address_mode === 'slaac' || subnet.ipv6_address_mode === 'dhcpv6-stateless');
  if (!autoAddress && users.some((u) => !isNetworkOwnedPort(u.device_owner))) {
    throw conflict(`Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`, 'SubnetInUse');
  }
  for (const portId of [...new Set(users.map((u) => u.id))]) {
    await changePort(tx, portId, async () => {
      await tx.db.deleteFrom('ip_allocations').where('subnet_id', '=', id).where('port_id', '=', portId).execute();
    });
  }
  await tx.db.deleteFrom('subnets').where('id', '=', id).execute();
}

async function hydrateSubnets(db: Db, subnets: WireObject[]): Promise<void> {
  const networkIds = [...new Set(subnets.map((s) => s.network_id as string))];
  const shared = new Map<string, boolean>();
  for (const chunk of chunks(networkIds, 500)) {
    const rows = (await db.selectFrom('networks').select(['id', 'shared']).where('id', 'in', chunk).execute()) as { id: string; shared: number }[];
    for (const r of rows) shared.set(r.id, r.shared === 1);
  }
  for (const s of subnets) {
    s.shared = shared.get(s.network_id as string) ?? false;
    s.service_types = [];
    s.segment_id = null;
  }
}

