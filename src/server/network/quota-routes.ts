import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, forbidden } from '../../lib/errors.js';
import type { Store } from '../../store/store.js';
import { authOf, requireAdmin } from '../auth.js';
import type { NetworkConfig } from './config.js';
import { QUOTA_TABLES, quotaLimits, quotaUsage } from './quotas.js';

type Req = FastifyRequest<{ Params: { project_id: string } }>;

/** `/v2.0/quotas`: admins set and reset per-project limits; a project reads its own. */
export function registerQuotaRoutes(app: FastifyInstance, store: Store, config: NetworkConfig): void {
  const readable = (request: Req) => {
    const auth = authOf(request);
    if (!auth.isAdmin && auth.projectId !== request.params.project_id) {
      throw forbidden('(rule:get_quota) is disallowed by policy');
    }
  };

  app.get('/quotas', async (request) => {
    requireAdmin(request);
    const rows = (await store.read((db) => db.selectFrom('quotas').select('project_id').distinct().orderBy('project_id').execute())) as { project_id: string }[];
    const quotas = [];
    for (const { project_id } of rows) {
      const limits = await store.read((db) => quotaLimits(db, config, project_id));
      quotas.push({ ...limits, project_id, tenant_id: project_id });
    }
    return { quotas };
  });

  // The caller's own project, which the Neutron CLI asks for before a quota call without --tenant-id.
  for (const key of ['tenant', 'project'] as const) {
    app.get(`/quotas/${key}`, async (request) => ({ [key]: { [`${key}_id`]: authOf(request).projectId } }));
  }

  app.get('/quotas/:project_id', async (request: Req) => {
    readable(request);
    return { quota: await store.read((db) => quotaLimits(db, config, request.params.project_id)) };
  });

  app.get('/quotas/:project_id/default', async (request: Req) => {
    readable(request);
    return { quota: { ...config.defaultQuotas } };
  });

  app.get('/quotas/:project_id/details.json', async (request: Req) => {
    readable(request);
    const { limits, usage } = await store.read(async (db) => ({
      limits: await quotaLimits(db, config, request.params.project_id),
      usage: await quotaUsage(db, request.params.project_id),
    }));
    const quota: Record<string, { limit: number; used: number; reserved: number }> = {};
    for (const [resource, limit] of Object.entries(limits)) quota[resource] = { limit, used: usage[resource] ?? 0, reserved: 0 };
    return { quota };
  });

  app.put('/quotas/:project_id', async (request: Req) => {
    requireAdmin(request);
    const values = parseQuotaBody(request.body);
    const projectId = request.params.project_id;
    await store.write(async (tx) => {
      for (const [resource, limit] of Object.entries(values)) {
        await tx.db
          .insertInto('quotas')
          .values({ project_id: projectId, resource, quota_limit: limit })
          .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ quota_limit: limit }))
          .execute();
      }
    });
    return { quota: await store.read((db) => quotaLimits(db, config, projectId)) };
  });

  app.delete('/quotas/:project_id', async (request: Req, reply: FastifyReply) => {
    requireAdmin(request);
    await store.write(async (tx) => {
      await tx.db.deleteFrom('quotas').where('project_id', '=', request.params.project_id).execute();
    });
    void reply.status(204);
  });
}

function parseQuotaBody(body: unknown): Record<string, number> {
  const quota = (body as { quota?: unknown } | null)?.quota;
  if (!quota || typeof quota !== 'object' || Array.isArray(quota)) throw badRequest("Unable to find 'quota' in request body");
  const unknown = Object.keys(quota).filter((k) => !(k in QUOTA_TABLES));
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  const out: Record<string, number> = {};
  for (const [resource, value] of Object.entries(quota as Record<string, unknown>)) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) {
      throw badRequest(`Invalid input for ${resource}. Reason: '${String(value)}' is not a valid quota limit: it must be an integer -1 or greater.`, 'InvalidInput');
    }
    out[resource] = n;
  }
  return out;
}
