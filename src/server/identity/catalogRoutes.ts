import type { FastifyInstance } from 'fastify';
import { notFound } from '../../lib/errors.js';
import type { ServerContext } from '../app.js';
import { authorize, callerOf } from './caller.js';
import { buildCatalog } from './catalog.js';
import { queryString } from './schemas.js';
import { collectionLinks, identityBase } from './views.js';

type IdParams = { id: string };
type Query = Record<string, unknown>;

/**
 * /v3/regions, /v3/services and /v3/endpoints, read only: the catalog is derived from the server's configuration
 * (see catalog.ts), so these list what every token's catalog holds, for `openstack endpoint list` and the like.
 */
export function registerCatalogRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store } = ctx;
  const self = (path: string) => ({ self: `${identityBase(ctx.publicUrl)}/v3${path}` });

  const regions = () => [{ id: ctx.region, description: '', parent_region_id: null, links: self(`/regions/${ctx.region}`) }];
  const services = () =>
    buildCatalog(ctx.publicUrl, ctx.region).map((s) => ({
      id: s.id,
      type: s.type,
      name: s.name,
      enabled: true,
      links: self(`/services/${s.id}`),
    }));
  const endpoints = () =>
    buildCatalog(ctx.publicUrl, ctx.region).flatMap((s) =>
      s.endpoints.map((e) => ({ ...e, service_id: s.id, enabled: true, links: self(`/endpoints/${e.id}`) })),
    );

  app.get('/v3/regions', async (request) => {
    authorize(await callerOf(store, request), 'list_regions');
    return { regions: regions(), links: collectionLinks(ctx.publicUrl, '/regions') };
  });
  app.get<{ Params: IdParams }>('/v3/regions/:id', async (request) => {
    authorize(await callerOf(store, request), 'get_region');
    const region = regions().find((r) => r.id === request.params.id);
    if (!region) throw notFound(`Could not find region: ${request.params.id}.`);
    return { region };
  });

  app.get('/v3/services', async (request) => {
    authorize(await callerOf(store, request), 'list_services');
    const q = request.query as Query;
    const [type, name] = [queryString(q.type), queryString(q.name)];
    const matching = services().filter((s) => (type === undefined || s.type === type) && (name === undefined || s.name === name));
    return { services: matching, links: collectionLinks(ctx.publicUrl, '/services') };
  });
  app.get<{ Params: IdParams }>('/v3/services/:id', async (request) => {
    authorize(await callerOf(store, request), 'get_service');
    const service = services().find((s) => s.id === request.params.id);
    if (!service) throw notFound(`Could not find service: ${request.params.id}.`);
    return { service };
  });

  app.get('/v3/endpoints', async (request) => {
    authorize(await callerOf(store, request), 'list_endpoints');
    const q = request.query as Query;
    const [serviceId, iface, regionId] = [queryString(q.service_id), queryString(q.interface), queryString(q.region_id)];
    const matching = endpoints().filter(
      (e) =>
        (serviceId === undefined || e.service_id === serviceId) &&
        (iface === undefined || e.interface === iface) &&
        (regionId === undefined || e.region_id === regionId),
    );
    return { endpoints: matching, links: collectionLinks(ctx.publicUrl, '/endpoints') };
  });
  app.get<{ Params: IdParams }>('/v3/endpoints/:id', async (request) => {
    authorize(await callerOf(store, request), 'get_endpoint');
    const endpoint = endpoints().find((e) => e.id === request.params.id);
    if (!endpoint) throw notFound(`Could not find endpoint: ${request.params.id}.`);
    return { endpoint };
  });
}
