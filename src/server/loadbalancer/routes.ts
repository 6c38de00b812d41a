import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiModule, ServerContext } from '../app.js';
import { authOf, requireToken, type AuthContext } from '../auth.js';
import { renderOctaviaFault, useFaultFormat } from '../faults.js';
import type { ResourceSpec, WireObject } from '../network/attributes.js';
import { valuesOf, type QueryParams } from '../network/list-query.js';
import { DEFAULT_LB_QUOTAS } from './quotas.js';
import { healthMonitorSpec, listenerSpec, loadBalancerSpec, memberSpec, poolSpec } from './schemas.js';
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

const fieldsOf = (request: Req) => valuesOf(request.query, 'fields').flatMap((f) => f.split(',')).filter(Boolean);

export function createLoadBalancerApi(config: LoadBalancerConfig = defaultLoadBalancerConfig): ApiModule {
  return {
    prefix: '/load-balancer',
    async register(app: FastifyInstance, ctx: ServerContext) {
      useFaultFormat(app, renderOctaviaFault);
      const base = () => `${ctx.publicUrl}/load-balancer`;
      const service = new LoadBalancerService(ctx.store, config);

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
  /** POST 201 with the object, PUT 202 with the object, DELETE 204, as Octavia's api-ref has them. */
  const writes = (spec: ResourceSpec, path: string, ops: Writes) => {
    app.post(path, async (request: Req, reply: FastifyReply) => {
      const object = await ops.create(authOf(request), request);
      void reply.status(201);
      return { [spec.member]: object };
    });
    app.put(`${path}/:id`, async (request: Req, reply: FastifyReply) => {
      const object = await ops.update(authOf(request), request);
      void reply.status(202);
      return { [spec.member]: object };
    });
    app.delete(`${path}/:id`, async (request: Req, reply: FastifyReply) => {
      await ops.remove(authOf(request), request);
      void reply.status(204);
    });
  };
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
}

interface Writes {
  create(auth: AuthContext, request: Req): Promise<WireObject>;
  update(auth: AuthContext, request: Req): Promise<WireObject>;
  remove(auth: AuthContext, request: Req): Promise<void>;
}
