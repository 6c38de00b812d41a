import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiModule, ServerContext } from '../app.js';
import { authOf, requireToken, type AuthContext } from '../auth.js';
import { renderOctaviaFault, useFaultFormat } from '../faults.js';
import type { ResourceSpec, WireObject } from '../network/attributes.js';
import { valuesOf, type QueryParams } from '../network/list-query.js';
import { notFound } from '../../lib/errors.js';
import type { Store } from '../../store/store.js';
import { AVAILABILITY_ZONE_CAPABILITIES, AVAILABILITY_ZONES, FLAVOR_CAPABILITIES, FLAVORS, OperationsService, type Catalogue } from './operations.js';
import { requireLbAdmin, requireRead } from './policy.js';
import { DEFAULT_LB_QUOTAS } from './quotas.js';
import { statistics, statusTree } from './status.js';
import { PROVIDERS, amphoraSpec, healthMonitorSpec, l7PolicySpec, l7RuleSpec, listenerSpec, loadBalancerSpec, memberSpec, poolSpec } from './schemas.js';
import { LoadBalancerService, type ListScope, type LoadBalancerConfig } from './service.js';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: QueryParams }>;

export const defaultLoadBalancerConfig: LoadBalancerConfig = { defaultTopology: 'ACTIVE_STANDBY', defaultQuotas: DEFAULT_LB_QUOTAS };

/**
 * Octavia lists every minor version of its API at its root, the newest CURRENT; all are served by `/v2` (and its
 * alias `/v2.0`), as minor versions only add to it. v2.25 is the newest whose features cloudnet covers (the
 * octavia-tempest-plugin gates tests on the CURRENT one).
 */
const CURRENT_MINOR = 25;
const VERSIONS = Array.from({ length: CURRENT_MINOR + 1 }, (_, minor) => `v2.${minor}`);

const fieldsIn = (query: QueryParams) => valuesOf(query, 'fields').flatMap((f) => f.split(',')).filter(Boolean);
const fieldsOf = (request: Req) => fieldsIn(request.query);

/**
 * Providers and provider capabilities are constant lists of `{name, description}`: Octavia filters them by `name`
 * and `description` and trims them to `fields`, as it does resources.
 */
export function listConstants(items: readonly { name: string; description: string }[], query: QueryParams): Record<string, string>[] {
  const wanted = (key: 'name' | 'description') => valuesOf(query, key);
  const fields = fieldsIn(query);
  return items
    .filter((item) => (['name', 'description'] as const).every((key) => wanted(key).length === 0 || wanted(key).includes(item[key])))
    .map((item) => (fields.length ? Object.fromEntries(Object.entries(item).filter(([key]) => fields.includes(key))) : { ...item }));
}

export function createLoadBalancerApi(config: LoadBalancerConfig = defaultLoadBalancerConfig): ApiModule {
  return {
    prefix: '/load-balancer',
    async register(app: FastifyInstance, ctx: ServerContext) {
      useFaultFormat(app, renderOctaviaFault);
      const base = () => `${ctx.publicUrl}/load-balancer`;
      const service = new LoadBalancerService(ctx.store, config);
      const operations = new OperationsService(ctx.store, config.defaultQuotas);

      app.get('/', async () => ({
        versions: VERSIONS.map((id, i) => ({
          id,
          status: i === VERSIONS.length - 1 ? 'CURRENT' : 'SUPPORTED',
          links: [{ href: `${base()}/v2`, rel: 'self' }],
        })),
      }));

      for (const version of ['v2', 'v2.0']) {
        await app.register(
          async (v2) => {
            v2.addHook('preHandler', requireToken(ctx.tokens));
            registerRoutes(v2, service, () => ctx.publicUrl);
            registerOperationRoutes(v2, ctx.store, service, operations, () => ctx.publicUrl);
          },
          { prefix: `/${version}` },
        );
      }
    },
  };
}

