import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';
import { authorize, callerOf } from './caller.js';
import * as repo from './repository.js';
import { effectiveAssignments } from './roles.js';
import { parseRoleCreate, parseRoleUpdate, queryFlag, queryString } from './schemas.js';
import * as service from './service.js';
import { collectionLinks, renderAssignment, renderRole } from './views.js';

type IdParams = { id: string };
type GrantParams = { projectId: string; userId: string; roleId: string };
type Query = Record<string, unknown>;

const grantOf = (p: GrantParams): service.GrantRef => ({ projectId: p.projectId, userId: p.userId, roleId: p.roleId });

/** /v3/roles, grants of roles to users on projects, and /v3/role_assignments. */
export function registerRoleRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store } = ctx;

  app.post('/v3/roles', async (request, reply) => {
    authorize(await callerOf(store, request), 'create_role');
    const role = await service.createRole(store, parseRoleCreate(request.body));
    request.log.info({ roleId: role.id, name: role.name }, 'role created');
    return reply.status(201).send({ role: renderRole(role, ctx.publicUrl) });
  });

  app.get('/v3/roles', async (request) => {
    authorize(await callerOf(store, request), 'list_roles');
    const roles = await store.read((db) => repo.listRoles(db, { name: queryString((request.query as Query).name) }));
    return { roles: roles.map((r) => renderRole(r, ctx.publicUrl)), links: collectionLinks(ctx.publicUrl, '/roles') };
  });

  app.get<{ Params: IdParams }>('/v3/roles/:id', async (request) => {
    authorize(await callerOf(store, request), 'get_role');
    const { id } = request.params;
    const role = await service.mustGet('role', id, store.read((db) => repo.getRole(db, id)));
    return { role: renderRole(role, ctx.publicUrl) };
  });

  app.patch<{ Params: IdParams }>('/v3/roles/:id', async (request) => {
    authorize(await callerOf(store, request), 'update_role');
    const role = await service.updateRole(store, request.params.id, parseRoleUpdate(request.body, request.params.id));
    return { role: renderRole(role, ctx.publicUrl) };
  });

  app.delete<{ Params: IdParams }>('/v3/roles/:id', async (request, reply) => {
    authorize(await callerOf(store, request), 'delete_role');
    await service.deleteRole(store, request.params.id);
    request.log.info({ roleId: request.params.id }, 'role deleted');
    return reply.status(204).send();
  });

  app.get<{ Params: Omit<GrantParams, 'roleId'> }>('/v3/projects/:projectId/users/:userId/roles', async (request) => {
    authorize(await callerOf(store, request), 'list_grants');
    const { projectId, userId } = request.params;
    const roles = await service.rolesOfUserOnProject(store, projectId, userId);
    return {
      roles: roles.map((r) => renderRole(r, ctx.publicUrl)),
      links: collectionLinks(ctx.publicUrl, `/projects/${projectId}/users/${userId}/roles`),
    };
  });

  app.put<{ Params: GrantParams }>('/v3/projects/:projectId/users/:userId/roles/:roleId', async (request, reply) => {
    authorize(await callerOf(store, request), 'create_grant');
    await service.grant(store, grantOf(request.params));
    request.log.info(request.params, 'role granted');
    return reply.status(204).send();
  });

  // Checking a grant: 204 when it exists, 404 when not; HEAD is answered from this route.
  app.get<{ Params: GrantParams }>('/v3/projects/:projectId/users/:userId/roles/:roleId', async (request, reply) => {
    authorize(await callerOf(store, request), 'check_grant');
    await service.checkGrant(store, grantOf(request.params));
    return reply.status(204).send();
  });

  app.delete<{ Params: GrantParams }>('/v3/projects/:projectId/users/:userId/roles/:roleId', async (request, reply) => {
    authorize(await callerOf(store, request), 'revoke_grant');
    await service.revokeGrant(store, grantOf(request.params));
    request.log.info(request.params, 'role revoked');
    return reply.status(204).send();
  });

  app.get('/v3/role_assignments', async (request) => {
    const caller = await callerOf(store, request);
    const q = request.query as Query;
    const userId = queryString(q['user.id']);
    // A user may list its own assignments; everything else is for admins.
    authorize(caller, 'list_role_assignments', userId !== undefined && userId === caller.user.id);
    const projectId = queryString(q['scope.project.id']);
    const roleId = queryString(q['role.id']);
    // With `effective`, implied roles count too, so the role filter applies after the expansion.
    const effective = queryFlag(q.effective);
    const assignments = await store.read(async (db) => {
      const direct = await repo.listAssignments(db, { userId, projectId, roleId: effective ? undefined : roleId });
      if (!effective) return direct;
      return effectiveAssignments(direct, await repo.listRoles(db, {})).filter((a) => roleId === undefined || a.role.id === roleId);
    });
    const includeNames = queryFlag(q.include_names);
    return {
      role_assignments: assignments.map((a) => renderAssignment(a, includeNames, ctx.publicUrl)),
      links: collectionLinks(ctx.publicUrl, '/role_assignments'),
    };
  });
}
