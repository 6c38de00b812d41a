/**
 * What the balancer controller reads and writes in the Load Balancer API's tables: balancers (read, and their
 * VIP once allocated), listeners and members (read), and the amphora rows, which the controller owns.
 *
 * Amphora rows change the change log only when what they mean changes (made, role, ports, VM, status,
 * removed): heartbeats and health reports are written without a log entry, since a log entry would change the
 * balancer's config revision and resend every target once a second.
 */
import { randomUUID } from 'node:crypto';
import type { AmphoraHealthReport } from '../../agents/amphora/target.js';
import { getObject, updateObject } from '../../server/loadbalancer/objects.js';
import { loadBalancerSpec } from '../../server/loadbalancer/schemas.js';
import type { Db } from '../../store/database.js';
import type { WriteTx } from '../../store/store.js';
import { AMPHORA_RESOURCE } from './config-revisions.js';
import type { AmphoraRole, AmphoraStatus, ListenerPort, ObservedBalancer, Topology } from './planner.js';

/** The balancer row as the controller reads it. */
export interface BalancerRecord
  extends Pick<ObservedBalancer, 'id' | 'projectId' | 'provisioningStatus' | 'operatingStatus' | 'topology' | 'vipNetworkId' | 'vipSubnetId' | 'vipAddress'> {
  vipPortId: string | null;
  updatedAt: string;
}

export interface AmphoraRow {
  id: string;
  loadbalancer_id: string;
  compute_id: string | null;
  status: string;
  role: string | null;
  lb_network_ip: string | null;
  vrrp_ip: string | null;
  ha_ip: string | null;
  vrrp_port_id: string | null;
  ha_port_id: string | null;
  vrrp_interface: string | null;
  vrrp_id: number | null;
  vrrp_priority: number | null;
  cached_zone: string | null;
  image_id: string | null;
  compute_flavor: string | null;
  cert_expiration: string | null;
  cert_busy: number;
  host: string | null;
  heartbeat_at: string | null;
  health: string | null;
  applied_config_revision: number | null;
  /** Set by the API's failover requests (balancer or amphora): replace this amphora. */
  failover_requested: number;
  created_at: string;
  updated_at: string | null;
}

export async function readBalancer(db: Db, id: string): Promise<BalancerRecord | undefined> {
  const row = (await db.selectFrom('load_balancers').selectAll().where('id', '=', id).executeTakeFirst()) as Record<string, unknown> | undefined;
  if (!row) return undefined;
  return {
    id: row.id as string,
    projectId: row.project_id as string,
    provisioningStatus: row.provisioning_status as string,
    operatingStatus: row.operating_status as string,
    topology: (row.topology as Topology | null) ?? 'ACTIVE_STANDBY',
    vipNetworkId: row.vip_network_id as string,
    vipSubnetId: (row.vip_subnet_id as string | null) ?? null,
    vipAddress: (row.vip_address as string | null) ?? null,
    vipPortId: (row.vip_port_id as string | null) ?? null,
    updatedAt: ((row.updated_at ?? row.created_at) as string) ?? '',
  };
}

/** Every balancer, for the periodic resync. */
export async function balancerIds(db: Db): Promise<string[]> {
  return ((await db.selectFrom('load_balancers').select('id').execute()) as { id: string }[]).map((r) => r.id);
}

export async function listenerPorts(db: Db, balancerId: string): Promise<ListenerPort[]> {
  const rows = (await db
    .selectFrom('lb_listeners')
    .select(['protocol', 'protocol_port'])
    .where('load_balancer_id', '=', balancerId)
    .where('provisioning_status', '!=', 'PENDING_DELETE')
    .execute()) as {
    protocol: string;
    protocol_port: number;
  }[];
  return rows.map((r) => ({ protocol: r.protocol === 'UDP' ? 'udp' : 'tcp', port: Number(r.protocol_port) }));
}

/** The subnets the balancer's members name (members without a subnet are reached through the VIP network). */
export async function memberSubnetIds(db: Db, balancerId: string): Promise<string[]> {
  const rows = (await db
    .selectFrom('lb_members')
    .select('subnet_id')
    .where('load_balancer_id', '=', balancerId)
    .where('provisioning_status', '!=', 'PENDING_DELETE')
    .execute()) as { subnet_id: string | null }[];
  return [...new Set(rows.flatMap((r) => (r.subnet_id ? [r.subnet_id] : [])))].sort();
}

/** The VIP port is made: the balancer's VIP fields, through the API's own write (logged like any other). */
export async function setBalancerVip(tx: WriteTx, balancerId: string, vip: { portId: string; address: string; subnetId: string }): Promise<void> {
  const lb = await getObject(tx.db, loadBalancerSpec, balancerId);
  if (!lb) return;
  await updateObject(tx, loadBalancerSpec, lb, { vip_port_id: vip.portId, vip_address: vip.address, vip_subnet_id: vip.subnetId });
}

