import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../support/server.js';
import { CLI_DIALECT, json, openstack, tokenEnv } from './openstackCli.js';

for (const dialect of [CLI_DIALECT.identity]) {
  describe(`openstack CLI against identity on ${dialect}`, () => {
    let server: TestServer;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      server = await startTestServer({ dialect });
      env = server.openrcEnv();
    });
    after(async () => server.close());

    test('token issue', async () => {
      const token = await json(env, 'token', 'issue');
      assert.match(token.id, /^[A-Za-z0-9_-]{43}$/);
      assert.match(token.project_id, /^[0-9a-f]{32}$/);
      assert.match(token.user_id, /^[0-9a-f]{32}$/);
      const expires = Date.parse(token.expires);
      assert.ok(expires > Date.now() + 3500_000 && expires < Date.now() + 3700_000, `expires in an hour: ${token.expires}`);
    });

    test('project create, list, show, delete; a duplicate is refused', async () => {
      const created = await json(env, 'project', 'create', '--description', 'from the CLI', 'cli-demo');
      assert.equal(created.name, 'cli-demo');
      assert.equal(created.domain_id, 'default');
      const listed = await json(env, 'project', 'list');
      assert.deepEqual(listed.map((p: { Name: string }) => p.Name).sort(), ['admin', 'cli-demo']);
      assert.equal((await json(env, 'project', 'show', 'cli-demo')).id, created.id);
      const dup = await openstack(env, 'project', 'create', 'cli-demo');
      assert.notEqual(dup.code, 0);
      assert.match(dup.stderr, /HTTP 409/);
      assert.equal((await openstack(env, 'project', 'delete', 'cli-demo')).code, 0);
      assert.deepEqual((await json(env, 'project', 'list')).map((p: { Name: string }) => p.Name), ['admin']);
    });

    test('user create, role add, role assignment list, and the new user logs in to its project', async () => {
      await json(env, 'project', 'create', 'cli-team');
      const user = await json(env, 'user', 'create', '--project', 'cli-team', '--password', 'team-pw', '--email', 'm@example.com', 'cli-mia');
      assert.equal(user.name, 'cli-mia');
      assert.equal(user.email, 'm@example.com');
      assert.equal((await openstack(env, 'role', 'add', '--project', 'cli-team', '--user', 'cli-mia', 'member')).code, 0);
      const assignments = await json(env, 'role', 'assignment', 'list', '--names', '--project', 'cli-team');
      assert.deepEqual(
        assignments.map((a: Record<string, string>) => [a.Role, a.User, a.Project]),
        [['member', 'cli-mia@Default', 'cli-team@Default']],
      );
      const roles = await json(env, 'role', 'list');
      assert.ok(roles.some((r: { Name: string }) => r.Name === 'load-balancer_member'));

      const mia = { ...env, OS_USERNAME: 'cli-mia', OS_PASSWORD: 'team-pw', OS_PROJECT_NAME: 'cli-team' };
      const token = await json(mia, 'token', 'issue');
      assert.equal(token.user_id, user.id);
      const denied = await openstack(mia, 'user', 'list');
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /HTTP 403/);
      assert.equal((await openstack(env, 'role', 'remove', '--project', 'cli-team', '--user', 'cli-mia', 'member')).code, 0);
      assert.deepEqual(await json(env, 'role', 'assignment', 'list', '--project', 'cli-team'), []);
    });

    test('a wrong password is refused with 401', async () => {
      const r = await openstack({ ...env, OS_PASSWORD: 'not-the-password' }, 'token', 'issue');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /The request you have made requires authentication\. \(HTTP 401\)/);
    });

    test('a revoked token is refused with 401', async () => {
      const { id } = await json(env, 'token', 'issue');
      const useToken = tokenEnv(env, id);
      assert.equal((await openstack(useToken, 'project', 'list')).code, 0, 'the token works before revocation');
      assert.equal((await openstack(env, 'token', 'revoke', id)).code, 0);
      const r = await openstack(useToken, 'project', 'list');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /HTTP 401/);
    });
  });
}
