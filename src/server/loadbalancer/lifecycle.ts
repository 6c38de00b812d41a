import type { AmphoraHealthReport, ReportedMemberStatus } from '../../agents/amphora/target.js';
import type { WriteTx } from '../../store/store.js';
import type { ResourceSpec, WireObject } from '../network/attributes.js';
import type { Row } from '../network/repository.js';
import { deleteObject, getObject, toWireObjects, updateObject } from './objects.js';
import { CHILD_SPECS, healthMonitorSpec, listenerSpec, loadBalancerSpec, memberSpec, poolSpec } from './schemas.js';

/**
 * Octavia's state machine, as the provisioning controller and the health manager drive it. Each step runs in
 * the caller's write transaction and logs every object it changes, so that the API, the controller and the
 * amphora targets all follow the same change log.
 *
 *   API write      -> object PENDING_CREATE | PENDING_UPDATE | PENDING_DELETE, balancer PENDING_*
 *   completeProvisioning -> PENDING_CREATE/UPDATE become ACTIVE, PENDING_DELETE are removed
 *   failProvisioning     -> every PENDING_* object and the balancer become ERROR
 *   applyHealth          -> operating_status from the amphorae's reports
 */

const PENDING = ['PENDING_CREATE', 'PENDING_UPDATE', 'PENDING_DELETE'];

async function childRows(tx: WriteTx, spec: ResourceSpec, loadBalancerId: string, statuses?: string[]): Promise<Row[]> {
  let q = tx.db.selectFrom(spec.table).selectAll().where('load_balancer_id', '=', loadBalancerId);
  if (statuses) q = q.where('provisioning_status', 'in', statuses);
  return (await q.orderBy('created_at').orderBy('id').execute()) as Row[];
}

async function setProvisioning(tx: WriteTx, spec: ResourceSpec, objects: WireObject[], status: string): Promise<void> {
  for (const object of objects) {
    if (object.provisioning_status !== status) await updateObject(tx, spec, object, { provisioning_status: status });
  }
}

async function lockedBalancer(tx: WriteTx, loadBalancerId: string): Promise<WireObject | undefined> {
  if (tx.dialect === 'postgres') {
    await tx.db.selectFrom('load_balancers').select('id').where('id', '=', loadBalancerId).forUpdate().executeTakeFirst();
  }
  return getObject(tx.db, loadBalancerSpec, loadBalancerId);
}

/** Removes every object of the balancer in `statuses` (all of them when undefined), dependents first. */
async function removeChildren(tx: WriteTx, loadBalancerId: string, statuses?: string[]): Promise<void> {
  for (const spec of CHILD_SPECS) {
    const rows = await childRows(tx, spec, loadBalancerId, statuses);
    if (rows.length === 0) continue;
    if (spec === poolSpec) await detachPools(tx, loadBalancerId, rows.map((r) => r.id as string));
    for (const object of await toWireObjects(tx.db, spec, rows)) await deleteObject(tx, spec, object);
  }
}

/** A listener whose default pool goes away keeps serving without one, as in Octavia. */
async function detachPools(tx: WriteTx, loadBalancerId: string, poolIds: string[]): Promise<void> {
  const rows = (await tx.db
    .selectFrom('lb_listeners')
    .selectAll()
    .where('load_balancer_id', '=', loadBalancerId)
    .where('default_pool_id', 'in', poolIds)
    .execute()) as Row[];
  for (const listener of await toWireObjects(tx.db, listenerSpec, rows)) {
    await updateObject(tx, listenerSpec, listener, { default_pool_id: null });
  }
}

/**
 * The amphorae run the balancer's latest tree: what was being created or updated is ACTIVE, what was being
 * deleted is gone, and a balancer being deleted is removed with everything in it. Idempotent; a balancer that no
 * longer exists is left alone.
 */
export async function completeProvisioning(tx: WriteTx, loadBalancerId: string): Promise<void> {
  const lb = await lockedBalancer(tx, loadBalancerId);
  if (!lb) return;
  if (lb.provisioning_status === 'PENDING_DELETE') {
    await removeChildren(tx, loadBalancerId);
    await tx.db.deleteFrom('lb_listener_stats').where('load_balancer_id', '=', loadBalancerId).execute();
    await deleteObject(tx, loadBalancerSpec, lb);
    return;
  }
  await removeChildren(tx, loadBalancerId, ['PENDING_DELETE']);
  for (const spec of CHILD_SPECS) {
    const rows = await childRows(tx, spec, loadBalancerId, ['PENDING_CREATE', 'PENDING_UPDATE']);
    await setProvisioning(tx, spec, await toWireObjects(tx.db, spec, rows), 'ACTIVE');
  }
  if (PENDING.includes(lb.provisioning_status as string)) {
    await updateObject(tx, loadBalancerSpec, lb, { provisioning_status: 'ACTIVE' }, { provisioning_error: null });
  }
}

