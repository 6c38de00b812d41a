import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../../../support/databases.js';
import { startTestServer, type TestServer } from '../../../support/server.js';
import { call, type Reply } from './http.js';
import { probeApi, probeStatus } from './probeApi.js';

function assertFault(r: Reply, status: number, message?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message', 'title']);
  assert.equal(r.body.error.code, status);
  if (message) assert.match(r.body.error.message, message);
}

const login = (server: TestServer, user: string, password: string, project?: string) =>
  call(server, 'POST', '/identity/v3/auth/tokens', {
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}),
      },
    },
  });

for (const dialect of DIALECTS) {
  describe(`identity admin API on ${dialect}`, () => {
    let server: TestServer;
    let admin: string;
    before(async () => {
      server = await startTestServer({ dialect, apis: [probeApi] });
      admin = await server.issueToken();
    });
    after(async () => server.close());

    test('projects: create, show, list by name, update, delete', async () => {
      const created = await call(server, 'POST', '/identity/v3/projects', {
        token: admin,
        body: { project: { name: 'p-crud', description: 'for tests', tags: ['a'], color: 'blue' } },
      });
      assert.equal(created.status, 201);
      const p = created.body.project;
      assert.match(p.id, /^[0-9a-f]{32}$/);
      assert.deepEqual(
        { ...p, id: undefined, links: undefined },
        {
          id: undefined,
          links: undefined,
          name: 'p-crud',
          description: 'for tests',
          domain_id: 'default',
          parent_id: 'default',
          enabled: true,
          is_domain: false,
          tags: ['a'],
          options: {},
          color: 'blue',
        },
      );
      assert.equal(p.links.self, `${server.url}/identity/v3/projects/${p.id}`);

      assert.deepEqual((await call(server, 'GET', `/identity/v3/projects/${p.id}`, { token: admin })).body.project, p);
      const byName = await call(server, 'GET', '/identity/v3/projects?name=p-crud', { token: admin });
      assert.deepEqual(byName.body.projects.map((x: { id: string }) => x.id), [p.id]);
      assert.equal(byName.body.links.self, `${server.url}/identity/v3/projects`);

      const patched = await call(server, 'PATCH', `/identity/v3/projects/${p.id}`, { token: admin, body: { project: { enabled: false, description: 'off' } } });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.project.enabled, false);
      assert.equal(patched.body.project.name, 'p-crud');
      const disabled = await call(server, 'GET', '/identity/v3/projects?enabled=false', { token: admin });
      assert.deepEqual(disabled.body.projects.map((x: { name: string }) => x.name), ['p-crud']);

      assert.equal((await call(server, 'DELETE', `/identity/v3/projects/${p.id}`, { token: admin })).status, 204);
      assertFault(await call(server, 'GET', `/identity/v3/projects/${p.id}`, { token: admin }), 404, new RegExp(`Could not find project: ${p.id}`));
      assertFault(await call(server, 'DELETE', `/identity/v3/projects/${p.id}`, { token: admin }), 404);
    });

    test('a duplicate project name is 409; bad input is 400 naming the field; neither creates anything', async () => {
      const body = { project: { name: 'p-dup' } };
      assert.equal((await call(server, 'POST', '/identity/v3/projects', { token: admin, body })).status, 201);
      assertFault(await call(server, 'POST', '/identity/v3/projects', { token: admin, body }), 409, /Duplicate entry found with name p-dup at domain ID default/);
      const cases: Array<[unknown, RegExp]> = [
        [{}, /'project'/],
        [{ project: {} }, /'project.name': is a required property/],
        [{ project: { name: 5 } }, /'project.name': must be a string/],
        [{ project: { name: 'x'.repeat(65) } }, /'project.name': must be at most 64/],
        [{ project: { name: 'p-bad', enabled: 'yes' } }, /'project.enabled': must be a boolean/],
        [{ project: { name: 'p-bad', id: 'mine' } }, /'project.id': is read-only/],
        [{ project: { name: 'p-bad', is_domain: true } }, /'project.is_domain'/],
        [{ project: { name: 'p-bad', tags: ['a/b'] } }, /'project.tags'/],
      ];
      for (const [bad, message] of cases) {
        const r = await call(server, 'POST', '/identity/v3/projects', { token: admin, body: bad });
        assertFault(r, 400, message);
        assert.equal(r.body.error.title, 'Bad Request');
      }
      // A domain that does not exist is a 404, as in Keystone (tempest expects it).
      assertFault(await call(server, 'POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'p-bad', domain_id: 'nope' } } }), 404, /Could not find domain: nope/);
      const all = await call(server, 'GET', '/identity/v3/projects', { token: admin });
      assert.equal(all.body.projects.filter((p: { name: string }) => p.name.startsWith('p-dup')).length, 1);
      assert.equal(all.body.projects.filter((p: { name: string }) => p.name === 'p-bad').length, 0);
      const dup = all.body.projects.find((p: { name: string }) => p.name === 'p-dup');
      const other = await call(server, 'POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'p-dup2' } } });
      assertFault(await call(server, 'PATCH', `/identity/v3/projects/${other.body.project.id}`, { token: admin, body: { project: { name: 'p-dup' } } }), 409);
      assertFault(await call(server, 'PATCH', `/identity/v3/projects/${dup.id}`, { token: admin, body: { project: { domain_id: 'x' } } }), 400, /domain_id/);
    });

    test('users: create (password never shown), log in, duplicate, bad default project, delete', async () => {
      const project = (await call(server, 'POST', '/identity/v3/projects', { token: admin, body: { project: { name: 'u-home' } } })).body.project;
      const created = await call(server, 'POST', '/identity/v3/users', {
        token: admin,
        body: { user: { name: 'u-carol', password: 'carol-pw', default_project_id: project.id, email: 'c@example.com' } },
      });
      assert.equal(created.status, 201);
      const user = created.body.user;
      assert.equal(user.name, 'u-carol');
      assert.equal(user.domain_id, 'default');
      assert.equal(user.default_project_id, project.id);
      assert.equal(user.email, 'c@example.com');
      assert.equal(user.password_expires_at, null);
      assert.ok(!('password' in user) && !JSON.stringify(created.body).includes('carol-pw'));
      assert.ok(!JSON.stringify((await call(server, 'GET', '/identity/v3/users', { token: admin })).body).includes('scrypt'));

      const member = (await call(server, 'GET', '/identity/v3/roles?name=member', { token: admin })).body.roles[0];
      assert.equal((await call(server, 'PUT', `/identity/v3/projects/${project.id}/users/${user.id}/roles/${member.id}`, { token: admin })).status, 204);
      const token = await login(server, 'u-carol', 'carol-pw');
      assert.equal(token.status, 201);
      assert.equal(token.body.token.project.id, project.id, 'scoped to the default project');

      assertFault(await call(server, 'POST', '/identity/v3/users', { token: admin, body: { user: { name: 'u-carol' } } }), 409);
      assertFault(
        await call(server, 'POST', '/identity/v3/users', { token: admin, body: { user: { name: 'u-x', default_project_id: 'nope' } } }),
        400,
        /'user.default_project_id'/,
      );
      assertFault(await call(server, 'POST', '/identity/v3/users', { token: admin, body: { user: { name: 'u-x', password: 7 } } }), 400, /'user.password'/);
      assertFault(await call(server, 'POST', '/identity/v3/users', { token: admin, body: { user: { name: 'u-x', domain_id: 'nope' } } }), 404, /domain/);
      const renamed = await call(server, 'PATCH', `/identity/v3/users/${user.id}`, { token: admin, body: { user: { id: user.id, description: 'd' } } });
      assert.equal(renamed.status, 200, 'an update may repeat the id');
      assertFault(await call(server, 'PATCH', `/identity/v3/users/${user.id}`, { token: admin, body: { user: { id: 'other' } } }), 400, /'user.id': cannot be changed/);
      assert.equal((await call(server, 'GET', '/identity/v3/users?name=u-x', { token: admin })).body.users.length, 0);

      assert.equal((await call(server, 'DELETE', `/identity/v3/users/${user.id}`, { token: admin })).status, 204);
      assert.equal((await login(server, 'u-carol', 'carol-pw')).status, 401);
      assert.equal(await probeStatus(server.url, token.headers.get('x-subject-token')!), 401, 'a deleted user\'s tokens die with it');
      assertFault(await call(server, 'GET', `/identity/v3/users/${user.id}`, { token: admin }), 404, /Could not find user/);
    });

    test('a user reads itself and changes its password by proving the current one; that ends its old sessions', async () => {
      const dave = await server.createProjectUser(`dave-${dialect}`);
      const erin = await server.createProjectUser(`erin-${dialect}`);
      assert.equal((await call(server, 'GET', `/identity/v3/users/${dave.userId}`, { token: dave.token })).status, 200);
      assertFault(await call(server, 'GET', `/identity/v3/users/${erin.userId}`, { token: dave.token }), 403, /identity:get_user/);
      assertFault(await call(server, 'GET', '/identity/v3/users', { token: dave.token }), 403);
      assertFault(await call(server, 'PATCH', `/identity/v3/users/${dave.userId}`, { token: dave.token, body: { user: { enabled: true } } }), 403);

      const change = (original: string, password: string, token?: string) =>
        call(server, 'POST', `/identity/v3/users/${dave.userId}/password`, { token, body: { user: { original_password: original, password } } });
      assertFault(await change('wrong', 'new-pw', dave.token), 401);
      assert.equal(await probeStatus(server.url, dave.token), 200, 'a failed change revokes nothing');
      assert.equal((await change(dave.password, 'new-pw')).status, 204, 'no token needed, the current password is the proof');
      assert.equal((await login(server, dave.name, dave.password)).status, 401);
      assert.equal((await login(server, dave.name, 'new-pw')).status, 201);
      assert.equal((await call(server, 'GET', `/identity/v3/users/${dave.userId}`, { token: dave.token })).status, 401, 'old token revoked');
    });

    test('an admin resetting a password or disabling a user ends its sessions', async () => {
      const frank = await server.createProjectUser(`frank-${dialect}`);
      assert.equal((await call(server, 'PATCH', `/identity/v3/users/${frank.userId}`, { token: admin, body: { user: { password: 'reset' } } })).status, 200);
      assert.equal((await call(server, 'GET', `/identity/v3/users/${frank.userId}`, { token: frank.token })).status, 401);
      const fresh = (await login(server, frank.name, 'reset', frank.name)).headers.get('x-subject-token')!;
      assert.equal((await call(server, 'PATCH', `/identity/v3/users/${frank.userId}`, { token: admin, body: { user: { enabled: false } } })).status, 200);
      assert.equal((await call(server, 'GET', `/identity/v3/users/${frank.userId}`, { token: fresh })).status, 401);
      assert.equal((await login(server, frank.name, 'reset', frank.name)).status, 401);
    });

    test('roles: create, duplicate, show, rename, delete', async () => {
      const created = await call(server, 'POST', '/identity/v3/roles', { token: admin, body: { role: { name: 'r-custom', description: 'd' } } });
      assert.equal(created.status, 201);
      const role = created.body.role;
      assert.equal(role.domain_id, null);
      assertFault(await call(server, 'POST', '/identity/v3/roles', { token: admin, body: { role: { name: 'r-custom' } } }), 409);
      assertFault(await call(server, 'POST', '/identity/v3/roles', { token: admin, body: { role: { name: 'r-d', domain_id: 'default' } } }), 400, /role.domain_id/);
      assert.equal((await call(server, 'GET', `/identity/v3/roles/${role.id}`, { token: admin })).body.role.name, 'r-custom');
      assert.equal((await call(server, 'PATCH', `/identity/v3/roles/${role.id}`, { token: admin, body: { role: { name: 'r-renamed' } } })).body.role.name, 'r-renamed');
      assert.equal((await call(server, 'DELETE', `/identity/v3/roles/${role.id}`, { token: admin })).status, 204);
      assertFault(await call(server, 'GET', `/identity/v3/roles/${role.id}`, { token: admin }), 404, /Could not find role/);
      const names = (await call(server, 'GET', '/identity/v3/roles', { token: admin })).body.roles.map((r: { name: string }) => r.name);
      for (const builtin of ['admin', 'member', 'reader', 'load-balancer_member', 'load-balancer_quota_admin']) assert.ok(names.includes(builtin));
    });

    test('grants: put, check, list, revoke; losing the last role ends the project token', async () => {
      const gina = await server.createProjectUser(`gina-${dialect}`, ['member']);
      const roles = (await call(server, 'GET', '/identity/v3/roles', { token: admin })).body.roles as Array<{ id: string; name: string }>;
      const id = (name: string) => roles.find((r) => r.name === name)!.id;
      const base = `/identity/v3/projects/${gina.projectId}/users/${gina.userId}/roles`;
      assert.equal((await call(server, 'PUT', `${base}/${id('reader')}`, { token: admin })).status, 204);
      // Bodiless, but labelled JSON, as tempest sends it.
      const labelled = await fetch(`${server.url}${base}/${id('reader')}`, { method: 'PUT', headers: { 'x-auth-token': admin, 'content-type': 'application/json' } });
      assert.equal(labelled.status, 204, 'granting twice is harmless');
      assert.equal((await fetch(`${server.url}${base}/${id('reader')}`, { method: 'HEAD', headers: { 'x-auth-token': admin } })).status, 204);
      assert.equal((await fetch(`${server.url}${base}/${id('admin')}`, { method: 'HEAD', headers: { 'x-auth-token': admin } })).status, 404);
      const listed = await call(server, 'GET', base, { token: admin });
      assert.deepEqual(listed.body.roles.map((r: { name: string }) => r.name), ['member', 'reader']);
      assertFault(await call(server, 'PUT', `${base}/nope`, { token: admin }), 404, /Could not find role: nope/);
      assertFault(await call(server, 'PUT', `/identity/v3/projects/nope/users/${gina.userId}/roles/${id('reader')}`, { token: admin }), 404, /project/);
      assertFault(await call(server, 'PUT', `${base}/${id('admin')}`, { token: gina.token }), 403, /identity:create_grant/);

      assert.equal((await call(server, 'DELETE', `${base}/${id('reader')}`, { token: admin })).status, 204);
      assertFault(await call(server, 'DELETE', `${base}/${id('reader')}`, { token: admin }), 404);
      assert.equal(await probeStatus(server.url, gina.token), 200);
      assert.equal((await call(server, 'DELETE', `${base}/${id('member')}`, { token: admin })).status, 204);
      const started = Date.now();
      while ((await probeStatus(server.url, gina.token)) !== 401) {
        assert.ok(Date.now() - started < 2000, 'a token without roles on its project stays valid');
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    test('role assignments: filters and include_names; users may list only their own', async () => {
      const hank = await server.createProjectUser(`hank-${dialect}`, ['member', 'load-balancer_member']);
      const ivy = await server.createProjectUser(`ivy-${dialect}`, ['reader']);
      const mine = await call(server, 'GET', `/identity/v3/role_assignments?user.id=${hank.userId}`, { token: admin });
      assert.equal(mine.status, 200);
      assert.equal(mine.body.role_assignments.length, 2);
      const a = mine.body.role_assignments[0];
      assert.deepEqual(Object.keys(a).sort(), ['links', 'role', 'scope', 'user']);
      assert.deepEqual(a.user, { id: hank.userId });
      assert.deepEqual(a.scope, { project: { id: hank.projectId } });
      assert.match(a.links.assignment, new RegExp(`/identity/v3/projects/${hank.projectId}/users/${hank.userId}/roles/${a.role.id}$`));

      const named = await call(server, 'GET', `/identity/v3/role_assignments?scope.project.id=${ivy.projectId}&include_names=True`, { token: admin });
      assert.deepEqual(named.body.role_assignments, [
        {
          role: { id: named.body.role_assignments[0].role.id, name: 'reader' },
          user: { id: ivy.userId, name: ivy.name, domain: { id: 'default', name: 'Default' } },
          scope: { project: { id: ivy.projectId, name: ivy.name, domain: { id: 'default', name: 'Default' } } },
          links: named.body.role_assignments[0].links,
        },
      ]);
      const readerId = named.body.role_assignments[0].role.id;
      const byRole = await call(server, 'GET', `/identity/v3/role_assignments?role.id=${readerId}`, { token: admin });
      assert.ok(byRole.body.role_assignments.every((x: { role: { id: string } }) => x.role.id === readerId));
      assert.ok(byRole.body.role_assignments.some((x: { user: { id: string } }) => x.user.id === ivy.userId));
      const effective = await call(server, 'GET', `/identity/v3/role_assignments?user.id=${hank.userId}&effective&include_names`, { token: admin });
      assert.deepEqual(effective.body.role_assignments.map((x: { role: { name: string } }) => x.role.name).sort(), ['load-balancer_member', 'member', 'reader']);
      const effectiveReaders = await call(server, 'GET', `/identity/v3/role_assignments?role.id=${readerId}&effective`, { token: admin });
      assert.ok(effectiveReaders.body.role_assignments.some((x: { user: { id: string } }) => x.user.id === hank.userId), 'hank reads through member');
      const plain = await call(server, 'GET', `/identity/v3/role_assignments?user.id=${ivy.userId}&include_names=0`, { token: admin });
      assert.equal(plain.body.role_assignments[0].role.name, undefined);

      assert.equal((await call(server, 'GET', `/identity/v3/role_assignments?user.id=${hank.userId}`, { token: hank.token })).status, 200);
      assertFault(await call(server, 'GET', `/identity/v3/role_assignments?user.id=${ivy.userId}`, { token: hank.token }), 403);
      assertFault(await call(server, 'GET', '/identity/v3/role_assignments', { token: hank.token }), 403);
    });

    test('tenancy: a member sees its own project and nobody else\'s', async () => {
      const jack = await server.createProjectUser(`jack-${dialect}`);
      const kate = await server.createProjectUser(`kate-${dialect}`);
      assert.equal((await call(server, 'GET', `/identity/v3/projects/${jack.projectId}`, { token: jack.token })).status, 200);
      assertFault(await call(server, 'GET', `/identity/v3/projects/${kate.projectId}`, { token: jack.token }), 403);
      assertFault(await call(server, 'GET', '/identity/v3/projects', { token: jack.token }), 403);
      assertFault(await call(server, 'POST', '/identity/v3/projects', { token: jack.token, body: { project: { name: 'sneaky' } } }), 403);
      assertFault(await call(server, 'DELETE', `/identity/v3/projects/${kate.projectId}`, { token: jack.token }), 403);
      const own = await call(server, 'GET', '/identity/v3/auth/projects', { token: jack.token });
      assert.deepEqual(own.body.projects.map((p: { id: string }) => p.id), [jack.projectId]);
      const viaUser = await call(server, 'GET', `/identity/v3/users/${jack.userId}/projects`, { token: jack.token });
      assert.deepEqual(viaUser.body.projects.map((p: { id: string }) => p.id), [jack.projectId]);
      assertFault(await call(server, 'GET', `/identity/v3/users/${kate.userId}/projects`, { token: jack.token }), 403);
      assertFault(await call(server, 'GET', '/identity/v3/projects'), 401);
    });

    test('domains and the catalog', async () => {
      const list = await call(server, 'GET', '/identity/v3/domains', { token: admin });
      assert.deepEqual(list.body.domains.map((d: { id: string; name: string }) => [d.id, d.name]), [['default', 'Default']]);
      const user = await server.createProjectUser(`lena-${dialect}`);
      assert.equal((await call(server, 'GET', '/identity/v3/domains/default', { token: user.token })).body.domain.name, 'Default');
      assertFault(await call(server, 'GET', '/identity/v3/domains', { token: user.token }), 403);
      assertFault(await call(server, 'GET', '/identity/v3/domains/nope', { token: admin }), 404);
      const catalog = await call(server, 'GET', '/identity/v3/auth/catalog', { token: user.token });
      assert.deepEqual(catalog.body.catalog.map((s: { type: string }) => s.type), ['identity', 'network', 'load-balancer', 'key-manager']);
    });

    test('regions, services and endpoints list the catalog, read only and for admins', async () => {
      const regions = await call(server, 'GET', '/identity/v3/regions', { token: admin });
      assert.deepEqual(regions.body.regions.map((r: { id: string }) => r.id), ['RegionOne']);
      const services = await call(server, 'GET', '/identity/v3/services?type=network', { token: admin });
      assert.deepEqual(services.body.services.map((s: { type: string; name: string }) => [s.type, s.name]), [['network', 'neutron']]);
      const networkId = services.body.services[0].id;
      assert.deepEqual((await call(server, 'GET', '/identity/v3/services?name=neutron', { token: admin })).body.services.map((x: { id: string }) => x.id), [networkId]);
      assert.deepEqual((await call(server, 'GET', '/identity/v3/services?name=network', { token: admin })).body.services, []);
      assert.equal((await call(server, 'GET', `/identity/v3/services/${networkId}`, { token: admin })).body.service.type, 'network');
      const endpoints = await call(server, 'GET', `/identity/v3/endpoints?service_id=${networkId}&interface=public`, { token: admin });
      assert.equal(endpoints.body.endpoints.length, 1);
      const e = endpoints.body.endpoints[0];
      assert.deepEqual([e.url, e.region, e.region_id, e.service_id, e.enabled], [`${server.url}/network`, 'RegionOne', 'RegionOne', networkId, true]);
      assert.deepEqual((await call(server, 'GET', `/identity/v3/endpoints/${e.id}`, { token: admin })).body.endpoint, e);
      assert.equal((await call(server, 'GET', '/identity/v3/endpoints', { token: admin })).body.endpoints.length, 12);
      assertFault(await call(server, 'GET', '/identity/v3/endpoints/nope', { token: admin }), 404);
      const member = await server.createProjectUser(`nina-${dialect}`);
      assertFault(await call(server, 'GET', '/identity/v3/endpoints', { token: member.token }), 403);
      assertFault(await call(server, 'POST', '/identity/v3/services', { token: admin, body: { service: { type: 'x' } } }), 404);
    });

    test('unknown paths under /identity answer in Keystone\'s fault format', async () => {
      assertFault(await call(server, 'GET', '/identity/v3/nothing-here', { token: admin }), 404);
    });
  });
}
