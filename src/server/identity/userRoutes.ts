import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';
import { authorize, callerOf } from './caller.js';
import * as repo from './repository.js';
import { parsePasswordChange, parseUserCreate, parseUserUpdate, queryBoolean, queryString } from './schemas.js';
import * as service from './service.js';
import { collectionLinks, renderProject, renderUser } from './views.js';

type IdParams = { id: string };
type Query = Record<string, unknown>;

/** /v3/users: admin CRUD; a user may read itself, list its projects and change its own password. */
export function registerUserRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store } = ctx;

  app.post('/v3/users', async (request, reply) => {
    authorize(await callerOf(store, request), 'create_user');
    const user = await service.createUser(store, parseUserCreate(request.body));
    request.log.info({ userId: user.id, name: user.name }, 'user created');
    return reply.status(201).send({ user: renderUser(user, ctx.publicUrl) });
  });

  app.get('/v3/users', async (request) => {
    authorize(await callerOf(store, request), 'list_users');
    const q = request.query as Query;
    const users = await store.read((db) =>
      repo.listUsers(db, { name: queryString(q.name), domainId: queryString(q.domain_id), enabled: queryBoolean(q.enabled, 'enabled') }),
    );
    return { users: users.map((u) => renderUser(u, ctx.publicUrl)), links: collectionLinks(ctx.publicUrl, '/users') };
  });

  app.get<{ Params: IdParams }>('/v3/users/:id', async (request) => {
    const caller = await callerOf(store, request);
    const { id } = request.params;
    authorize(caller, 'get_user', caller.user.id === id);
    const user = await service.mustGet('user', id, store.read((db) => repo.getUser(db, id)));
    return { user: renderUser(user, ctx.publicUrl) };
  });

  app.patch<{ Params: IdParams }>('/v3/users/:id', async (request) => {
    authorize(await callerOf(store, request), 'update_user');
    const user = await service.updateUser(store, request.params.id, parseUserUpdate(request.body, request.params.id));
    return { user: renderUser(user, ctx.publicUrl) };
  });

  app.delete<{ Params: IdParams }>('/v3/users/:id', async (request, reply) => {
    authorize(await callerOf(store, request), 'delete_user');
    await service.deleteUser(store, request.params.id);
    request.log.info({ userId: request.params.id }, 'user deleted');
    return reply.status(204).send();
  });

  // Like Keystone, no token is asked for (nor looked at): knowing the current password is the proof, and a wrong
  // one is a 401 like a failed login.
  app.post<{ Params: IdParams }>('/v3/users/:id/password', async (request, reply) => {
    const { id } = request.params;
    const { password, originalPassword } = parsePasswordChange(request.body);
    await service.changePassword(store, id, originalPassword, password);
    request.log.info({ userId: id }, 'password changed');
    return reply.status(204).send();
  });

  app.get<{ Params: IdParams }>('/v3/users/:id/projects', async (request) => {
    const caller = await callerOf(store, request);
    const { id } = request.params;
    authorize(caller, 'list_user_projects', caller.user.id === id);
    await service.mustGet('user', id, store.read((db) => repo.getUser(db, id)));
    const projects = await store.read((db) => repo.listProjects(db, { memberId: id }));
    return { projects: projects.map((p) => renderProject(p, ctx.publicUrl)), links: collectionLinks(ctx.publicUrl, `/users/${id}/projects`) };
  });
}
