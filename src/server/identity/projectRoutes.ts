import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';
import { authorize, callerOf } from './caller.js';
import * as repo from './repository.js';
import { parseProjectCreate, parseProjectUpdate, queryBoolean, queryString } from './schemas.js';
import * as service from './service.js';
import { collectionLinks, renderProject } from './views.js';

type IdParams = { id: string };
type Query = Record<string, unknown>;

/** /v3/projects: admin CRUD; a member may read the project its token is scoped to. */
export function registerProjectRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store } = ctx;

  app.post('/v3/projects', async (request, reply) => {
    authorize(await callerOf(store, request), 'create_project');
    const project = await service.createProject(store, parseProjectCreate(request.body));
    request.log.info({ projectId: project.id, name: project.name }, 'project created');
    return reply.status(201).send({ project: renderProject(project, ctx.publicUrl) });
  });

  app.get('/v3/projects', async (request) => {
    authorize(await callerOf(store, request), 'list_projects');
    const q = request.query as Query;
    const projects = await store.read((db) =>
      repo.listProjects(db, {
        name: queryString(q.name),
        domainId: queryString(q.domain_id),
        enabled: queryBoolean(q.enabled, 'enabled'),
      }),
    );
    return { projects: projects.map((p) => renderProject(p, ctx.publicUrl)), links: collectionLinks(ctx.publicUrl, '/projects') };
  });

  app.get<{ Params: IdParams }>('/v3/projects/:id', async (request) => {
    const caller = await callerOf(store, request);
    const { id } = request.params;
    authorize(caller, 'get_project', caller.project?.id === id);
    const project = await service.mustGet('project', id, store.read((db) => repo.getProject(db, id)));
    return { project: renderProject(project, ctx.publicUrl) };
  });

  app.patch<{ Params: IdParams }>('/v3/projects/:id', async (request) => {
    authorize(await callerOf(store, request), 'update_project');
    const project = await service.updateProject(store, request.params.id, parseProjectUpdate(request.body, request.params.id));
    return { project: renderProject(project, ctx.publicUrl) };
  });

  app.delete<{ Params: IdParams }>('/v3/projects/:id', async (request, reply) => {
    authorize(await callerOf(store, request), 'delete_project');
    await service.deleteProject(store, request.params.id);
    request.log.info({ projectId: request.params.id }, 'project deleted');
    return reply.status(204).send();
  });
}