/** Provisioning failed: every object in PENDING_* and the balancer turn ERROR, and the reason is kept for operators. */
export async function failProvisioning(tx: WriteTx, loadBalancerId: string, reason: string): Promise<void> {
  const lb = await lockedBalancer(tx, loadBalancerId);
  if (!lb) return;
  for (const spec of CHILD_SPECS) {
    const rows = await childRows(tx, spec, loadBalancerId, PENDING);
    await setProvisioning(tx, spec, await toWireObjects(tx.db, spec, rows), 'ERROR');
  }
  if (lb.provisioning_status === 'ERROR') {
    await tx.db.updateTable('load_balancers').set({ provisioning_error: reason }).where('id', '=', loadBalancerId).execute();
  } else {
    await updateObject(tx, loadBalancerSpec, lb, { provisioning_status: 'ERROR' }, { provisioning_error: reason });
  }
}

/** An amphora of the balancer stopped heart-beating: the balancer serves on one leg (or not at all) until replaced. */
export async function setDegraded(tx: WriteTx, loadBalancerId: string): Promise<void> {
  const lb = await lockedBalancer(tx, loadBalancerId);
  if (!lb || lb.operating_status === 'DEGRADED' || lb.provisioning_status === 'PENDING_DELETE') return;
  await updateObject(tx, loadBalancerSpec, lb, { operating_status: 'DEGRADED' });
}

const MEMBER_STATUS: Record<ReportedMemberStatus, string> = {
  UP: 'ONLINE',
  DOWN: 'ERROR',
  DRAIN: 'DRAINING',
  MAINT: 'OFFLINE',
  NO_CHECK: 'NO_MONITOR',
};

const LISTENER_STATUS = { OPEN: 'ONLINE', FULL: 'DEGRADED', DOWN: 'ERROR' } as const;

/**
 * The report that speaks for the balancer: the amphora holding the VIP (VRRP MASTER), else one whose HAProxy
 * runs, else any. The standby's HAProxy checks members too, but only the master's view is what clients see.
 */
export function authoritativeReport(reports: AmphoraHealthReport[]): AmphoraHealthReport | undefined {
  return reports.find((r) => r.vrrpState === 'MASTER') ?? reports.find((r) => r.haproxy === 'RUNNING') ?? reports[0];
}

export interface OperatingStatuses {
  loadBalancer: string;
  listeners: Map<string, string>;
  pools: Map<string, string>;
  members: Map<string, string>;
}

interface TreeStatusInput {
  listeners: { id: string; adminStateUp: boolean }[];
  pools: { id: string; adminStateUp: boolean; monitored: boolean; members: { id: string; adminStateUp: boolean }[] }[];
}

/**
 * Octavia's health rules (health manager's update_db), as a pure function: a listener is ONLINE when HAProxy's
 * frontend is OPEN, DEGRADED when FULL, ERROR when DOWN and OFFLINE when not served; a pool is ONLINE when its
 * backend is UP and DEGRADED when some member is down, ERROR when the backend is DOWN; members map from the check
 * status (UP ONLINE, DOWN ERROR, DRAIN DRAINING, MAINT OFFLINE, no check NO_MONITOR); anything administratively
 * down is OFFLINE. The balancer is ONLINE unless some listener or pool is not healthy (DEGRADED).
 */
