import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger } from '../../../../src/lib/logger.js';
import { buildServer } from '../../../../src/server/app.js';
import type { AuthContext, TokenValidator } from '../../../../src/server/auth.js';
import { createNetworkApi } from '../../../../src/server/network/routes.js';
import { openDatabase } from '../../../../src/store/database.js';
import { Store } from '../../../../src/store/store.js';
import { DIALECTS, createTestDatabase } from '../../../support/databases.js';

// The Network API over HTTP as clients see it: paths, status codes and NeutronError bodies. Until the
// Identity API lands, tokens are resolved by a fixed table through the same TokenValidator contract.

const member = (projectId: string): AuthContext => ({
  userId: `u-${projectId}`,
  userName: `u-${projectId}`,
  userDomainId: 'default',
  projectId,
  projectName: projectId,
  projectDomainId: 'default',
  roles: ['member', 'reader'],
  isAdmin: false,
  expiresAt: '2099-01-01T00:00:00Z',
});

const tokens: Record<string, AuthContext> = { alice: member('project-alice'), bob: member('project-bob') };
const validator: TokenValidator = { validate: async (token) => tokens[token] };

async function withServer(dialect: (typeof DIALECTS)[number], fn: (app: FastifyInstance) => Promise<void>): Promise<void> {
  const tdb = await createTestDatabase(dialect);
  const store = await Store.open(await openDatabase(tdb.url));
  const app = await buildServer(
    { store, logger: createLogger('test', 'silent'), registry: new Registry(), publicUrl: 'http://cloudnet.test', region: 'RegionOne', tokens: validator },
    [createNetworkApi()],
  );
  try {
    await fn(app);
  } finally {
    await app.close();
    await store.close();
    await tdb.drop();
  }
}

async function call(app: FastifyInstance, token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) {
  const res = await app.inject({ method, url: `/network/v2.0${path}`, headers: { 'x-auth-token': token }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.body ? (res.json() as Record<string, any>) : undefined };
}

for (const dialect of DIALECTS) {
  describe(`security groups over HTTP on ${dialect}`, () => {
    test('collections at Neutron paths, with its status codes and fault bodies', () =>
      withServer(dialect, async (app) => {
        const root = await call(app, 'alice', 'GET', '/');
        assert.deepEqual(root.body!.resources.map((r: { collection: string }) => r.collection), ['networks']);
        const aliases = (await call(app, 'alice', 'GET', '/extensions')).body!.extensions.map((e: { alias: string }) => e.alias);
        for (const alias of ['security-group', 'stateful-security-group', 'security-groups-normalized-cidr']) assert.ok(aliases.includes(alias), alias);

        const created = await call(app, 'alice', 'POST', '/security-groups', { security_group: { name: 'web', description: 'front' } });
        assert.equal(created.status, 201);
        const group = created.body!.security_group;
        assert.equal(group.name, 'web');
        assert.equal(group.security_group_rules.length, 2);

        const listed = await call(app, 'alice', 'GET', '/security-groups?fields=id&fields=name&sort_key=name&sort_dir=asc');
        assert.deepEqual(listed.body!.security_groups.map((g: { name: string }) => g.name), ['default', 'web']);
        assert.deepEqual(Object.keys(listed.body!.security_groups[0]).sort(), ['id', 'name']);

        const again = await call(app, 'alice', 'POST', '/security-groups', { security_group: { name: 'default' } });
        assert.equal(again.status, 409);
        assert.deepEqual(again.body, { NeutronError: { type: 'SecurityGroupDefaultAlreadyExists', message: 'Default security group already exists.', detail: '' } });

        const rule = await call(app, 'alice', 'POST', '/security-group-rules', {
          security_group_rule: { security_group_id: group.id, direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 443 },
        });
        assert.equal(rule.status, 201);
        const ruleId = rule.body!.security_group_rule.id;
        const duplicate = await call(app, 'alice', 'POST', '/security-group-rules', {
          security_group_rule: { security_group_id: group.id, direction: 'ingress', protocol: '6', port_range_min: 443, port_range_max: 443 },
        });
        assert.equal(duplicate.status, 409);
        assert.deepEqual(duplicate.body!.NeutronError, { type: 'SecurityGroupRuleExists', message: `Security group rule already exists. Rule id is ${ruleId}.`, detail: '' });
        const badPorts = await call(app, 'alice', 'POST', '/security-group-rules', {
          security_group_rule: { security_group_id: group.id, direction: 'ingress', protocol: 'tcp', port_range_min: -16, port_range_max: 80 },
        });
        assert.equal(badPorts.status, 400);
        assert.equal(badPorts.body!.NeutronError.message, 'Invalid value for port -16');

        assert.equal((await call(app, 'alice', 'PUT', `/security-group-rules/${ruleId}`, { security_group_rule: { description: 'x' } })).status, 405);
        assert.equal((await call(app, 'alice', 'GET', `/security-group-rules/${ruleId}`)).body!.security_group_rule.port_range_min, 443);
        assert.equal((await call(app, 'bob', 'GET', `/security-group-rules/${ruleId}`)).status, 404);

        // Groups have tags; rules do not.
        assert.equal((await call(app, 'alice', 'PUT', `/security-groups/${group.id}/tags/blue`)).status, 201);
        assert.deepEqual((await call(app, 'alice', 'GET', `/security-groups?tags=blue`)).body!.security_groups.map((g: { id: string }) => g.id), [group.id]);
        assert.equal((await call(app, 'alice', 'GET', `/security-group-rules/${ruleId}/tags`)).status, 404);

        const notFound = await call(app, 'bob', 'DELETE', `/security-groups/${group.id}`);
        assert.equal(notFound.status, 404);
        assert.deepEqual(notFound.body!.NeutronError, { type: 'SecurityGroupNotFound', message: `Security group ${group.id} does not exist`, detail: '' });
        assert.equal((await call(app, 'alice', 'DELETE', `/security-groups/${group.id}`)).status, 204);
        assert.equal((await call(app, 'alice', 'GET', `/security-group-rules/${ruleId}`)).status, 404);
      }));
  });
}
