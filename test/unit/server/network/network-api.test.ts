import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../../../support/databases.js';
import { startTestServer, type ProjectUser, type TestServer } from '../../../support/server.js';
import { jsonClient, type JsonClient } from '../../../support/http.js';
import { readChanges } from '../../../../src/store/changelog.js';

for (const dialect of DIALECTS) {
  describe(`Network API on ${dialect}`, () => {
    let server: TestServer;
    let admin: JsonClient;
    let alice: ProjectUser;
    let bob: ProjectUser;
    let a: JsonClient;
    let b: JsonClient;

    before(async () => {
      server = await startTestServer({ dialect });
      admin = jsonClient(`${server.url}/network`, await server.issueToken());
      alice = await server.createProjectUser('alice');
      bob = await server.createProjectUser('bob');
      a = jsonClient(`${server.url}/network`, alice.token);
      b = jsonClient(`${server.url}/network`, bob.token);
    });
    after(() => server.close());

    test('version documents and extensions', async () => {
      const versions = await jsonClient(`${server.url}/network`).get('/');
      assert.equal(versions.status, 200);
      assert.equal(versions.body.versions[0].id, 'v2.0');
      assert.equal(versions.body.versions[0].status, 'CURRENT');
      const unauth = await jsonClient(`${server.url}/network`).get('/v2.0/networks');
      assert.equal(unauth.status, 401);
      const root = await a.get('/v2.0/');
      assert.deepEqual(
        root.body.resources.map((r: { collection: string }) => r.collection).sort(),
        ['networks', 'ports', 'security_group_rules', 'security_groups', 'subnets'].filter((c) => root.body.resources.some((r: { collection: string }) => r.collection === c)),
      );
      const ext = await a.get('/v2.0/extensions/allowed-address-pairs');
      assert.equal(ext.status, 200);
      assert.equal(ext.body.extension.alias, 'allowed-address-pairs');
      const missing = await a.get('/v2.0/extensions/no-such');
      assert.equal(missing.status, 404);
      assert.ok(missing.body.NeutronError);
    });

    test('network lifecycle: create, show, update with If-Match, tags, delete', async () => {
      const created = await a.post('/v2.0/networks', { network: { name: 'n1', description: 'first' } });
      assert.equal(created.status, 201);
      const net = created.body.network;
      assert.equal(net.name, 'n1');
      assert.equal(net.status, 'ACTIVE');
      assert.equal(net.mtu, 1450);
      assert.equal(net.project_id, alice.projectId);
      assert.equal(net.tenant_id, alice.projectId);
      assert.equal(net.revision_number, 1);
      assert.deepEqual(net.subnets, []);
      assert.equal('provider:network_type' in net, false, 'provider attributes are admin-only');
      assert.match(net.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      const asAdmin = await admin.get(`/v2.0/networks/${net.id}`);
      assert.equal(asAdmin.body.network['provider:network_type'], 'vxlan');
      assert.ok(asAdmin.body.network['provider:segmentation_id'] >= 1001);

      const stale = await a.put(`/v2.0/networks/${net.id}`, { network: { name: 'n1b' } }, { 'if-match': 'revision_number=7' });
      assert.equal(stale.status, 412);
      assert.equal(stale.body.NeutronError.type, 'RevisionNumberConstraintFailed');
      const updated = await a.put(`/v2.0/networks/${net.id}`, { network: { name: 'n1b' } }, { 'if-match': 'revision_number=1' });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.network.name, 'n1b');
      assert.equal(updated.body.network.revision_number, 2);

      assert.equal((await a.put(`/v2.0/networks/${net.id}/tags/red`, undefined)).status, 201);
      const tags = await a.put(`/v2.0/networks/${net.id}/tags`, { tags: ['blue', 'green'] });
      assert.deepEqual(tags.body.tags, ['blue', 'green']);
      assert.equal((await a.get(`/v2.0/networks/${net.id}/tags/blue`)).status, 204);
      assert.equal((await a.get(`/v2.0/networks/${net.id}/tags/red`)).status, 404);
      const tagged = await a.get('/v2.0/networks?tags=blue');
      assert.deepEqual(tagged.body.networks.map((n: { id: string }) => n.id), [net.id]);
      assert.equal((await a.get('/v2.0/networks?not-tags=blue')).body.networks.length, 0);

      const fields = await a.get(`/v2.0/networks/${net.id}?fields=id&fields=name`);
      assert.deepEqual(fields.body.network, { id: net.id, name: 'n1b' });

      assert.equal((await a.delete(`/v2.0/networks/${net.id}`)).status, 204);
      const gone = await a.get(`/v2.0/networks/${net.id}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.NeutronError.type, 'NetworkNotFound');
      assert.equal(gone.body.NeutronError.message, `Network ${net.id} could not be found.`);
    });

    test('tenancy: other projects see nothing but shared and external networks', async () => {
      const own = (await a.post('/v2.0/networks', { network: { name: 'private' } })).body.network;
      const shared = (await admin.post('/v2.0/networks', { network: { name: 'shared', shared: true } })).body.network;
      const listed = (await b.get('/v2.0/networks')).body.networks.map((n: { id: string }) => n.id);
      assert.ok(listed.includes(shared.id));
      assert.ok(!listed.includes(own.id));
      assert.equal((await b.get(`/v2.0/networks/${own.id}`)).status, 404);
      assert.equal((await b.put(`/v2.0/networks/${own.id}`, { network: { name: 'x' } })).status, 404);
      assert.equal((await b.delete(`/v2.0/networks/${own.id}`)).status, 404);
      assert.equal((await b.put(`/v2.0/networks/${shared.id}`, { network: { name: 'x' } })).status, 403);
      const notAdmin = await a.post('/v2.0/networks', { network: { name: 'x', shared: true } });
      assert.equal(notAdmin.status, 403);
      const asOther = await a.post('/v2.0/networks', { network: { name: 'x', project_id: bob.projectId } });
      assert.equal(asOther.status, 400);
      await a.delete(`/v2.0/networks/${own.id}`);
      await admin.delete(`/v2.0/networks/${shared.id}`);
    });

    test('bad input is a 400 naming the field and changes nothing', async () => {
      const before = await server.store.read((db) => readChanges(db, 0, 100000));
      const cases: [unknown, RegExp][] = [
        [{ network: { name: 'x', bogus: 1 } }, /Unrecognized attribute\(s\) 'bogus'/],
        [{ network: { admin_state_up: 'perhaps' } }, /Invalid input for admin_state_up/],
        [{ network: { mtu: 9000 } }, /maximum is 1450/],
        [{ networks: [{ name: 'ok' }, { name: 7 }] }, /Invalid input for name/],
        [{ nothing: {} }, /Unable to find 'network' in request body/],
        ['{not json', /./],
      ];
      for (const [body, message] of cases) {
        const r = await a.post('/v2.0/networks', body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.body.NeutronError.message, message);
      }
      const afterLog = await server.store.read((db) => readChanges(db, 0, 100000));
      assert.equal(afterLog.length, before.length);
    });

    test('sorting and pagination with links walk every network once', async () => {
      const names = ['p3', 'p1', 'p5', 'p2', 'p4'];
      const ids = [];
      for (const name of names) ids.push((await b.post('/v2.0/networks', { network: { name } })).body.network.id);
      const seen: string[] = [];
      let path = '/v2.0/networks?sort_key=name&sort_dir=asc&limit=2';
      for (let page = 0; page < 5 && path; page++) {
        const r = await b.get(path);
        seen.push(...r.body.networks.map((n: { name: string }) => n.name));
        const next = r.body.networks_links?.find((l: { rel: string }) => l.rel === 'next');
        path = r.body.networks.length === 2 && next ? next.href.replace(`${server.url}/network`, '') : '';
      }
      assert.deepEqual(seen, ['p1', 'p2', 'p3', 'p4', 'p5']);
      const desc = await b.get('/v2.0/networks?sort_key=name&sort_dir=desc&fields=name');
      assert.deepEqual(desc.body.networks.map((n: { name: string }) => n.name), ['p5', 'p4', 'p3', 'p2', 'p1']);
      const filtered = await b.get('/v2.0/networks?name=p1&name=p4&fields=name&sort_key=name&sort_dir=asc');
      assert.deepEqual(filtered.body.networks, [{ name: 'p1' }, { name: 'p4' }]);
      for (const id of ids) await b.delete(`/v2.0/networks/${id}`);
    });

    test('subnets: defaults, validation, overlap, network cascade', async () => {
      const net = (await a.post('/v2.0/networks', { network: { name: 'sn' } })).body.network;
      const s4 = await a.post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.10.0/24', dns_nameservers: ['198.18.0.53'] } });
      assert.equal(s4.status, 201, JSON.stringify(s4.body));
      assert.equal(s4.body.subnet.gateway_ip, '198.18.10.1');
      assert.deepEqual(s4.body.subnet.allocation_pools, [{ start: '198.18.10.2', end: '198.18.10.254' }]);
      assert.equal(s4.body.subnet.enable_dhcp, true);
      const s6 = await a.post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 6, cidr: 'fd00:10::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' } });
      assert.equal(s6.status, 201, JSON.stringify(s6.body));
      const overlap = await a.post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.10.128/25' } });
      assert.equal(overlap.status, 400);
      assert.match(overlap.body.NeutronError.message, /overlaps with another subnet/);
      const gwInPool = await a.post('/v2.0/subnets', {
        subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.11.0/24', gateway_ip: '198.18.11.5', allocation_pools: [{ start: '198.18.11.2', end: '198.18.11.9' }] },
      });
      assert.equal(gwInPool.status, 409);
      assert.equal(gwInPool.body.NeutronError.type, 'GatewayConflictWithAllocationPools');
      const mismatch = await a.post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 6, cidr: '198.18.12.0/24' } });
      assert.equal(mismatch.status, 400);
      const foreign = await b.post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.13.0/24' } });
      assert.equal(foreign.status, 404);
      const shown = (await a.get(`/v2.0/networks/${net.id}`)).body.network;
      assert.deepEqual(shown.subnets.sort(), [s4.body.subnet.id, s6.body.subnet.id].sort());
      assert.equal(shown.revision_number, 3, 'each subnet bumps its network');
      assert.equal((await a.delete(`/v2.0/networks/${net.id}`)).status, 204);
      assert.equal((await a.get(`/v2.0/subnets/${s4.body.subnet.id}`)).status, 404);
    });

    test('quotas: admin sets, a project reads its own, creates beyond are 409', async () => {
      const carol = await server.createProjectUser('carol');
      const c = jsonClient(`${server.url}/network`, carol.token);
      const set = await admin.put(`/v2.0/quotas/${carol.projectId}`, { quota: { network: 1 } });
      assert.equal(set.status, 200);
      assert.equal(set.body.quota.network, 1);
      assert.equal((await c.put(`/v2.0/quotas/${carol.projectId}`, { quota: { network: 5 } })).status, 403);
      assert.equal((await c.get(`/v2.0/quotas/${carol.projectId}`)).body.quota.network, 1);
      assert.equal((await c.get(`/v2.0/quotas/${alice.projectId}`)).status, 403);
      const first = await c.post('/v2.0/networks', { network: { name: 'q1' } });
      assert.equal(first.status, 201);
      const second = await c.post('/v2.0/networks', { network: { name: 'q2' } });
      assert.equal(second.status, 409);
      assert.equal(second.body.NeutronError.type, 'OverQuota');
      const details = await c.get(`/v2.0/quotas/${carol.projectId}/details.json`);
      assert.deepEqual(details.body.quota.network, { limit: 1, used: 1, reserved: 0 });
      assert.equal((await admin.put(`/v2.0/quotas/${carol.projectId}`, { quota: { network: -2 } })).status, 400);
      assert.equal((await admin.put(`/v2.0/quotas/${carol.projectId}`, { quota: { bogus: 1 } })).status, 400);
      assert.equal((await admin.delete(`/v2.0/quotas/${carol.projectId}`)).status, 204);
      assert.equal((await c.get(`/v2.0/quotas/${carol.projectId}`)).body.quota.network, 100);
    });
  });
}