function registerRoutes(app: FastifyInstance, service: LoadBalancerService, publicUrl: () => string): void {
  const collection = (spec: ResourceSpec, path: string, scope?: (request: Req) => ListScope) => {
    app.get(path, async (request: Req) => {
      const url = `${publicUrl()}${request.url.split('?')[0]}`;
      const { items, links } = await service.list(spec, authOf(request), request.query, url, scope?.(request));
      return { [spec.collection]: items, [`${spec.collection}_links`]: links };
    });
    app.get(`${path}/:id`, async (request: Req) => ({
      [spec.member]: await service.show(spec, authOf(request), request.params.id, fieldsOf(request), scope?.(request)),
    }));
  };
  const writes = (spec: ResourceSpec, path: string, ops: Writes) => registerWrites(app, spec, path, ops);
  const flag = (request: Req, name: string) => (valuesOf(request.query, name)[0] ?? 'false').toLowerCase() === 'true';

  collection(loadBalancerSpec, '/lbaas/loadbalancers');
  writes(loadBalancerSpec, '/lbaas/loadbalancers', {
    create: (auth, r) => service.createLoadBalancer(auth, r.body),
    update: (auth, r) => service.updateLoadBalancer(auth, r.params.id, r.body),
    remove: (auth, r) => service.deleteLoadBalancer(auth, r.params.id, flag(r, 'cascade')),
  });

  collection(listenerSpec, '/lbaas/listeners');
  writes(listenerSpec, '/lbaas/listeners', {
    create: (auth, r) => service.createListener(auth, r.body),
    update: (auth, r) => service.updateListener(auth, r.params.id, r.body),
    remove: (auth, r) => service.deleteListener(auth, r.params.id),
  });

  collection(poolSpec, '/lbaas/pools');
  writes(poolSpec, '/lbaas/pools', {
    create: (auth, r) => service.createPool(auth, r.body),
    update: (auth, r) => service.updatePool(auth, r.params.id, r.body),
    remove: (auth, r) => service.deletePool(auth, r.params.id),
  });

  const ofPool = (request: Req): ListScope => ({ column: 'pool_id', value: request.params.pool_id });
  collection(memberSpec, '/lbaas/pools/:pool_id/members', ofPool);
  writes(memberSpec, '/lbaas/pools/:pool_id/members', {
    create: (auth, r) => service.createMember(auth, r.params.pool_id, r.body),
    update: (auth, r) => service.updateMember(auth, r.params.pool_id, r.params.id, r.body),
    remove: (auth, r) => service.deleteMember(auth, r.params.pool_id, r.params.id),
  });
  app.put('/lbaas/pools/:pool_id/members', async (request: Req, reply: FastifyReply) => {
    await service.replaceMembers(authOf(request), request.params.pool_id, request.body, flag(request, 'additive_only'));
    void reply.status(202);
  });

  collection(healthMonitorSpec, '/lbaas/healthmonitors');
  writes(healthMonitorSpec, '/lbaas/healthmonitors', {
    create: (auth, r) => service.createHealthMonitor(auth, r.body),
    update: (auth, r) => service.updateHealthMonitor(auth, r.params.id, r.body),
    remove: (auth, r) => service.deleteHealthMonitor(auth, r.params.id),
  });

  collection(l7PolicySpec, '/lbaas/l7policies');
  writes(l7PolicySpec, '/lbaas/l7policies', {
    create: (auth, r) => service.createL7Policy(auth, r.body),
    update: (auth, r) => service.updateL7Policy(auth, r.params.id, r.body),
    remove: (auth, r) => service.deleteL7Policy(auth, r.params.id),
  });

  const ofPolicy = (request: Req): ListScope => ({ column: 'l7policy_id', value: request.params.policy_id });
  collection(l7RuleSpec, '/lbaas/l7policies/:policy_id/rules', ofPolicy);
  writes(l7RuleSpec, '/lbaas/l7policies/:policy_id/rules', {
    create: (auth, r) => service.createL7Rule(auth, r.params.policy_id, r.body),
    update: (auth, r) => service.updateL7Rule(auth, r.params.policy_id, r.params.id, r.body),
    remove: (auth, r) => service.deleteL7Rule(auth, r.params.policy_id, r.params.id),
  });
}

/**
 * POST 201 with the object, PUT 200 with the object, DELETE 204. The api-ref says 202 for updates, but Octavia
 * answers 200 and octavia-tempest-plugin's clients insist on it (`_update_object`: expected_success(200)).
 */
function registerWrites(app: FastifyInstance, spec: ResourceSpec, path: string, ops: Writes): void {
  app.post(path, async (request: Req, reply: FastifyReply) => {
    const object = await ops.create(authOf(request), request);
    void reply.status(201);
    return { [spec.member]: object };
  });
  app.put(`${path}/:id`, async (request: Req, reply: FastifyReply) => {
    const object = await ops.update(authOf(request), request);
    void reply.status(200);
    return { [spec.member]: object };
  });
  app.delete(`${path}/:id`, async (request: Req, reply: FastifyReply) => {
    await ops.remove(authOf(request), request);
    void reply.status(204);
  });
}

interface Writes {
  create(auth: AuthContext, request: Req): Promise<WireObject>;
  update(auth: AuthContext, request: Req): Promise<WireObject>;
  remove(auth: AuthContext, request: Req): Promise<void>;
}

