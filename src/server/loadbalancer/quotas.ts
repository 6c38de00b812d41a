import { ApiError } from '../../lib/errors.js';
import type { Db } from '../../store/database.js';
import type { WriteTx } from '../../store/store.js';

/** Octavia's quota resources, the table each counts and its name in the over-quota message. */
export const QUOTA_RESOURCES: Record<string, { table: string; title: string }> = {
  load_balancer: { table: 'load_balancers', title: 'Load Balancer' },
  listener: { table: 'lb_listeners', title: 'Listener' },
  pool: { table: 'lb_pools', title: 'Pool' },
  health_monitor: { table: 'lb_health_monitors', title: 'Health Monitor' },
  member: { table: 'lb_members', title: 'Member' },
  l7policy: { table: 'lb_l7policies', title: 'L7 Policy' },
  l7rule: { table: 'lb_l7rules', title: 'L7 Rule' },
};

/** Octavia's defaults: unlimited (-1) for every resource unless octavia.conf says otherwise. */
export const DEFAULT_LB_QUOTAS: Record<string, number> = Object.fromEntries(Object.keys(QUOTA_RESOURCES).map((r) => [r, -1]));

export async function quotaLimits(db: Db, defaults: Record<string, number>, projectId: string): Promise<Record<string, number>> {
  const rows = (await db.selectFrom('lb_quotas').select(['resource', 'quota_limit']).where('project_id', '=', projectId).execute()) as {
    resource: string;
    quota_limit: number;
  }[];
  const limits = { ...defaults };
  for (const r of rows) limits[r.resource] = Number(r.quota_limit);
  return limits;
}

export async function quotaUsage(db: Db, projectId: string): Promise<Record<string, number>> {
  const usage: Record<string, number> = {};
  for (const [resource, { table }] of Object.entries(QUOTA_RESOURCES)) {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
    usage[resource] = Number(row.n);
  }
  return usage;
}

/**
 * Refuses a create that would take the project past its quota, with Octavia's QuotaException (403). Creates of
 * one project and resource count one after another under a lock, so a race cannot overrun the quota.
 */
export async function enforceLbQuota(tx: WriteTx, defaults: Record<string, number>, projectId: string, resource: string, adding = 1): Promise<void> {
  const { table, title } = QUOTA_RESOURCES[resource];
  await tx.lock(`lb-quota:${projectId}:${resource}`);
  const limit = (await quotaLimits(tx.db, defaults, projectId))[resource];
  if (limit === undefined || limit < 0) return;
  const row = await tx.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  if (Number(row.n) + adding > limit) throw new ApiError(403, 'QuotaException', `Quota has been met for resources: ${title}`);
}