export function operatingStatuses(tree: TreeStatusInput, report: AmphoraHealthReport): OperatingStatuses {
  const out: OperatingStatuses = { loadBalancer: 'ONLINE', listeners: new Map(), pools: new Map(), members: new Map() };
  for (const listener of tree.listeners) {
    const reported = report.listeners[listener.id];
    const status = !listener.adminStateUp ? 'OFFLINE' : reported ? LISTENER_STATUS[reported.status] : 'OFFLINE';
    out.listeners.set(listener.id, status);
    if (status === 'DEGRADED' || status === 'ERROR') out.loadBalancer = 'DEGRADED';
  }
  for (const pool of tree.pools) {
    const reported = report.pools[pool.id];
    let poolStatus = !pool.adminStateUp ? 'OFFLINE' : !reported ? 'OFFLINE' : reported.status === 'UP' ? 'ONLINE' : 'ERROR';
    for (const member of pool.members) {
      const check = reported?.members[member.id];
      let status: string;
      if (!member.adminStateUp) status = 'OFFLINE';
      else if (check) status = MEMBER_STATUS[check];
      else status = pool.monitored ? 'OFFLINE' : 'NO_MONITOR';
      if (status === 'ERROR' && poolStatus === 'ONLINE') poolStatus = 'DEGRADED';
      out.members.set(member.id, status);
    }
    out.pools.set(pool.id, poolStatus);
    if (poolStatus === 'DEGRADED' || poolStatus === 'ERROR') out.loadBalancer = 'DEGRADED';
  }
  return out;
}

/**
 * Applies the amphorae's latest reports: operating_status of members, pools, listeners and the balancer (logged
 * only when one changes, so steady heartbeats write no log entries), and listener statistics summed over the
 * amphorae for `/stats`.
 */
export async function applyHealth(tx: WriteTx, loadBalancerId: string, reports: AmphoraHealthReport[]): Promise<void> {
  const report = authoritativeReport(reports);
  const lb = await lockedBalancer(tx, loadBalancerId);
  if (!report || !lb || lb.provisioning_status === 'PENDING_DELETE') return;
  const live = (rows: Row[]) => rows.filter((r) => r.provisioning_status !== 'PENDING_DELETE');
  const listeners = live(await childRows(tx, listenerSpec, loadBalancerId));
  const pools = live(await childRows(tx, poolSpec, loadBalancerId));
  const members = live(await childRows(tx, memberSpec, loadBalancerId));
  const monitors = live(await childRows(tx, healthMonitorSpec, loadBalancerId)).filter((m) => Number(m.admin_state_up) === 1);
  const monitored = new Set(monitors.map((m) => m.pool_id as string));
  const statuses = operatingStatuses(
    {
      listeners: listeners.map((l) => ({ id: l.id as string, adminStateUp: Number(l.admin_state_up) === 1 })),
      pools: pools.map((p) => ({
        id: p.id as string,
        adminStateUp: Number(p.admin_state_up) === 1,
        monitored: monitored.has(p.id as string),
        members: members
          .filter((m) => m.pool_id === p.id)
          .map((m) => ({ id: m.id as string, adminStateUp: Number(m.admin_state_up) === 1 })),
      })),
    },
    report,
  );
  await setOperating(tx, listenerSpec, listeners, statuses.listeners);
  await setOperating(tx, poolSpec, pools, statuses.pools);
  await setOperating(tx, memberSpec, members, statuses.members);
  if (lb.operating_status !== statuses.loadBalancer) await updateObject(tx, loadBalancerSpec, lb, { operating_status: statuses.loadBalancer });
  await storeListenerStats(tx, loadBalancerId, listeners.map((l) => l.id as string), reports);
}

async function setOperating(tx: WriteTx, spec: ResourceSpec, rows: Row[], statuses: Map<string, string>): Promise<void> {
  const changed = rows.filter((r) => statuses.has(r.id as string) && statuses.get(r.id as string) !== r.operating_status);
  for (const object of await toWireObjects(tx.db, spec, changed)) {
    await updateObject(tx, spec, object, { operating_status: statuses.get(object.id as string) });
  }
}

async function storeListenerStats(tx: WriteTx, loadBalancerId: string, listenerIds: string[], reports: AmphoraHealthReport[]): Promise<void> {
  for (const listenerId of listenerIds) {
    const sum = { active_connections: 0, total_connections: 0, bytes_in: 0, bytes_out: 0, request_errors: 0 };
    for (const report of reports) {
      const stats = report.listeners[listenerId]?.stats;
      if (!stats) continue;
      sum.active_connections += stats.activeConnections;
      sum.total_connections += stats.totalConnections;
      sum.bytes_in += stats.bytesIn;
      sum.bytes_out += stats.bytesOut;
      sum.request_errors += stats.requestErrors;
    }
    const row = { ...sum, updated_at: tx.now };
    await tx.db
      .insertInto('lb_listener_stats')
      .values({ listener_id: listenerId, load_balancer_id: loadBalancerId, ...row })
      .onConflict((oc) => oc.column('listener_id').doUpdateSet(row))
      .execute();
  }
}
