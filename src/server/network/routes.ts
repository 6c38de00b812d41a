import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, notFound } from '../../lib/errors.js';
import type { ApiModule, ServerContext } from '../app.js';
import { authOf, requireToken, type AuthContext } from '../auth.js';
import { renderNeutronFault, useFaultFormat } from '../faults.js';
import { defaultNetworkConfig, type NetworkConfig } from './config.js';
import { EXTENSIONS, renderExtension } from './extensions.js';
import { valuesOf, type QueryParams } from './list-query.js';
import { registerAgentRoutes } from './agents.js';
import { registerQuotaRoutes } from './quota-routes.js';
import { hasTags } from './attributes.js';
import { checkTag, type ResourceService } from './resource.js';
import { createNetworkServices } from './resources/index.js';
import { invalidInput } from './validators.js';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: QueryParams }>;

/** Neutron's policy defaults: readers read, members of a project (and admins) write. */
function requireWriter(auth: AuthContext, action: string): void {
  if (!auth.isAdmin && !auth.roles.includes('member')) throw forbidden(`(rule:${action}) is disallowed by policy`);
}

export function createNetworkApi(config: NetworkConfig = defaultNetworkConfig): ApiModule {
  return {
    prefix: '/network',
    async register(app: FastifyInstance, ctx: ServerContext) {
      useFaultFormat(app, renderNeutronFault);
      // Read per request: the public URL may be settled only once the server listens (a random test port).
      const base = () => `${ctx.publicUrl}/network`;

      app.get('/', async () => ({
        versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${base()}/v2.0/`, rel: 'self' }] }],
      }));

      await app.register(async (v2) => {
        v2.addHook('preHandler', requireToken(ctx.tokens));
        const services = [...createNetworkServices(config, ctx.store).values()];

        v2.get('/', async () => ({
          resources: services.filter((s) => !s.spec.extension).map((s) => ({
            name: s.spec.member,
            collection: s.spec.collection,
            links: [{ href: `${base()}/v2.0/${s.spec.path ?? s.spec.collection}`, rel: 'self' }],
          })),
        }));
        v2.get('/extensions', async () => ({ extensions: EXTENSIONS.map(renderExtension) }));
        v2.get('/extensions/:alias', async (request: Req) => {
          const ext = EXTENSIONS.find((e) => e.alias === request.params.alias);
          if (!ext) throw notFound(`Extension with alias ${request.params.alias} does not exist`);
          return { extension: renderExtension(ext) };
        });

        for (const service of services) registerCollection(v2, service, () => `${base()}/v2.0`);
        registerQuotaRoutes(v2, ctx.store, config);
        registerAgentRoutes(v2, ctx.store);
      }, { prefix: '/v2.0' });
    },
  };
}

function registerCollection(app: FastifyInstance, service: ResourceService, base: () => string): void {
  const { collection, member } = service.spec;
  const path = `/${service.spec.path ?? collection}`;
  const item = `${path}/:id`;
  const ifMatch = (request: FastifyRequest) => {
    const h = request.headers['if-match'];
    return Array.isArray(h) ? h.join(',') : h;
  };

  app.get(path, async (request: Req) => {
    const auth = authOf(request);
    const { items, links } = await service.list(auth, request.query, `${base()}${path}`);
    return links.length ? { [collection]: items, [`${collection}_links`]: links } : { [collection]: items };
  });
  app.post(path, async (request: Req, reply: FastifyReply) => {
    const auth = authOf(request);
    requireWriter(auth, `create_${member}`);
    const { bulk, items } = await service.create(auth, request.body);
    void reply.status(201);
    return bulk ? { [collection]: items } : { [member]: items[0] };
  });
  app.get(item, async (request: Req) => {
    const fields = valuesOf(request.query, 'fields').flatMap((f) => f.split(',')).filter(Boolean);
    return { [member]: await service.show(authOf(request), request.params.id, fields) };
  });
  app.put(item, async (request: Req) => {
    const auth = authOf(request);
    requireWriter(auth, `update_${member}`);
    return { [member]: await service.update(auth, request.params.id, request.body, ifMatch(request)) };
  });
  app.delete(item, async (request: Req, reply: FastifyReply) => {
    const auth = authOf(request);
    requireWriter(auth, `delete_${member}`);
    await service.delete(auth, request.params.id, ifMatch(request));
    void reply.status(204);
  });

  if (!hasTags(service.spec)) return;
  const tags = `${item}/tags`;
  app.get(tags, async (request: Req) => ({ tags: await service.tagsOf(authOf(request), request.params.id) }));
  app.get(`${tags}/:tag`, async (request: Req, reply: FastifyReply) => {
    const list = await service.tagsOf(authOf(request), request.params.id);
    if (!list.includes(request.params.tag)) throw notFound(`Tag ${request.params.tag} could not be found for ${member} ${request.params.id}.`);
    void reply.status(204);
  });
  app.put(tags, async (request: Req) => {
    const auth = authOf(request);
    requireWriter(auth, `update_${member}:tags`);
    const body = request.body as { tags?: unknown } | undefined;
    if (!body || !Array.isArray(body.tags)) throw invalidInput("'tags' is a required list");
    return { tags: await service.replaceTags(auth, request.params.id, body.tags.map(checkTag)) };
  });
  app.put(`${tags}/:tag`, async (request: Req, reply: FastifyReply) => {
    const auth = authOf(request);
    requireWriter(auth, `update_${member}:tags`);
    await service.replaceTags(auth, request.params.id, undefined, checkTag(request.params.tag));
    void reply.status(201);
  });
  app.delete(tags, async (request: Req, reply: FastifyReply) => {
    const auth = authOf(request);
    requireWriter(auth, `update_${member}:tags`);
    await service.replaceTags(auth, request.params.id, []);
    void reply.status(204);
  });
  app.delete(`${tags}/:tag`, async (request: Req, reply: FastifyReply) => {
    const auth = authOf(request);
    requireWriter(auth, `update_${member}:tags`);
    await service.replaceTags(auth, request.params.id, undefined, undefined, request.params.tag);
    void reply.status(204);
  });
}

