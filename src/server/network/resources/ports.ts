import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { ApiError, badRequest, conflict } from '../../../lib/errors.js';
import { cidrContains, formatIp, parseCidr, parseIp } from '../../../lib/ip.js';
import type { Db } from '../../../store/database.js';
import { RetryableWriteConflict, type WriteTx } from '../../../store/store.js';
import type { AuthContext } from '../../auth.js';
import { standardAttributes, toColumns, type ResourceSpec, type WireObject } from '../attributes.js';
import { candidateAddresses, eui64Address, poolSize, type Pool } from '../ipam.js';
import { writeColumns, type Resource } from '../resource.js';
import { chunks, type Select } from '../repository.js';
import {
  boolean,
  dictOrNull,
  dictWith,
  ipAddress,
  ipOrPrefix,
  listOf,
  macAddress,
  noDuplicates,
  oneOf,
  string,
  uuid,
  type Convert,
  invalidInput,
} from '../validators.js';
import { attachableNetwork } from './subnets.js';

const MAX_ALLOWED_ADDRESS_PAIRS = 10;
const VNIC_TYPES = ['normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed'];
/** Below this many addresses a subnet's allocations are read whole; above, free ones are found by probing. */
const SCAN_LIMIT = 4096n;

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

interface RequestedIp {
  subnet_id?: string;
  ip_address?: string;
}

const fixedIps: Convert = (v) => {
  const list = listOf(dictWith({ subnet_id: { convert: uuid }, ip_address: { convert: ipAddress } }))(v) as RequestedIp[];
  return list;
};

const addressPairs: Convert = (v) => {
  if (v === null) return [];
  const list = noDuplicates(listOf(dictWith({ ip_address: { convert: ipOrPrefix, required: true }, mac_address: { convert: macAddress } })), 'address pair')(v) as {
    ip_address: string;
    mac_address?: string;
  }[];
  if (list.length > MAX_ALLOWED_ADDRESS_PAIRS) {
    throw new ApiError(400, 'AllowedAddressPairExhausted', `The number of allowed address pair exceeds the maximum ${MAX_ALLOWED_ADDRESS_PAIRS}.`);
  }
  return list.map((p) => ({ ...p, ip_address: hostOrPrefix(p.ip_address) }));
};

/** A single address is shown as an address, a prefix as a prefix, as Neutron shows them. */
function hostOrPrefix(text: string): string {
  const c = parseCidr(text)!;
  const full = c.version === 4 ? 32 : 128;
  return c.prefixLength === full ? text.slice(0, text.indexOf('/')) : text;
}

export const portSpec: ResourceSpec = {
  collection: 'ports',
  member: 'port',
  table: 'ports',
  title: 'Port',
  notFoundType: 'PortNotFound',
  notFoundMessage: (id) => `Port ${id} could not be found.`,
  attributes: [
    ...standardAttributes(),
    { name: 'network_id', storage: 'column', type: 'string', post: true, convert: uuid, filter: true, sort: true },
    { name: 'admin_state_up', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean, filter: true, sort: true },
    // Who may choose a MAC is a rule of the resource (the network's owner on create, admins on update).
    { name: 'mac_address', storage: 'column', type: 'string', post: true, put: true, optional: true, convert: macAddress, filter: true, sort: true },
    { name: 'fixed_ips', storage: 'derived', type: 'json', post: true, put: true, optional: true, convert: fixedIps },
    { name: 'device_id', storage: 'column', type: 'string', post: true, put: true, default: '', convert: string(255), filter: true, sort: true },
    { name: 'device_owner', storage: 'column', type: 'string', post: true, put: true, default: '', convert: string(255), filter: true, sort: true },
    { name: 'status', storage: 'column', type: 'string', filter: true, sort: true },
    { name: 'port_security_enabled', storage: 'column', type: 'boolean', post: true, put: true, optional: true, convert: boolean },
    { name: 'security_groups', storage: 'derived', type: 'json', post: true, put: true, optional: true, convert: (v) => (v === null ? [] : noDuplicates(listOf(uuid), 'security group')(v)) },
    { name: 'allowed_address_pairs', storage: 'json', type: 'json', post: true, put: true, default: [], convert: addressPairs },
    { name: 'binding:host_id', column: 'binding_host_id', storage: 'column', type: 'string', post: true, put: true, default: '', convert: string(255), filter: true, adminWrite: true, adminRead: true },
    { name: 'binding:vnic_type', column: 'binding_vnic_type', storage: 'column', type: 'string', post: true, put: true, default: 'normal', convert: oneOf(VNIC_TYPES), filter: true },
    { name: 'binding:profile', column: 'binding_profile', storage: 'json', type: 'json', post: true, put: true, default: {}, convert: dictOrNull, adminWrite: true, adminRead: true },
    { name: 'binding:vif_type', column: 'binding_vif_type', storage: 'column', type: 'string', adminRead: true },
    { name: 'binding:vif_details', column: 'binding_vif_details', storage: 'json', type: 'json', adminRead: true },
    { name: 'dns_name', storage: 'column', type: 'string', post: true, put: true, default: '', convert: string(255) },
  ],
};

