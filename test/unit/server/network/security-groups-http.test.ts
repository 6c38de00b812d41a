import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../../../support/databases.js';
import { jsonClient, type JsonClient } from '../../../support/http.js';
import { startTestServer, type TestServer } from '../../../support/server.js';

// The Network API over HTTP as clients see it, with real Keystone tokens: paths, status codes and
// NeutronError bodies of security groups and rules.

for (const dialect of DIALECTS) {
  describe(`security groups over HTTP on ${dialect}`, () => {
    let server: TestServer;
    let alice: JsonClient;
    let bob: JsonClient;

    before(async () => {
      server = await startTestServer({ dialect });
      alice = jsonClient(`${server.url}/network/v2.0`, (await server.createProjectUser('alice')).token);
      bob = jsonClient(`${server.url}/network/v2.0`, (await server.createProjectUser('bob')).token);
    });
    after(() => server.close());

    test('collections at Neutron paths, with its status codes and fault bodies', async () => {
      const root = await alice.get('/');
      // GET /v2.0/ lists Neutron's core resources only; security groups come with an extension.
      const collections = root.body.resources.map((r: { collection: string }) => r.collection);
      assert.ok(collections.includes('networks'));
      assert.equal(collections.includes('security_groups') || collections.includes('security_group_rules'), false);
      const aliases = (await alice.get('/extensions')).body.extensions.map((e: { alias: string }) => e.alias);
      for (const alias of ['security-group', 'stateful-security-group', 'security-groups-normalized-cidr']) assert.ok(aliases.includes(alias), alias);

      const created = await alice.post('/security-groups', { security_group: { name: 'web', description: 'front' } });
      assert.equal(created.status, 201);
      const group = created.body.security_group;
      assert.equal(group.name, 'web');
      assert.equal(group.security_group_rules.length, 2);

      const listed = await alice.get('/security-groups?fields=id&fields=name&sort_key=name&sort_dir=asc');
      assert.deepEqual(listed.body.security_groups.map((g: { name: string }) => g.name), ['default', 'web']);
      assert.deepEqual(Object.keys(listed.body.security_groups[0]).sort(), ['id', 'name']);

      const again = await alice.post('/security-groups', { security_group: { name: 'default' } });
      assert.equal(again.status, 409);
      assert.deepEqual(again.body, { NeutronError: { type: 'SecurityGroupDefaultAlreadyExists', message: 'Default security group already exists.', detail: '' } });

      const rule = await alice.post('/security-group-rules', {
        security_group_rule: { security_group_id: group.id, direction: 'ingress', protocol: 'tcp', port_range_min: 443, port_range_max: 443 },
      });
      assert.equal(rule.status, 201);
      const ruleId = rule.body.security_group_rule.id;
      const duplicate = await alice.post('/security-group-rules', {
        security_group_rule: { security_group_id: group.id, direction: 'ingress', protocol: '6', port_range_min: 443, port_range_max: 443 },
      });
      assert.equal(duplicate.status, 409);
      assert.deepEqual(duplicate.body.NeutronError, { type: 'SecurityGroupRuleExists', message: `Security group rule already exists. Rule id is ${ruleId}.`, detail: '' });
      const badPorts = await alice.post('/security-group-rules', {
        security_group_rule: { security_group_id: group.id, direction: 'ingress', protocol: 'tcp', port_range_min: -16, port_range_max: 80 },
      });
      assert.equal(badPorts.status, 400);
      assert.equal(badPorts.body.NeutronError.message, 'Invalid value for port -16');

      assert.equal((await alice.put(`/security-group-rules/${ruleId}`, { security_group_rule: { description: 'x' } })).status, 405);
      assert.equal((await alice.get(`/security-group-rules/${ruleId}`)).body.security_group_rule.port_range_min, 443);
      assert.equal((await bob.get(`/security-group-rules/${ruleId}`)).status, 404);

      // Groups have tags; rules do not.
      assert.equal((await alice.put(`/security-groups/${group.id}/tags/blue`, undefined)).status, 201);
      assert.deepEqual((await alice.get(`/security-groups?tags=blue`)).body.security_groups.map((g: { id: string }) => g.id), [group.id]);
      assert.equal((await alice.get(`/security-group-rules/${ruleId}/tags`)).status, 404);

      const notFound = await bob.delete(`/security-groups/${group.id}`);
      assert.equal(notFound.status, 404);
      assert.deepEqual(notFound.body.NeutronError, { type: 'SecurityGroupNotFound', message: `Security group ${group.id} does not exist`, detail: '' });
      assert.equal((await alice.delete(`/security-groups/${group.id}`)).status, 204);
      assert.equal((await alice.get(`/security-group-rules/${ruleId}`)).status, 404);
    });
  });
}
