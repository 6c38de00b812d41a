import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../../../support/databases.js';
import { startTestServer, type TestServer } from '../../../support/server.js';
import { createIdentityApi } from '../../../../src/server/identity/index.js';
import { probeApi, probeStatus } from './probeApi.js';
import { call } from './http.js';

const passwordAuth = (user: object, password: string, scope?: unknown) => ({
  auth: { identity: { methods: ['password'], password: { user: { ...user, password } } }, ...(scope ? { scope } : {}) },
});

for (const dialect of DIALECTS) {
  describe(`identity tokens on ${dialect}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ dialect, apis: [probeApi] });
    });
    after(async () => server.close());

    test('GET /identity is a 300 version list pointing at v3; GET /identity/v3 describes v3', async () => {
      const list = await call(server, 'GET', '/identity/');
      assert.equal(list.status, 300);
      assert.equal(list.body.versions.values.length, 1);
      const v3 = list.body.versions.values[0];
      assert.equal(v3.status, 'stable');
      assert.match(v3.id, /^v3\.\d+$/);
      assert.deepEqual(v3.links, [{ rel: 'self', href: `${server.url}/identity/v3/` }]);
      assert.equal(v3['media-types'][0].type, 'application/vnd.openstack.identity-v3+json');
      const one = await call(server, 'GET', '/identity/v3');
      assert.equal(one.status, 200);
      assert.deepEqual(one.body.version, v3);
    });

    test('password auth with names issues a project token with roles and catalog', async () => {
      const r = await call(
        server,
        'POST',
        '/identity/v3/auth/tokens',
        { body: passwordAuth({ name: 'admin', domain: { name: 'Default' } }, server.adminPassword, { project: { name: 'admin', domain: { name: 'Default' } } }) },
      );
      assert.equal(r.status, 201);
      assert.match(r.headers.get('x-subject-token') ?? '', /^[A-Za-z0-9_-]{43}$/);
      const t = r.body.token;
      assert.deepEqual(t.methods, ['password']);
      assert.equal(t.user.name, 'admin');
      assert.deepEqual(t.user.domain, { id: 'default', name: 'Default' });
      assert.equal(t.project.name, 'admin');
      assert.deepEqual(t.project.domain, { id: 'default', name: 'Default' });
      assert.deepEqual(t.roles.map((x: { name: string }) => x.name), ['admin', 'member', 'reader'], 'with the roles admin implies');
      assert.equal(t.audit_ids.length, 1);
      const lifetime = Date.parse(t.expires_at) - Date.parse(t.issued_at);
      assert.ok(Math.abs(lifetime - 3600_000) < 1000, `one hour, got ${lifetime} ms`);
      assert.match(t.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const types = t.catalog.map((s: { type: string }) => s.type);
      assert.deepEqual(types, ['identity', 'network', 'load-balancer', 'key-manager']);
      const network = t.catalog[1];
      assert.deepEqual(
        network.endpoints.map((e: { interface: string; url: string; region: string; region_id: string }) => [e.interface, e.url, e.region, e.region_id]),
        ['public', 'internal', 'admin'].map((i) => [i, `${server.url}/network`, 'RegionOne', 'RegionOne']),
      );
    });

    test('user and project by id, and nocatalog', async () => {
      const first = await call(server, 'POST', '/identity/v3/auth/tokens', {
        body: passwordAuth({ name: 'admin', domain: { id: 'default' } }, server.adminPassword, { project: { name: 'admin', domain: { id: 'default' } } }),
      });
      const { user, project } = first.body.token;
      const r = await call(server, 'POST', '/identity/v3/auth/tokens?nocatalog', {
        body: passwordAuth({ id: user.id }, server.adminPassword, { project: { id: project.id } }),
      });
      assert.equal(r.status, 201);
      assert.equal(r.body.token.project.id, project.id);
      assert.equal(r.body.token.catalog, undefined);
    });

    test('without a scope the user gets its default project; "unscoped" gets no project', async () => {
      const scoped = await call(server, 'POST', '/identity/v3/auth/tokens', {
        body: passwordAuth({ name: 'admin', domain: { id: 'default' } }, server.adminPassword),
      });
      assert.equal(scoped.body.token.project.name, 'admin');
      const unscoped = await call(server, 'POST', '/identity/v3/auth/tokens', {
        body: passwordAuth({ name: 'admin', domain: { id: 'default' } }, server.adminPassword, 'unscoped'),
      });
      assert.equal(unscoped.status, 201);
      assert.equal(unscoped.body.token.project, undefined);
      assert.equal(unscoped.body.token.roles, undefined);
      assert.equal(unscoped.body.token.catalog, undefined);
      // Unscoped tokens carry no project, so the project APIs do not accept them.
      const subject = unscoped.headers.get('x-subject-token')!;
      assert.equal(await validatorOf(server, subject), 401);
    });

    test('bad credentials are 401 with one message whatever was wrong, and issue nothing', async () => {
      const attempts = [
        passwordAuth({ name: 'admin', domain: { id: 'default' } }, 'wrong'),
        passwordAuth({ name: 'nobody', domain: { id: 'default' } }, server.adminPassword),
        passwordAuth({ name: 'admin', domain: { name: 'NoSuchDomain' } }, server.adminPassword),
        passwordAuth({ id: 'nope' }, server.adminPassword),
        passwordAuth({ name: 'admin', domain: { id: 'default' } }, server.adminPassword, { project: { name: 'nope', domain: { id: 'default' } } }),
      ];
      const bodies = new Set<string>();
      for (const body of attempts) {
        const r = await call(server, 'POST', '/identity/v3/auth/tokens', { body });
        assert.equal(r.status, 401);
        assert.equal(r.headers.get('x-subject-token'), null);
        assert.equal(r.headers.get('www-authenticate'), `Keystone uri="${server.url}/identity"`);
        assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message', 'title']);
        assert.equal(r.body.error.code, 401);
        assert.equal(r.body.error.title, 'Unauthorized');
        bodies.add(JSON.stringify(r.body));
      }
      assert.equal(bodies.size, 1);
    });

    test('a user without a role on the project cannot scope to it', async () => {
      const other = await server.createProjectUser(`noaccess-${dialect}`);
      const r = await call(server, 'POST', '/identity/v3/auth/tokens', {
        body: passwordAuth({ name: other.name, domain: { id: 'default' } }, other.password, { project: { name: 'admin', domain: { id: 'default' } } }),
      });
      assert.equal(r.status, 401);
    });

    test('a malformed request is a 400 naming the field', async () => {
      const r = await call(server, 'POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'] } } } });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.title, 'Bad Request');
      assert.match(r.body.error.message, /'auth.identity.password'/);
      const broken = await fetch(`${server.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"auth":' });
      assert.equal(broken.status, 400);
      assert.equal(((await broken.json()) as any).error.code, 400);
      // An empty JSON body is no body: the request names what is missing.
      const empty = await fetch(`${server.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      assert.equal(empty.status, 400);
      assert.match(((await empty.json()) as any).error.message, /'auth': is a required property/);
    });

    test('validate with GET and HEAD, revoke with DELETE, then it is gone everywhere', async () => {
      const admin = await server.issueToken();
      const subject = await server.issueToken();
      const got = await call(server, 'GET', '/identity/v3/auth/tokens', { token: admin, subject });
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('x-subject-token'), subject);
      assert.equal(got.body.token.user.name, 'admin');
      assert.ok(Array.isArray(got.body.token.catalog));
      const head = await fetch(`${server.url}/identity/v3/auth/tokens`, { method: 'HEAD', headers: { 'x-auth-token': admin, 'x-subject-token': subject } });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');

      // Warm the validator's cache, then revoke: this server must forget it at once.
      assert.equal(await validatorOf(server, subject), 200);
      const del = await call(server, 'DELETE', '/identity/v3/auth/tokens', { token: admin, subject });
      assert.equal(del.status, 204);
      assert.equal((await call(server, 'GET', '/identity/v3/auth/tokens', { token: admin, subject })).status, 404);
      assert.equal((await call(server, 'DELETE', '/identity/v3/auth/tokens', { token: admin, subject })).status, 404);
      assert.equal(await validatorOf(server, subject), 401);
    });

    test('a user may validate its own token but not another user\'s; unauthenticated is 401', async () => {
      const alice = await server.createProjectUser(`alice-${dialect}`);
      const admin = await server.issueToken();
      assert.equal((await call(server, 'GET', '/identity/v3/auth/tokens', { token: alice.token, subject: alice.token })).status, 200);
      const denied = await call(server, 'GET', '/identity/v3/auth/tokens', { token: alice.token, subject: admin });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error.title, 'Forbidden');
      assert.equal((await call(server, 'GET', '/identity/v3/auth/tokens', { subject: admin })).status, 401);
      assert.equal((await call(server, 'GET', '/identity/v3/auth/tokens', { token: 'garbage', subject: admin })).status, 401);
      const noSubject = await call(server, 'GET', '/identity/v3/auth/tokens', { token: admin });
      assert.equal(noSubject.status, 400);
      assert.match(noSubject.body.error.message, /X-Subject-Token/);
    });

    test('the token method rescopes within the original lifetime and audit chain', async () => {
      const alice = await server.createProjectUser(`rescoper-${dialect}`);
      const original = await call(server, 'GET', '/identity/v3/auth/tokens', { token: alice.token, subject: alice.token });
      const r = await call(server, 'POST', '/identity/v3/auth/tokens', {
        body: { auth: { identity: { methods: ['token'], token: { id: alice.token } }, scope: { project: { id: alice.projectId } } } },
      });
      assert.equal(r.status, 201);
      assert.deepEqual(r.body.token.methods, ['password', 'token'], 'how the user first proved itself, and the token since');
      assert.equal(r.body.token.user.id, alice.userId);
      assert.equal(r.body.token.expires_at, original.body.token.expires_at);
      assert.equal(r.body.token.audit_ids[1], original.body.token.audit_ids[0]);
      assert.equal(
        (await call(server, 'POST', '/identity/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: 'nope' } } } } })).status,
        401,
      );
    });
  });

  test(`tokens expire (${dialect})`, async () => {
    const shortLived = await startTestServer({ dialect, apis: [createIdentityApi({ tokenExpirationSeconds: 2 }), probeApi], tokenCacheMilliseconds: 60_000 });
    // A second server on the same database, with the usual lifetime, to ask about the expired token.
    const usual = await startTestServer({ dialect, databaseUrl: shortLived.databaseUrl, adminPassword: shortLived.adminPassword });
    try {
      const token = await shortLived.issueToken();
      const issued = Date.now();
      assert.equal(await validatorOf(shortLived, token), 200);
      await new Promise((r) => setTimeout(r, Math.max(0, issued + 2100 - Date.now())));
      // Expiry holds even while the validator's answer is cached.
      assert.equal(await validatorOf(shortLived, token), 401);
      const admin = await usual.issueToken();
      assert.equal((await call(usual, 'GET', '/identity/v3/auth/tokens', { token: admin, subject: token })).status, 404);
    } finally {
      await usual.close();
      await shortLived.close();
    }
  });
}

/** Status of a request authenticated through the server's TokenValidator (the path every other API uses). */
const validatorOf = (server: TestServer, token: string) => probeStatus(server.url, token);

test('token requests and validations are counted in /metrics', async () => {
  const server = await startTestServer({ dialect: 'sqlite', apis: [probeApi] });
  try {
    const token = await server.issueToken();
    await assert.rejects(server.issueToken('admin', 'wrong'));
    await Promise.all([validatorOf(server, token), validatorOf(server, token), validatorOf(server, token)]);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1]);
    assert.equal(value(/^cloudnet_identity_authentications_total\{methods="password",result="issued"\} (\d+)$/m), 1);
    assert.equal(value(/^cloudnet_identity_authentications_total\{methods="password",result="denied"\} (\d+)$/m), 1);
    assert.equal(value(/^cloudnet_token_validations_total\{source="database"\} (\d+)$/m), 1);
    assert.equal(value(/^cloudnet_token_validations_total\{source="cache"\} (\d+)$/m), 2);
  } finally {
    await server.close();
  }
});

test('the validator reports who is calling', async () => {
  const server = await startTestServer({ dialect: 'sqlite', apis: [probeApi] });
  try {
    const alice = await server.createProjectUser('alice', ['member', 'load-balancer_member']);
    const r = await fetch(`${server.url}/probe/whoami`, { headers: { 'x-auth-token': alice.token } });
    const auth = (await r.json()) as Record<string, unknown>;
    assert.deepEqual(
      { ...auth, expiresAt: undefined },
      {
        userId: alice.userId,
        userName: 'alice',
        userDomainId: 'default',
        projectId: alice.projectId,
        projectName: 'alice',
        projectDomainId: 'default',
        roles: ['load-balancer_member', 'member', 'reader'],
        isAdmin: false,
        expiresAt: undefined,
      },
    );
    const admin = (await (await fetch(`${server.url}/probe/whoami`, { headers: { 'x-auth-token': await server.issueToken() } })).json()) as { isAdmin: boolean };
    assert.equal(admin.isAdmin, true);
  } finally {
    await server.close();
  }
});