export interface PortResourceOptions {
  /** The project's default security group (created on first need), for ports that name none. */
  defaultSecurityGroup(tx: WriteTx, projectId: string): Promise<string>;
}

export function createPortResource(options: PortResourceOptions): Resource {
  return {
    spec: portSpec,
    visibleTo: (auth) => (auth.isAdmin ? undefined : (eb) => eb('project_id', '=', auth.projectId)),
    customFilters: { fixed_ips: filterByFixedIps, security_groups: filterBySecurityGroups },
    hydrate: hydratePorts,
    async create(tx, values, auth) {
      const network = await attachableNetwork(tx.db, values.network_id as string, auth, true);
      if (values.mac_address !== undefined && !auth.isAdmin && network.project_id !== auth.projectId) {
        throw new ApiError(403, 'HTTPForbidden', '(rule:create_port and rule:create_port:mac_address) is disallowed by policy');
      }
      const portSecurity = (values.port_security_enabled as boolean | undefined) ?? network.port_security_enabled === 1;
      const projectId = values.project_id as string;
      let groups = values.security_groups as string[] | undefined;
      if (!portSecurity) {
        if (groups?.length) throw portSecurityNeededForGroups();
        groups = [];
      } else if (groups === undefined) {
        groups = isNetworkDevice(values.device_owner as string) ? [] : [await options.defaultSecurityGroup(tx, projectId)];
      }
      checkAddressPairs(values.allowed_address_pairs as unknown[], portSecurity);
      const mac = (values.mac_address as string | undefined) ?? (await freeMac(tx.db, network.id as string));
      if (values.mac_address) await checkMacFree(tx.db, network.id as string, mac);
      values.allowed_address_pairs = withPortMac(values.allowed_address_pairs as AddressPair[], mac);
      const host = values['binding:host_id'] as string;
      await tx.db
        .insertInto('ports')
        .values(
          toColumns(portSpec, {
            ...values,
            mac_address: mac,
            status: 'DOWN',
            port_security_enabled: portSecurity,
            'binding:vif_type': host ? 'bridge' : 'unbound',
            'binding:vif_details': host ? { port_filter: true } : {},
          }),
        )
        .execute();
      await bindSecurityGroups(tx, values.id as string, projectId, groups, auth);
      const ips = await allocateFixedIps(tx, network.id as string, values.fixed_ips as RequestedIp[] | undefined, mac, []);
      await storeFixedIps(tx, values.id as string, network.id as string, ips);
    },
    async update(tx, current, changes, auth) {
      const id = current.id as string;
      const portSecurity = (changes.port_security_enabled as boolean | undefined) ?? (current.port_security_enabled as boolean);
      const groups = (changes.security_groups as string[] | undefined) ?? (current.security_groups as string[]);
      if (!portSecurity && groups.length) {
        throw conflict('Port has security group associated. Cannot disable port security or ip address until security group is removed', 'PortSecurityPortHasSecurityGroup');
      }
      checkAddressPairs((changes.allowed_address_pairs ?? current.allowed_address_pairs) as unknown[], portSecurity);
      if (changes.mac_address !== undefined && !auth.isAdmin) {
        throw new ApiError(403, 'HTTPForbidden', '(rule:update_port and rule:update_port:mac_address) is disallowed by policy');
      }
      if (changes.mac_address !== undefined && changes.mac_address !== current.mac_address) {
        if (current['binding:host_id']) throw conflict(`Unable to complete operation on port ${id}, port is already bound, port type: bridge, old_mac ${String(current.mac_address)}, new_mac ${String(changes.mac_address)}.`, 'PortBound');
        await checkMacFree(tx.db, current.network_id as string, changes.mac_address as string);
      }
      const columns: WireObject = { ...changes };
      if (changes.allowed_address_pairs !== undefined || changes.mac_address !== undefined) {
        const pairs = (changes.allowed_address_pairs ?? current.allowed_address_pairs) as AddressPair[];
        columns.allowed_address_pairs = withPortMac(pairs, (changes.mac_address ?? current.mac_address) as string);
      }
      if ('binding:host_id' in changes) {
        const host = changes['binding:host_id'] as string;
        columns['binding:vif_type'] = host ? 'bridge' : 'unbound';
        columns['binding:vif_details'] = host ? { port_filter: true } : {};
        if (!host) columns.status = 'DOWN';
      }
      await writeColumns(tx, portSpec, id, columns);
      if (changes.security_groups !== undefined || changes.port_security_enabled === false) {
        await tx.db.deleteFrom('port_security_groups').where('port_id', '=', id).execute();
        await bindSecurityGroups(tx, id, current.project_id as string, portSecurity ? groups : [], auth);
      }
      if (changes.fixed_ips !== undefined) {
        const existing = current.fixed_ips as FixedIp[];
        const ips = await allocateFixedIps(tx, current.network_id as string, changes.fixed_ips as RequestedIp[], (changes.mac_address ?? current.mac_address) as string, existing);
        await tx.db.deleteFrom('ip_allocations').where('port_id', '=', id).execute();
        await storeFixedIps(tx, id, current.network_id as string, ips);
      }
    },
  };
}

