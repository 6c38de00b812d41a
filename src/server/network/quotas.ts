import { ApiError } from '../../lib/errors.js';
import type { Db } from '../../store/database.js';
import type { WriteTx } from '../../store/store.js';
import type { NetworkConfig } from './config.js';

/** The table each quota resource counts. */
export const QUOTA_TABLES: Record<string, string> = {
  network: 'networks',
  subnet: 'subnets',
  port: 'ports',
  security_group: 'security_groups',
  security_group_rule: 'security_group_rules',
};

export async function quotaLimits(db: Db, config: NetworkConfig, projectId: string): Promise<Record<string, number>> {
  const rows = (await db.selectFrom('quotas').select(['resource', 'quota_limit']).where('project_id', '=', projectId).execute()) as {
    resource: string;
    quota_limit: number;
  }[];
  const limits = { ...config.defaultQuotas };
  for (const r of rows) limits[r.resource] = Number(r.quota_limit);
  return limits;
}

export async function quotaUsage(db: Db, projectId: string): Promise<Record<string, number>> {
  const usage: Record<string, number> = {};
  for (const [resource, table] of Object.entries(QUOTA_TABLES)) {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
    usage[resource] = Number(row.n);
  }
  return usage;
}

/**
 * Refuses a create that would take a project past its quota. The lock makes concurrent creates of one
 * project and resource count one after another, so a quota cannot be overrun by a race.
 */
export async function enforceQuota(tx: WriteTx, config: NetworkConfig, projectId: string, resource: string, adding = 1): Promise<void> {
  const table = QUOTA_TABLES[resource];
  if (!table) return;
  await tx.lock(`quota:${projectId}:${resource}`);
  const limit = (await quotaLimits(tx.db, config, projectId))[resource];
  if (limit === undefined || limit < 0) return;
  const row = await tx.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  if (Number(row.n) + adding > limit) {
    throw new ApiError(409, 'OverQuota', `Quota exceeded for resources: ['${resource}'].`);
  }
}