export async function amphoraeOf(db: Db, balancerId: string): Promise<AmphoraRow[]> {
  return (await db.selectFrom('amphorae').selectAll().where('loadbalancer_id', '=', balancerId).orderBy('created_at').orderBy('id').execute()) as AmphoraRow[];
}

export async function getAmphora(db: Db, id: string): Promise<AmphoraRow | undefined> {
  return (await db.selectFrom('amphorae').selectAll().where('id', '=', id).executeTakeFirst()) as AmphoraRow | undefined;
}

/** Octavia's amphora object (`GET /v2/octavia/amphorae/{id}`), as the log carries it. */
export function amphoraBody(row: AmphoraRow) {
  return {
    id: row.id,
    loadbalancer_id: row.loadbalancer_id,
    compute_id: row.compute_id,
    status: row.status,
    role: row.role,
    vrrp_ip: row.vrrp_ip,
    ha_ip: row.ha_ip,
    vrrp_port_id: row.vrrp_port_id,
    ha_port_id: row.ha_port_id,
    vrrp_interface: row.vrrp_interface,
    vrrp_id: row.vrrp_id,
    vrrp_priority: row.vrrp_priority,
    cached_zone: row.cached_zone,
    host: row.host,
  };
}

export async function insertAmphora(tx: WriteTx, balancer: { id: string; projectId: string }, role: AmphoraRole, priority: number, vrrpId: number): Promise<AmphoraRow> {
  const row: AmphoraRow = {
    id: randomUUID(),
    loadbalancer_id: balancer.id,
    compute_id: null,
    status: 'BOOTING',
    role,
    lb_network_ip: null,
    vrrp_ip: null,
    ha_ip: null,
    vrrp_port_id: null,
    ha_port_id: null,
    vrrp_interface: null,
    vrrp_id: vrrpId,
    vrrp_priority: priority,
    cached_zone: null,
    image_id: null,
    compute_flavor: null,
    cert_expiration: null,
    cert_busy: 0,
    host: null,
    heartbeat_at: null,
    health: null,
    applied_config_revision: null,
    failover_requested: 0,
    created_at: tx.now,
    updated_at: tx.now,
  };
  await tx.db.insertInto('amphorae').values(row).execute();
  tx.record({ resource: AMPHORA_RESOURCE, id: row.id, projectId: balancer.projectId, action: 'create', body: amphoraBody(row), previous: null });
  return row;
}

type AmphoraChanges = Partial<Pick<AmphoraRow, 'compute_id' | 'status' | 'vrrp_ip' | 'ha_ip' | 'vrrp_port_id' | 'ha_port_id' | 'vrrp_interface' | 'host' | 'cached_zone'>>;

/** Changes what an amphora is; logged (its balancer's targets follow). Undefined when the row is gone. */
export async function updateAmphora(tx: WriteTx, id: string, projectId: string | null, changes: AmphoraChanges): Promise<AmphoraRow | undefined> {
  const before = await getAmphora(tx.db, id);
  if (!before) return undefined;
  const after = { ...before, ...changes, updated_at: tx.now };
  await tx.db.updateTable('amphorae').set({ ...changes, updated_at: tx.now }).where('id', '=', id).execute();
  tx.record({ resource: AMPHORA_RESOURCE, id, projectId, action: 'update', body: amphoraBody(after), previous: amphoraBody(before) });
  return after;
}

export async function deleteAmphoraRow(tx: WriteTx, id: string, projectId: string | null): Promise<void> {
  const before = await getAmphora(tx.db, id);
  if (!before) return;
  await tx.db.deleteFrom('amphorae').where('id', '=', id).execute();
  tx.record({ resource: AMPHORA_RESOURCE, id, projectId, action: 'delete', body: null, previous: amphoraBody(before) });
}

/** A health report, which is also the heartbeat: not logged (see the top of this file). */
export async function recordAmphoraHealth(tx: WriteTx, id: string, report: AmphoraHealthReport, at: Date): Promise<void> {
  await tx.db
    .updateTable('amphorae')
    .set({ heartbeat_at: at.toISOString(), health: JSON.stringify(report), applied_config_revision: report.appliedConfigRevision })
    .where('id', '=', id)
    .execute();
}

export function healthOf(row: AmphoraRow): AmphoraHealthReport | null {
  return row.health ? (JSON.parse(row.health) as AmphoraHealthReport) : null;
}

export const amphoraStatusOf = (row: AmphoraRow): AmphoraStatus => (row.status === 'ERROR' ? 'ERROR' : row.status === 'ALLOCATED' ? 'ALLOCATED' : 'BOOTING');