const isNetworkDevice = (owner: string) => owner.startsWith('network:');

interface AddressPair {
  ip_address: string;
  mac_address?: string;
}

/** Neutron stores a pair without a MAC with the port's own. */
function withPortMac(pairs: AddressPair[], mac: string): AddressPair[] {
  return pairs.map((p) => ({ ip_address: p.ip_address, mac_address: p.mac_address ?? mac }));
}

function portSecurityNeededForGroups(): ApiError {
  return badRequest('Port security must be enabled and port must have an IP address in order to use security groups.', 'PortSecurityAndIPRequiredForSecurityGroups');
}

function checkAddressPairs(pairs: unknown[], portSecurity: boolean): void {
  if (pairs.length && !portSecurity) {
    throw conflict('Port Security must be enabled in order to have allowed address pairs on a port.', 'AddressPairAndPortSecurityRequired');
  }
}

async function bindSecurityGroups(tx: WriteTx, portId: string, projectId: string, groups: string[], auth: AuthContext): Promise<void> {
  if (!groups.length) return;
  const found = (await tx.db.selectFrom('security_groups').select(['id', 'project_id']).where('id', 'in', groups).execute()) as { id: string; project_id: string }[];
  for (const g of groups) {
    const group = found.find((f) => f.id === g);
    if (!group || (group.project_id !== projectId && !auth.isAdmin)) {
      throw new ApiError(404, 'SecurityGroupNotFound', `Security group ${g} does not exist`);
    }
  }
  await tx.db
    .insertInto('port_security_groups')
    .values(groups.map((g) => ({ port_id: portId, security_group_id: g })))
    .execute();
}

/** A MAC in OpenStack's fa:16:3e range that no port of this network has. */
async function freeMac(db: Db, networkId: string): Promise<string> {
  for (let attempt = 0; attempt < 16; attempt++) {
    const tail = [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const mac = `fa:16:3e:${tail}`;
    const used = await db.selectFrom('ports').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac).executeTakeFirst();
    if (!used) return mac;
  }
  throw new ApiError(503, 'MacAddressGenerationFailure', `Unable to generate unique mac on network ${networkId}.`);
}

async function checkMacFree(db: Db, networkId: string, mac: string): Promise<void> {
  const used = await db.selectFrom('ports').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac).executeTakeFirst();
  if (used) throw conflict(`Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`, 'MacAddressInUse');
}

interface SubnetRow {
  id: string;
  cidr: string;
  ip_version: number;
  allocation_pools: string;
  gateway_ip: string | null;
  ipv6_address_mode: string | null;
  created_at: string;
}

/**
 * Resolves a port's requested fixed IPs into concrete addresses. With none requested: one address from the
 * first IPv4 subnet with room, one from the first stateful IPv6 subnet, and the SLAAC address of every SLAAC
 * subnet. `keep` are the port's current addresses, which an update may name again without conflict.
 */
