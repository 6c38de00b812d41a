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

    test('ports: addresses from the pools or exactly as asked, MACs, default group, address pairs, filters', async () => {
      const net = (await a.post('/v2.0/networks', { network: { name: 'pn' } })).body.network;
      // The pool leaves .77 and .78 to be asked for exactly: automatic addresses are random within the pool, and
      // an exact address outside the pools is still the port's to take.
      const subnet = (
        await a.post('/v2.0/subnets', {
          subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.30.0/24', allocation_pools: [{ start: '198.18.30.2', end: '198.18.30.70' }] },
        })
      ).body.subnet;
      const v6 = (await a.post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 6, cidr: 'fd00:30::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' } })).body.subnet;

      const auto = await a.post('/v2.0/ports', { port: { network_id: net.id, name: 'auto', device_id: 'vm-1' } });
      assert.equal(auto.status, 201, JSON.stringify(auto.body));
      const port = auto.body.port;
      assert.equal(port.status, 'DOWN');
      assert.match(port.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
      assert.equal(port.fixed_ips.length, 2);
      const v4ip = port.fixed_ips.find((f: { subnet_id: string }) => f.subnet_id === subnet.id).ip_address;
      assert.match(v4ip, /^198\.18\.30\.(\d+)$/);
      assert.notEqual(v4ip, '198.18.30.1', 'never the gateway');
      const slaac = port.fixed_ips.find((f: { subnet_id: string }) => f.subnet_id === v6.id).ip_address;
      assert.match(slaac, /^fd00:30::f816:3eff:fe/);
      assert.equal(port.security_groups.length, 1, 'the default group');
      assert.equal('binding:host_id' in port, false, 'binding attributes are admin-only');

      const exact = await a.post('/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '198.18.30.77' }] } });
      assert.equal(exact.status, 201);
      assert.deepEqual(exact.body.port.fixed_ips, [{ subnet_id: subnet.id, ip_address: '198.18.30.77' }]);
      const taken = await a.post('/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '198.18.30.77' }] } });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.NeutronError.type, 'IpAddressAlreadyAllocated');
      const outside = await a.post('/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '198.18.99.1' }] } });
      assert.equal(outside.status, 400);
      const macDup = await admin.post('/v2.0/ports', { port: { network_id: net.id, mac_address: port.mac_address } });
      assert.equal(macDup.status, 409);
      assert.equal(macDup.body.NeutronError.type, 'MacAddressInUse');

      const pairs = await a.post('/v2.0/ports', {
        port: { network_id: net.id, name: 'node', allowed_address_pairs: [{ ip_address: '198.18.128.0/18' }, { ip_address: '198.18.30.200' }] },
      });
      assert.equal(pairs.status, 201, JSON.stringify(pairs.body));
      assert.deepEqual(
        pairs.body.port.allowed_address_pairs.map((p: { ip_address: string }) => p.ip_address),
        ['198.18.128.0/18', '198.18.30.200'],
      );
      assert.equal(pairs.body.port.allowed_address_pairs[0].mac_address, pairs.body.port.mac_address, "a pair without a MAC takes the port's");
      const noSecurity = await a.put(`/v2.0/ports/${pairs.body.port.id}`, { port: { port_security_enabled: false } });
      assert.equal(noSecurity.status, 409, 'groups and pairs must go first');
      const plain = await a.put(`/v2.0/ports/${pairs.body.port.id}`, { port: { port_security_enabled: false, security_groups: [], allowed_address_pairs: [] } });
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      assert.equal(plain.body.port.port_security_enabled, false);

      const byIp = await a.get(`/v2.0/ports?fixed_ips=ip_address%3D198.18.30.77`);
      assert.deepEqual(byIp.body.ports.map((p: { id: string }) => p.id), [exact.body.port.id]);
      const byDevice = await a.get('/v2.0/ports?device_id=vm-1');
      assert.deepEqual(byDevice.body.ports.map((p: { id: string }) => p.id), [port.id]);
      assert.equal((await b.get(`/v2.0/ports/${port.id}`)).status, 404);

      const moved = await a.put(`/v2.0/ports/${port.id}`, { port: { fixed_ips: [{ subnet_id: subnet.id, ip_address: '198.18.30.78' }] } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.deepEqual(moved.body.port.fixed_ips, [{ subnet_id: subnet.id, ip_address: '198.18.30.78' }]);
      const reuse = await a.post('/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: v4ip }] } });
      assert.equal(reuse.status, 201, 'a released address can be taken again');

      assert.equal((await a.delete(`/v2.0/networks/${net.id}`)).status, 409, 'ports still in use');
      const inUse = await a.delete(`/v2.0/subnets/${subnet.id}`);
      assert.equal(inUse.status, 409);
      assert.equal(inUse.body.NeutronError.type, 'SubnetInUse');
      for (const p of (await a.get(`/v2.0/ports?network_id=${net.id}`)).body.ports) assert.equal((await a.delete(`/v2.0/ports/${p.id}`)).status, 204);
      assert.equal((await a.delete(`/v2.0/networks/${net.id}`)).status, 204);
    });

    test('200 concurrent port creates on one subnet get 200 distinct addresses', async () => {
      await admin.put(`/v2.0/quotas/${alice.projectId}`, { quota: { port: -1 } });
      const net = (await a.post('/v2.0/networks', { network: { name: 'busy' } })).body.network;
      await a.post('/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.32.0/23' } });
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => a.post('/v2.0/ports', { port: { network_id: net.id, name: `c${i}` } })));
      assert.deepEqual(results.map((r) => r.status).filter((s) => s !== 201), []);
      const addresses = new Set(results.map((r) => r.body.port.fixed_ips[0].ip_address));
      assert.equal(addresses.size, 200);
      const macs = new Set(results.map((r) => r.body.port.mac_address));
      assert.equal(macs.size, 200);
      const listed = await a.get(`/v2.0/ports?network_id=${net.id}&fields=id`);
      assert.equal(listed.body.ports.length, 200);
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
