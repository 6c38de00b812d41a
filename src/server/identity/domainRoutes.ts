import type { FastifyInstance } from 'fastify';
import { forbidden } from '../../lib/errors.js';
import type { ServerContext } from '../app.js';
import { authorize, callerOf } from './caller.js';
import { buildCatalog } from './catalog.js';
import * as repo from './repository.js';
import { queryBoolean, queryString } from './schemas.js';
import * as service from './service.js';
import { collectionLinks, renderDomain, renderProject } from './views.js';

type IdParams = { id: string };
type Query = Record<string, unknown>;

/** Domains (read only: `Default` is the one domain) and what a token's user may reach (/v3/auth/…). */
export function registerDomainRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store } = ctx;

  app.get('/v3/domains', async (request) => {
    authorize(await callerOf(store, request), 'list_domains');
    const q = request.query as Query;
    const domains = await store.read((db) => repo.listDomains(db, { name: queryString(q.name), enabled: queryBoolean(q.enabled, 'enabled') }));
    return { domains: domains.map((d) => renderDomain(d, ctx.publicUrl)), links: collectionLinks(ctx.publicUrl, '/domains') };
  });

  app.get<{ Params: IdParams }>('/v3/domains/:id', async (request) => {
    const caller = await callerOf(store, request);
    const { id } = request.params;
    authorize(caller, 'get_domain', caller.user.domain.id === id || caller.project?.domain.id === id);
    const domain = await service.mustGet('domain', id, store.read((db) => repo.getDomain(db, id)));
    return { domain: renderDomain(domain, ctx.publicUrl) };
  });

  app.get('/v3/auth/projects', async (request) => {
    const caller = await callerOf(store, request);
    const projects = await store.read((db) => repo.listProjects(db, { memberId: caller.user.id, enabled: true }));
    return { projects: projects.map((p) => renderProject(p, ctx.publicUrl)), links: collectionLinks(ctx.publicUrl, '/auth/projects') };
  });

  app.get('/v3/auth/catalog', async (request) => {
    const caller = await callerOf(store, request);
    // Like Keystone: an unscoped token has no catalog.
    if (!caller.project) throw forbidden('A project-scoped token is required to produce a service catalog.');
    return { catalog: buildCatalog(ctx.publicUrl, ctx.region), links: collectionLinks(ctx.publicUrl, '/auth/catalog') };
  });
}