async function allocateFixedIps(tx: WriteTx, networkId: string, requested: RequestedIp[] | undefined, mac: string, keep: FixedIp[]): Promise<FixedIp[]> {
  const subnets = (await tx.db
    .selectFrom('subnets')
    .select(['id', 'cidr', 'ip_version', 'allocation_pools', 'gateway_ip', 'ipv6_address_mode', 'created_at'])
    .where('network_id', '=', networkId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()) as SubnetRow[];
  const out: FixedIp[] = [];
  const isSlaac = (s: SubnetRow) => s.ip_version === 6 && (s.ipv6_address_mode === 'slaac' || s.ipv6_address_mode === 'dhcpv6-stateless');

  if (requested === undefined) {
    const v4 = subnets.filter((s) => s.ip_version === 4);
    for (const s of v4) {
      const ip = await pickFreeAddress(tx, s);
      if (ip) {
        out.push({ subnet_id: s.id, ip_address: ip });
        break;
      }
    }
    const v6 = subnets.filter((s) => s.ip_version === 6 && !isSlaac(s));
    for (const s of v6) {
      const ip = await pickFreeAddress(tx, s);
      if (ip) {
        out.push({ subnet_id: s.id, ip_address: ip });
        break;
      }
    }
    for (const s of subnets.filter(isSlaac)) out.push({ subnet_id: s.id, ip_address: eui64Address(s.cidr, mac) });
    if (subnets.length && !out.length) throw exhausted(networkId);
    return out;
  }

  for (const r of requested) {
    let subnet: SubnetRow | undefined;
    if (r.subnet_id) {
      subnet = subnets.find((s) => s.id === r.subnet_id);
      if (!subnet) {
        throw invalidInput(`Failed to create port on network ${networkId}, because fixed_ips included invalid subnet ${r.subnet_id}`);
      }
    }
    if (r.ip_address) {
      const ip = parseIp(r.ip_address)!;
      subnet ??= subnets.find((s) => cidrContains(parseCidr(s.cidr)!, ip));
      if (!subnet || !cidrContains(parseCidr(subnet.cidr)!, ip)) {
        throw invalidInput(`IP address ${r.ip_address} is not a valid IP for the specified subnet`);
      }
      if (out.some((o) => o.ip_address === r.ip_address)) {
        throw invalidInput(`Duplicate IP address '${r.ip_address}'`);
      }
      const mine = keep.some((k) => k.subnet_id === subnet!.id && k.ip_address === r.ip_address);
      if (!mine) await claimAddress(tx, subnet.id, r.ip_address);
      out.push({ subnet_id: subnet.id, ip_address: r.ip_address });
      continue;
    }
    const s = subnet!;
    if (isSlaac(s)) {
      out.push({ subnet_id: s.id, ip_address: eui64Address(s.cidr, mac) });
      continue;
    }
    const kept = keep.find((k) => k.subnet_id === s.id && !out.some((o) => o.ip_address === k.ip_address));
    const ip = kept?.ip_address ?? (await pickFreeAddress(tx, s));
    if (!ip) throw exhausted(networkId);
    out.push({ subnet_id: s.id, ip_address: ip });
  }
  return out;
}

function exhausted(networkId: string): ApiError {
  return conflict(`No more IP addresses available on network ${networkId}.`, 'IpAddressGenerationFailure');
}

async function claimAddress(tx: WriteTx, subnetId: string, ip: string): Promise<void> {
  await tx.lock(`ipam:${subnetId}`);
  const used = await tx.db.selectFrom('ip_allocations').select('port_id').where('subnet_id', '=', subnetId).where('ip_address', '=', ip).executeTakeFirst();
  if (used) throw conflict(`IP address ${ip} already allocated in subnet ${subnetId}`, 'IpAddressAlreadyAllocated');
}

/**
 * A free address of the subnet's pools, or undefined when they are full. Serialised per subnet by a lock, and
 * guarded by the allocation table's primary key should two servers ever disagree.
 */
async function pickFreeAddress(tx: WriteTx, subnet: SubnetRow): Promise<string | undefined> {
  await tx.lock(`ipam:${subnet.id}`);
  const pools = JSON.parse(subnet.allocation_pools) as Pool[];
  const version = subnet.ip_version as 4 | 6;
  const format = (value: bigint) => formatIp({ version, value });
  if (poolSize(pools) <= SCAN_LIMIT) {
    const used = new Set(
      ((await tx.db.selectFrom('ip_allocations').select('ip_address').where('subnet_id', '=', subnet.id).execute()) as { ip_address: string }[]).map((r) => r.ip_address),
    );
    for (const candidate of candidateAddresses(pools)) {
      const text = format(candidate);
      if (!used.has(text)) return text;
    }
    return undefined;
  }
  let probes = 0;
  for (const candidate of candidateAddresses(pools)) {
    const text = format(candidate);
    const used = await tx.db.selectFrom('ip_allocations').select('port_id').where('subnet_id', '=', subnet.id).where('ip_address', '=', text).executeTakeFirst();
    if (!used) return text;
    if (++probes > 4096) break;
  }
  return undefined;
}

async function storeFixedIps(tx: WriteTx, portId: string, networkId: string, ips: FixedIp[]): Promise<void> {
  if (!ips.length) return;
  try {
    await tx.db
      .insertInto('ip_allocations')
      .values(ips.map((ip, position) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address, port_id: portId, network_id: networkId, position })))
      .execute();
  } catch (err) {
    // Two writers took the same address despite the lock (e.g. a lock-free SQLite reader raced): start again.
    if (isUniqueViolation(err)) throw new RetryableWriteConflict('IP address taken concurrently');
    throw err;
  }
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