/** Status and statistics, failovers, amphorae, providers, flavors and their profiles, quotas. */
function registerOperationRoutes(app: FastifyInstance, store: Store, service: LoadBalancerService, operations: OperationsService, publicUrl: () => string): void {
  const selfUrl = (request: Req) => `${publicUrl()}${request.url.split('?')[0]}`;

  app.get('/lbaas/loadbalancers/:id/status', async (request: Req) => {
    await service.show(loadBalancerSpec, authOf(request), request.params.id, ['id']);
    return store.read((db) => statusTree(db, request.params.id));
  });
  app.get('/lbaas/loadbalancers/:id/stats', async (request: Req) => {
    await service.show(loadBalancerSpec, authOf(request), request.params.id, ['id']);
    return { stats: await store.read((db) => statistics(db, 'load_balancer_id', request.params.id)) };
  });
  app.get('/lbaas/listeners/:id/stats', async (request: Req) => {
    await service.show(listenerSpec, authOf(request), request.params.id, ['id']);
    return { stats: await store.read((db) => statistics(db, 'listener_id', request.params.id)) };
  });
  app.put('/lbaas/loadbalancers/:id/failover', async (request: Req, reply: FastifyReply) => {
    await operations.failoverLoadBalancer(authOf(request), request.params.id);
    void reply.status(202);
  });

  /** List and show of a top-level object; `adminOnly` for profiles, which only the LB admin may read. */
  const listAndShow = (spec: ResourceSpec, path: string, adminOnly: boolean) => {
    app.get(path, async (request: Req) => {
      if (adminOnly) requireLbAdmin(authOf(request));
      const { items, links } = await service.list(spec, authOf(request), request.query, selfUrl(request));
      return { [spec.collection]: items, [`${spec.collection}_links`]: links };
    });
    app.get(`${path}/:id`, async (request: Req) => {
      if (adminOnly) requireLbAdmin(authOf(request));
      return { [spec.member]: await service.show(spec, authOf(request), request.params.id, fieldsOf(request)) };
    });
  };
  listAndShow(amphoraSpec, '/octavia/amphorae', true);
  app.put('/octavia/amphorae/:id/failover', async (request: Req, reply: FastifyReply) => {
    await operations.failoverAmphora(authOf(request), request.params.id);
    void reply.status(202);
  });
  app.put('/octavia/amphorae/:id/config', async (request: Req, reply: FastifyReply) => {
    await operations.refreshAmphoraConfig(authOf(request), request.params.id);
    void reply.status(202);
  });
  app.get('/octavia/amphorae/:id/stats', async (request: Req) => ({ amphora_stats: await operations.amphoraStats(authOf(request), request.params.id) }));

  app.get('/lbaas/providers', async (request: Req) => {
    requireRead(authOf(request), authOf(request).projectId);
    return { providers: listConstants(PROVIDERS, request.query) };
  });
  const provider = (request: Req) => {
    requireLbAdmin(authOf(request));
    if (!PROVIDERS.some((p) => p.name === request.params.provider)) throw notFound(`Provider ${request.params.provider} could not be found.`);
  };
  app.get('/lbaas/providers/:provider/flavor_capabilities', async (request: Req) => {
    provider(request);
    return { flavor_capabilities: listConstants(FLAVOR_CAPABILITIES, request.query) };
  });
  app.get('/lbaas/providers/:provider/availability_zone_capabilities', async (request: Req) => {
    provider(request);
    return { availability_zone_capabilities: listConstants(AVAILABILITY_ZONE_CAPABILITIES, request.query) };
  });

  const catalogueRoutes = (catalogue: Catalogue, profilesPath: string, entriesPath: string) => {
    listAndShow(catalogue.profile, profilesPath, true);
    registerWrites(app, catalogue.profile, profilesPath, {
      create: (auth, r) => operations.createProfile(catalogue, auth, r.body),
      update: (auth, r) => operations.updateProfile(catalogue, auth, r.params.id, r.body),
      remove: (auth, r) => operations.deleteProfile(catalogue, auth, r.params.id),
    });
    listAndShow(catalogue.entry, entriesPath, false);
    registerWrites(app, catalogue.entry, entriesPath, {
      create: (auth, r) => operations.createEntry(catalogue, auth, r.body),
      update: (auth, r) => operations.updateEntry(catalogue, auth, r.params.id, r.body),
      remove: (auth, r) => operations.deleteEntry(catalogue, auth, r.params.id),
    });
  };
  catalogueRoutes(FLAVORS, '/lbaas/flavorprofiles', '/lbaas/flavors');
  // Zones are known by name: `:id` is the name (the row's id, see availabilityZoneSpec).
  catalogueRoutes(AVAILABILITY_ZONES, '/lbaas/availabilityzoneprofiles', '/lbaas/availabilityzones');

  app.get('/lbaas/quotas', async (request: Req) => ({
    quotas: await operations.listQuotas(authOf(request), valuesOf(request.query, 'project_id')[0]),
  }));
  app.get('/lbaas/quotas/defaults', async (request: Req) => ({ quota: operations.defaults(authOf(request)) }));
  app.get('/lbaas/quotas/:project_id', async (request: Req) => ({ quota: await operations.showQuota(authOf(request), request.params.project_id) }));
  app.put('/lbaas/quotas/:project_id', async (request: Req, reply: FastifyReply) => {
    const quota = await operations.updateQuota(authOf(request), request.params.project_id, request.body);
    void reply.status(202);
    return { quota };
  });
  app.delete('/lbaas/quotas/:project_id', async (request: Req, reply: FastifyReply) => {
    await operations.resetQuota(authOf(request), request.params.project_id);
    void reply.status(204);
  });
}