async function hydratePorts(db: Db, ports: WireObject[]): Promise<void> {
  const byId = new Map(ports.map((p) => [p.id as string, p]));
  for (const p of ports) {
    p.fixed_ips = [];
    p.security_groups = [];
  }
  for (const chunk of chunks([...byId.keys()], 500)) {
    const ips = (await db
      .selectFrom('ip_allocations')
      .select(['port_id', 'subnet_id', 'ip_address'])
      .where('port_id', 'in', chunk)
      .orderBy('port_id')
      .orderBy('position')
      .execute()) as { port_id: string; subnet_id: string; ip_address: string }[];
    for (const r of ips) (byId.get(r.port_id)!.fixed_ips as FixedIp[]).push({ subnet_id: r.subnet_id, ip_address: r.ip_address });
    const groups = (await db
      .selectFrom('port_security_groups')
      .select(['port_id', 'security_group_id'])
      .where('port_id', 'in', chunk)
      .orderBy('security_group_id')
      .execute()) as { port_id: string; security_group_id: string }[];
    for (const r of groups) (byId.get(r.port_id)!.security_groups as string[]).push(r.security_group_id);
  }
}

/** `fixed_ips=ip_address=X`, `fixed_ips=subnet_id=Y`, `fixed_ips=ip_address_substr=Z`: any value of a key matches; keys combine with AND. */
function filterByFixedIps(query: Select, values: unknown[]): Select {
  const byKey = new Map<string, string[]>();
  for (const v of values as string[]) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? '' : v.slice(0, eq);
    if (!['ip_address', 'subnet_id', 'ip_address_substr'].includes(key)) {
      throw badRequest(`Invalid input for fixed_ips. Reason: '${v}' is not of the form key=value with key ip_address, subnet_id or ip_address_substr.`, 'InvalidInput');
    }
    byKey.set(key, [...(byKey.get(key) ?? []), v.slice(eq + 1)]);
  }
  let q = query;
  for (const [key, list] of byKey) {
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('ip_allocations as fa')
          .select(sql`1`.as('one'))
          .whereRef('fa.port_id', '=', 'ports.id')
          .where((w) =>
            key === 'ip_address_substr'
              ? w.or(list.map((s) => w('fa.ip_address', 'like', `%${s.replace(/[%_]/g, '')}%`)))
              : w(`fa.${key}`, 'in', key === 'ip_address' ? list.map((ip) => (parseIp(ip) ? (ipAddress(ip) as string) : ip)) : list),
          ),
      ),
    );
  }
  return q;
}

function filterBySecurityGroups(query: Select, values: unknown[]): Select {
  return query.where((eb) =>
    eb.exists(
      eb
        .selectFrom('port_security_groups as psg')
        .select(sql`1`.as('one'))
        .whereRef('psg.port_id', '=', 'ports.id')
        .where('psg.security_group_id', 'in', values as string[]),
    ),
  );
}
