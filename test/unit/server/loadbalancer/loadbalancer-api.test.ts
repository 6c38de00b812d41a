import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DIALECTS } from '../../../support/databases.js';
import { jsonClient } from '../../../support/http.js';
import { readChanges } from '../../../../src/store/changelog.js';
import { findRoleByName, findUserByName, grantRole } from '../../../../src/server/identity/repository.js';
import { assertFault, createActiveLb, createSettled, lbUser, settle, startLbWorld, type LbWorld } from './support.js';

for (const dialect of DIALECTS) {
  describe(`Load Balancer API on ${dialect}`, () => {
    let world: LbWorld;
    before(async () => {
      world = await startLbWorld(dialect);
    });
    after(() => world.close());

    test('version document: one CURRENT; /v2.0 aliases /v2; no token is 401 in Octavia fault format', async () => {
      const anonymous = jsonClient(`${world.server.url}/load-balancer`);
      const versions = await anonymous.get('/');
      assert.equal(versions.status, 200);
      const current = versions.body.versions.filter((v: { status: string }) => v.status === 'CURRENT');
      assert.equal(current.length, 1);
      assert.match(current[0].id, /^v2\.\d+$/);
      assertFault(await anonymous.get('/v2/lbaas/loadbalancers'), 401);
      const { lb } = world.alice;
      assert.deepEqual((await lb.get('/v2.0/lbaas/loadbalancers')).body, (await lb.get('/v2/lbaas/loadbalancers')).body);
      assertFault(await lb.get('/v2/lbaas/no-such-thing'), 404);
    });

    test('balancer lifecycle: PENDING_CREATE, immutable while pending, ACTIVE, update 200, delete 204', async () => {
      const { server } = world;
      const { lb, subnetId, networkId, projectId } = world.alice;
      const revision = Number((await server.store.read((db) => db.selectFrom('revision_counter').select('revision').executeTakeFirstOrThrow())).revision);
      const created = await lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { name: 'web', vip_subnet_id: subnetId, vip_address: '198.18.60.20', tags: ['k8s'] } });
      assert.equal(created.status, 201);
      const body = created.body.loadbalancer;
      assert.equal(body.provisioning_status, 'PENDING_CREATE');
      assert.equal(body.operating_status, 'OFFLINE');
      assert.equal(body.vip_subnet_id, subnetId);
      assert.equal(body.vip_network_id, networkId, 'the network is taken from the subnet');
      assert.equal(body.vip_address, '198.18.60.20');
      assert.equal(body.vip_port_id, null, 'the VIP port is the controller’s to allocate');
      assert.equal(body.provider, 'amphora');
      assert.equal(body.project_id, projectId);
      assert.deepEqual(body.listeners, []);
      assert.deepEqual(body.tags, ['k8s']);
      assert.equal(body.updated_at, null);

      assertFault(await lb.put(`/v2/lbaas/loadbalancers/${body.id}`, { loadbalancer: { name: 'x' } }), 409, /is immutable and cannot be updated/);
      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: body.id, protocol: 'TCP', protocol_port: 80 } }), 409, /immutable/);
      assertFault(await lb.delete(`/v2/lbaas/loadbalancers/${body.id}`), 409);

      await settle(server, body.id);
      assert.equal((await lb.get(`/v2/lbaas/loadbalancers/${body.id}`)).body.loadbalancer.provisioning_status, 'ACTIVE');
      const updated = await lb.put(`/v2/lbaas/loadbalancers/${body.id}`, { loadbalancer: { name: 'web2', description: 'renamed' } });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.loadbalancer.name, 'web2');
      assert.equal(updated.body.loadbalancer.provisioning_status, 'PENDING_UPDATE');
      assertFault(await lb.put(`/v2/lbaas/loadbalancers/${body.id}`, { loadbalancer: { vip_subnet_id: subnetId } }), 400);
      await settle(server, body.id);

      const deleted = await lb.delete(`/v2/lbaas/loadbalancers/${body.id}`);
      assert.equal(deleted.status, 204);
      assert.equal((await lb.get(`/v2/lbaas/loadbalancers/${body.id}`)).body.loadbalancer.provisioning_status, 'PENDING_DELETE');
      await settle(server, body.id);
      assertFault(await lb.get(`/v2/lbaas/loadbalancers/${body.id}`), 404, /Load Balancer .* could not be found/);

      const log = await server.store.read((db) => readChanges(db, revision, 1000));
      const statuses = log.filter((c) => c.resource === 'loadbalancer' && c.id === body.id).map((c) => (c.body as { provisioning_status?: string } | null)?.provisioning_status ?? 'deleted');
      assert.deepEqual(statuses, ['PENDING_CREATE', 'ACTIVE', 'PENDING_UPDATE', 'ACTIVE', 'PENDING_DELETE', 'deleted']);
    });

    test('concurrent writes to one balancer: exactly one wins, the others are 409 (the balancer row is the lock)', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice);
      const attempts = await Promise.all(
        [81, 82, 83, 84].map((port) => lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: port } })),
      );
      assert.deepEqual(attempts.map((a) => a.status).sort(), [201, 409, 409, 409]);
      const listeners = await server.store.read((db) => db.selectFrom('lb_listeners').select('id').where('load_balancer_id', '=', lbId).execute());
      assert.equal(listeners.length, 1);
    });

    test('VIP: one of subnet, network or port is required and must exist', async () => {
      const { lb, networkId } = world.alice;
      assertFault(await lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { name: 'novip' } }), 400, /VIP must contain one of/);
      assertFault(await lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: '6a0a3c54-0000-4000-8000-000000000000' } }), 400, /Subnet .* not found/);
      assertFault(await lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_network_id: networkId, provider: 'ovn' } }), 400, /Provider 'ovn' is not enabled/);
      assertFault(await lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_network_id: networkId, vip_address: 'not-an-ip' } }), 400);
      assertFault(await lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: world.alice.subnetId, vip_address: '198.18.99.1' } }), 400, /not in subnet/);
      const byNetwork = await lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_network_id: networkId } });
      assert.equal(byNetwork.status, 201);
      assert.equal(byNetwork.body.loadbalancer.vip_network_id, networkId);
    });

    test('listener, pool, member and health monitor: statuses, protocol rules, conflicts', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice);

      const listener = await lb.post('/v2/lbaas/listeners', {
        listener: { loadbalancer_id: lbId, protocol: 'HTTP', protocol_port: 80, insert_headers: { 'X-Forwarded-For': 'true' }, allowed_cidrs: ['198.18.0.0/15'] },
      });
      assert.equal(listener.status, 201);
      const l = listener.body.listener;
      assert.equal(l.provisioning_status, 'PENDING_CREATE');
      assert.equal(l.operating_status, 'OFFLINE');
      assert.deepEqual(l.loadbalancers, [{ id: lbId }]);
      assert.equal(l.connection_limit, -1);
      assert.deepEqual([l.timeout_client_data, l.timeout_member_connect, l.timeout_member_data, l.timeout_tcp_inspect], [50000, 5000, 50000, 0]);
      assert.deepEqual(l.insert_headers, { 'X-Forwarded-For': 'True' });
      assert.equal('loadbalancer_id' in l, false);
      assert.equal((await lb.get(`/v2/lbaas/loadbalancers/${lbId}`)).body.loadbalancer.provisioning_status, 'PENDING_UPDATE');
      await settle(server, lbId);
      assert.equal((await lb.get(`/v2/lbaas/listeners/${l.id}`)).body.listener.provisioning_status, 'ACTIVE');

      // allowed_cidrs of the other IP version than the VIP's (IPv4 here): 400 on create and update, nothing written.
      const mixed = ['192.0.1.0/24', '2001:db8:a0b:12f0::/64'];
      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 90, allowed_cidrs: mixed } }), 400, /CIDR 2001:db8:a0b:12f0::\/64 IP version incompatible with VIP/);
      assertFault(await lb.put(`/v2/lbaas/listeners/${l.id}`, { listener: { allowed_cidrs: mixed } }), 400, /IP version incompatible/);
      const unchanged = (await lb.get(`/v2/lbaas/listeners/${l.id}`)).body.listener;
      assert.deepEqual([unchanged.allowed_cidrs, unchanged.provisioning_status], [['198.18.0.0/15'], 'ACTIVE']);
      assert.equal((await lb.get(`/v2/lbaas/loadbalancers/${lbId}`)).body.loadbalancer.provisioning_status, 'ACTIVE');
      assert.equal((await lb.get(`/v2/lbaas/listeners?loadbalancer_id=${lbId}`)).body.listeners.length, 1);

      // A UDP pool's persistence granularity of the other IP version: 400 on create and update, nothing written.
      const udp = (granularity: string) => ({ type: 'SOURCE_IP', persistence_timeout: 60, persistence_granularity: granularity });
      assertFault(await lb.post('/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'UDP', lb_algorithm: 'ROUND_ROBIN', session_persistence: udp('ffff:ffff::') } }), 400, /persistence_granularity ffff:ffff:: IP version incompatible with VIP/);
      const udpPool = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'UDP', lb_algorithm: 'ROUND_ROBIN', session_persistence: udp('255.255.255.0') } }, lbId);
      assertFault(await lb.put(`/v2/lbaas/pools/${udpPool}`, { pool: { session_persistence: udp('ffff:ffff::') } }), 400, /IP version incompatible/);
      assert.equal((await lb.get(`/v2/lbaas/pools/${udpPool}`)).body.pool.session_persistence.persistence_granularity, '255.255.255.0');
      assert.equal((await lb.delete(`/v2/lbaas/pools/${udpPool}`)).status, 204);
      await settle(server, lbId);

      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 80 } }), 409, /already using protocol TCP and protocol_port 80/);
      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'SCTP', protocol_port: 81 } }), 400);
      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 70000 } }), 400);
      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 81, insert_headers: { 'X-Forwarded-For': 'true' } } }), 400, /not supported for listeners of protocol TCP/);
      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: 443 } }), 400, /TERMINATED_HTTPS/);
      assertFault(await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: 'not a url' } }), 400);

      assertFault(await lb.post('/v2/lbaas/pools', { pool: { listener_id: l.id, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' } }), 400, /pool protocol 'TCP' is invalid while the listener protocol is 'HTTP'/);
      assertFault(await lb.post('/v2/lbaas/pools', { pool: { protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } }), 400, /loadbalancer_id or a listener_id/);
      // SOURCE_IP_PORT is Octavia's but not the amphora provider's: 501, and nothing is written (the balancer stays ACTIVE).
      assertFault(await lb.post('/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'HTTP', lb_algorithm: 'SOURCE_IP_PORT' } }), 501, /^Provider 'amphora' does not support a requested option: .*SOURCE_IP_PORT/);
      assert.equal((await lb.get(`/v2/lbaas/loadbalancers/${lbId}`)).body.loadbalancer.provisioning_status, 'ACTIVE');
      assertFault(await lb.post('/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'HTTP', lb_algorithm: 'LEAST_TIME' } }), 400);
      const pool = await lb.post('/v2/lbaas/pools', {
        pool: { listener_id: l.id, protocol: 'PROXY', lb_algorithm: 'LEAST_CONNECTIONS', session_persistence: { type: 'APP_COOKIE', cookie_name: 'sid' } },
      });
      assert.equal(pool.status, 201, JSON.stringify(pool.body));
      const p = pool.body.pool;
      assert.deepEqual(p.listeners, [{ id: l.id }]);
      assert.equal(p.session_persistence.cookie_name, 'sid');
      const listenerNow = (await lb.get(`/v2/lbaas/listeners/${l.id}`)).body.listener;
      assert.equal(listenerNow.default_pool_id, p.id);
      assert.equal(listenerNow.provisioning_status, 'PENDING_UPDATE');
      await settle(server, lbId);
      assertFault(await lb.post('/v2/lbaas/pools', { pool: { listener_id: l.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } }), 409, /already has a default pool/);

      const member = await lb.post(`/v2/lbaas/pools/${p.id}/members`, { member: { address: '198.18.60.11', protocol_port: 8080, weight: 5 } });
      assert.equal(member.status, 201);
      assert.equal(member.body.member.operating_status, 'NO_MONITOR', 'a pool without a monitor has unmonitored members');
      assert.equal(member.body.member.backup, false);
      assert.equal((await lb.get(`/v2/lbaas/pools/${p.id}`)).body.pool.provisioning_status, 'PENDING_UPDATE');
      await settle(server, lbId);
      assertFault(await lb.post(`/v2/lbaas/pools/${p.id}/members`, { member: { address: '198.18.60.11', protocol_port: 8080 } }), 409, /already using ip address 198.18.60.11 on protocol_port 8080/);
      assertFault(await lb.post(`/v2/lbaas/pools/${p.id}/members`, { member: { address: '198.18.60.12', protocol_port: 8080, weight: 257 } }), 400);
      const listed = await lb.get(`/v2/lbaas/pools/${p.id}/members`);
      assert.deepEqual(listed.body.members.map((m: { id: string }) => m.id), [member.body.member.id]);
      assertFault(await lb.get(`/v2/lbaas/pools/${p.id}/members/${p.id}`), 404);

      assertFault(await lb.post('/v2/lbaas/healthmonitors', { healthmonitor: { pool_id: p.id, type: 'UDP-CONNECT', delay: 5, timeout: 3, max_retries: 3 } }), 400, /not compatible/);
      const hm = await lb.post('/v2/lbaas/healthmonitors', { healthmonitor: { pool_id: p.id, type: 'HTTP', delay: 5, timeout: 3, max_retries: 2, url_path: '/healthz' } });
      assert.equal(hm.status, 201, JSON.stringify(hm.body));
      assert.deepEqual(hm.body.healthmonitor.pools, [{ id: p.id }]);
      assert.equal(hm.body.healthmonitor.http_method, 'GET');
      assert.equal(hm.body.healthmonitor.expected_codes, '200');
      assert.equal(hm.body.healthmonitor.max_retries_down, 3);
      assert.equal('pool_id' in hm.body.healthmonitor, false);
      await settle(server, lbId);
      assert.equal((await lb.get(`/v2/lbaas/pools/${p.id}`)).body.pool.healthmonitor_id, hm.body.healthmonitor.id);
      assertFault(await lb.post('/v2/lbaas/healthmonitors', { healthmonitor: { pool_id: p.id, type: 'TCP', delay: 5, timeout: 3, max_retries: 2 } }), 409, /already has a health monitor/);

      const updated = await lb.put(`/v2/lbaas/healthmonitors/${hm.body.healthmonitor.id}`, { healthmonitor: { delay: 10, expected_codes: '200-204' } });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.healthmonitor.provisioning_status, 'PENDING_UPDATE');
      await settle(server, lbId);
      assertFault(await lb.put(`/v2/lbaas/healthmonitors/${hm.body.healthmonitor.id}`, { healthmonitor: { type: 'TCP' } }), 400);

      // Deleting the pool takes its members and monitor with it; the listener keeps running without a default pool.
      assert.equal((await lb.delete(`/v2/lbaas/pools/${p.id}`)).status, 204);
      assert.equal((await lb.get(`/v2/lbaas/healthmonitors/${hm.body.healthmonitor.id}`)).body.healthmonitor.provisioning_status, 'PENDING_DELETE');
      await settle(server, lbId);
      assertFault(await lb.get(`/v2/lbaas/healthmonitors/${hm.body.healthmonitor.id}`), 404);
      assertFault(await lb.get(`/v2/lbaas/pools/${p.id}`), 404);
      assert.equal((await lb.get(`/v2/lbaas/listeners/${l.id}`)).body.listener.default_pool_id, null);
    });

    test('listener, pool and member fields: TLS refs, timeouts, ALPN, TLS versions, monitor address; children follow RBAC', async () => {
      const { server, bob } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice);
      const ref = (n: number) => `https://keys.example/key-manager/v1/containers/6f1c1e2a-1b7e-4c7b-9a55-${String(n).padStart(12, '0')}`;
      const created = await lb.post('/v2/lbaas/listeners', {
        listener: {
          loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: ref(1), sni_container_refs: [ref(2)],
          tls_versions: ['TLSv1.3'], alpn_protocols: ['h2'], tls_ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', connection_limit: 500,
          timeout_client_data: 1000, timeout_member_connect: 2000, timeout_member_data: 3000, timeout_tcp_inspect: 4000,
          insert_headers: { 'X-Forwarded-Proto': 'true' },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const l = created.body.listener;
      assert.deepEqual([l.tls_versions, l.alpn_protocols, l.tls_ciphers, l.sni_container_refs], [['TLSv1.3'], ['h2'], 'ECDHE-RSA-AES256-GCM-SHA384', [ref(2)]]);
      assert.deepEqual([l.timeout_client_data, l.timeout_member_connect, l.timeout_member_data, l.timeout_tcp_inspect, l.connection_limit], [1000, 2000, 3000, 4000, 500]);
      await settle(server, lbId);
      const updated = await lb.put(`/v2/lbaas/listeners/${l.id}`, { listener: { alpn_protocols: ['http/1.1'], sni_container_refs: [], timeout_client_data: 9000 } });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.deepEqual([updated.body.listener.alpn_protocols, updated.body.listener.tls_versions, updated.body.listener.sni_container_refs], [['http/1.1'], ['TLSv1.3'], []]);
      assert.equal(updated.body.listener.timeout_client_data, 9000);
      await settle(server, lbId);
      assertFault(await lb.put(`/v2/lbaas/listeners/${l.id}`, { listener: { protocol_port: 444 } }), 400);
      assertFault(await lb.put(`/v2/lbaas/listeners/${l.id}`, { listener: { tls_versions: ['TLSv9'] } }), 400);

      const poolId = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { listener_id: l.id, protocol: 'HTTP', lb_algorithm: 'SOURCE_IP', tls_enabled: true, tls_versions: ['TLSv1.2'] } }, lbId);
      const pool = (await lb.get(`/v2/lbaas/pools/${poolId}`)).body.pool;
      assert.deepEqual([pool.tls_enabled, pool.tls_versions, pool.lb_algorithm], [true, ['TLSv1.2'], 'SOURCE_IP']);
      // Addresses stay as the client wrote them once checked, as Octavia's do (octavia-tempest compares them).
      const member = await lb.post(`/v2/lbaas/pools/${poolId}/members`, { member: { address: 'fd00:18:0:0:0:0:0:11', protocol_port: 80, backup: true, monitor_address: '198.18.60.90', monitor_port: 9000 } });
      assert.equal(member.status, 201);
      assert.deepEqual([member.body.member.address, member.body.member.backup, member.body.member.monitor_address, member.body.member.monitor_port], ['fd00:18:0:0:0:0:0:11', true, '198.18.60.90', 9000]);
      assertFault(await lb.post(`/v2/lbaas/pools/${poolId}/members`, { member: { address: 'fd00:18::11::1', protocol_port: 81 } }), 400);
      await settle(server, lbId);

      // Another project's children are 403 too, whatever the path to them.
      assertFault(await bob.lb.get(`/v2/lbaas/listeners/${l.id}`), 403);
      assertFault(await bob.lb.put(`/v2/lbaas/pools/${poolId}`, { pool: { name: 'x' } }), 403);
      assertFault(await bob.lb.post(`/v2/lbaas/pools/${poolId}/members`, { member: { address: '198.18.61.5', protocol_port: 80 } }), 403);
      assertFault(await bob.lb.delete(`/v2/lbaas/pools/${poolId}/members/${member.body.member.id}`), 403);
      assert.deepEqual((await bob.lb.get('/v2/lbaas/listeners')).body.listeners, []);
    });

    test('batch member update: create, update and delete by address and port in one request', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice);
      const poolId = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' } }, lbId);
      const keep = await createSettled(server, lb, `/v2/lbaas/pools/${poolId}/members`, { member: { address: '198.18.60.31', protocol_port: 80 } }, lbId);
      const drop = await createSettled(server, lb, `/v2/lbaas/pools/${poolId}/members`, { member: { address: '198.18.60.32', protocol_port: 80 } }, lbId);

      assertFault(await lb.put(`/v2/lbaas/pools/${poolId}/members`, { members: [{ address: '198.18.60.40', protocol_port: 80 }, { address: '198.18.60.40', protocol_port: 80 }] }), 400, /twice/);
      const batch = await lb.put(`/v2/lbaas/pools/${poolId}/members`, {
        members: [
          { address: '198.18.60.31', protocol_port: 80, weight: 7 },
          { address: '198.18.60.33', protocol_port: 80, name: 'new' },
        ],
      });
      assert.equal(batch.status, 202);
      const byAddress = async () => {
        const list = (await lb.get(`/v2/lbaas/pools/${poolId}/members`)).body.members as { address: string; provisioning_status: string; weight: number; id: string }[];
        return Object.fromEntries(list.map((m) => [m.address, m]));
      };
      const pending = await byAddress();
      assert.equal(pending['198.18.60.31'].provisioning_status, 'PENDING_UPDATE');
      assert.equal(pending['198.18.60.31'].weight, 7);
      assert.equal(pending['198.18.60.31'].id, keep);
      assert.equal(pending['198.18.60.32'].provisioning_status, 'PENDING_DELETE');
      assert.equal(pending['198.18.60.32'].id, drop);
      assert.equal(pending['198.18.60.33'].provisioning_status, 'PENDING_CREATE');
      assertFault(await lb.put(`/v2/lbaas/pools/${poolId}/members`, { members: [] }), 409);
      await settle(server, lbId);
      assert.deepEqual(Object.keys(await byAddress()).sort(), ['198.18.60.31', '198.18.60.33']);

      assert.equal((await lb.put(`/v2/lbaas/pools/${poolId}/members?additive_only=true`, { members: [{ address: '198.18.60.34', protocol_port: 80 }] })).status, 202);
      await settle(server, lbId);
      assert.deepEqual(Object.keys(await byAddress()).sort(), ['198.18.60.31', '198.18.60.33', '198.18.60.34']);
    });

    test('cascade delete removes the whole tree; without cascade a balancer with children stays', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice);
      const listenerId = await createSettled(server, lb, '/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 443 } }, lbId);
      const poolId = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { listener_id: listenerId, protocol: 'TCP', lb_algorithm: 'SOURCE_IP' } }, lbId);
      await createSettled(server, lb, `/v2/lbaas/pools/${poolId}/members`, { member: { address: '198.18.60.50', protocol_port: 443 } }, lbId);
      await createSettled(server, lb, '/v2/lbaas/healthmonitors', { healthmonitor: { pool_id: poolId, type: 'TCP', delay: 3, timeout: 2, max_retries: 3 } }, lbId);

      assertFault(await lb.delete(`/v2/lbaas/loadbalancers/${lbId}`), 400, /it has children/);
      assert.equal((await lb.delete(`/v2/lbaas/loadbalancers/${lbId}?cascade=true`)).status, 204);
      assert.equal((await lb.get(`/v2/lbaas/listeners/${listenerId}`)).body.listener.provisioning_status, 'PENDING_DELETE');
      assert.equal((await lb.get(`/v2/lbaas/pools/${poolId}`)).body.pool.provisioning_status, 'PENDING_DELETE');
      await settle(server, lbId);
      assertFault(await lb.get(`/v2/lbaas/loadbalancers/${lbId}`), 404);
      for (const table of ['lb_listeners', 'lb_pools', 'lb_members', 'lb_health_monitors']) {
        const rows = await server.store.read((db) => db.selectFrom(table).select('id').where('load_balancer_id', '=', lbId).execute());
        assert.deepEqual(rows, [], table);
      }
    });

    test('tenancy and RBAC: other projects get 403, lists show only one’s own, roles as Octavia’s default policy before the new defaults', async () => {
      const { server, admin, alice, bob } = world;
      const lbId = await createActiveLb(server, alice, { name: 'alice-private' });
      const ids = (r: { body: { loadbalancers: { id: string }[] } }) => r.body.loadbalancers.map((x) => x.id);

      assert.equal(ids(await bob.lb.get('/v2/lbaas/loadbalancers')).includes(lbId), false);
      assertFault(await bob.lb.get(`/v2/lbaas/loadbalancers/${lbId}`), 403, /Policy does not allow/);
      assertFault(await bob.lb.put(`/v2/lbaas/loadbalancers/${lbId}`, { loadbalancer: { name: 'mine' } }), 403);
      assertFault(await bob.lb.delete(`/v2/lbaas/loadbalancers/${lbId}`), 403);
      assertFault(await bob.lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 22 } }), 403);
      assertFault(await bob.lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: bob.subnetId, project_id: alice.projectId } }), 403);
      assert.ok(ids(await admin.get('/v2/lbaas/loadbalancers')).includes(lbId));

      const observer = await server.createProjectUser('alice-observer', ['reader', 'load-balancer_observer']);
      // An observer of its own project: the test puts it in alice's project by granting the role there.
      await grantInProject(world, 'alice-observer', alice.projectId, ['reader', 'load-balancer_observer']);
      const observerClient = jsonClient(`${server.url}/load-balancer`, await server.issueToken('alice-observer', observer.password, 'alice'));
      assert.ok(ids(await observerClient.get('/v2/lbaas/loadbalancers')).includes(lbId));
      assert.equal((await observerClient.get(`/v2/lbaas/loadbalancers/${lbId}`)).status, 200);
      assertFault(await observerClient.put(`/v2/lbaas/loadbalancers/${lbId}`, { loadbalancer: { name: 'nope' } }), 403);

      const plain = await lbUser(server, 'plain-member', '198.18.62.0/24', ['member']);
      assertFault(await plain.lb.get('/v2/lbaas/loadbalancers'), 403);
      assertFault(await plain.lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: plain.subnetId } }), 403);
      // Octavia's policy before the new defaults (enforce_new_defaults False): load-balancer_member alone grants
      // a project member's rights, and load-balancer_observer alone an observer's.
      const lbRoleOnly = await server.createProjectUser('lb-role-only', ['load-balancer_member']);
      const lbRoleOnlyClient = jsonClient(`${server.url}/load-balancer`, lbRoleOnly.token);
      const own = await lbRoleOnlyClient.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: alice.subnetId } });
      assert.equal(own.status, 201, JSON.stringify(own.body));
      assert.equal(own.body.loadbalancer.project_id, lbRoleOnly.projectId);
      assert.deepEqual(ids(await lbRoleOnlyClient.get('/v2/lbaas/loadbalancers')), [own.body.loadbalancer.id]);
      await settle(server, own.body.loadbalancer.id);
      const observerOnly = await server.createProjectUser('observer-only', ['load-balancer_observer']);
      await grantInProject(world, 'observer-only', lbRoleOnly.projectId, ['load-balancer_observer']);
      const observerOnlyClient = jsonClient(`${server.url}/load-balancer`, await server.issueToken('observer-only', observerOnly.password, 'lb-role-only'));
      assert.equal((await observerOnlyClient.get(`/v2/lbaas/loadbalancers/${own.body.loadbalancer.id}`)).status, 200);
      assertFault(await observerOnlyClient.put(`/v2/lbaas/loadbalancers/${own.body.loadbalancer.id}`, { loadbalancer: { name: 'nope' } }), 403);

      const globalObserver = await server.createProjectUser('global-observer', ['reader', 'load-balancer_global_observer']);
      const globalClient = jsonClient(`${server.url}/load-balancer`, globalObserver.token);
      assert.ok(ids(await globalClient.get('/v2/lbaas/loadbalancers')).includes(lbId));
      assertFault(await globalClient.put(`/v2/lbaas/loadbalancers/${lbId}`, { loadbalancer: { name: 'nope' } }), 403);

      // A pool's members are listed by who may read the pool: another project's member gets 403, not an empty list.
      const poolId = await createSettled(server, alice.lb, '/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' } }, lbId);
      assertFault(await bob.lb.get(`/v2/lbaas/pools/${poolId}/members`), 403);
      assert.deepEqual((await observerClient.get(`/v2/lbaas/pools/${poolId}/members`)).body.members, []);
      assert.equal((await globalClient.get(`/v2/lbaas/pools/${poolId}/members`)).status, 200);
      assertFault(await alice.lb.get(`/v2/lbaas/pools/${randomUUID()}/members`), 404, /Pool .* could not be found/);

      const lbAdmin = await server.createProjectUser('lb-admin', ['load-balancer_admin']);
      const lbAdminClient = jsonClient(`${server.url}/load-balancer`, lbAdmin.token);
      const renamed = await lbAdminClient.put(`/v2/lbaas/loadbalancers/${lbId}`, { loadbalancer: { name: 'by-lb-admin' } });
      assert.equal(renamed.status, 200);
      await settle(server, lbId);
    });

    test('lists: filters, fields, sort and pagination links', async () => {
      const { server } = world;
      const carol = await lbUser(server, 'carol', '198.18.64.0/24');
      for (const name of ['b', 'a', 'c']) await createActiveLb(server, carol, { name });
      const byName = await carol.lb.get('/v2/lbaas/loadbalancers?name=a');
      assert.deepEqual(byName.body.loadbalancers.map((x: { name: string }) => x.name), ['a']);
      const sorted = await carol.lb.get('/v2/lbaas/loadbalancers?sort=name:desc&fields=name&fields=id');
      assert.deepEqual(sorted.body.loadbalancers.map((x: { name: string }) => x.name), ['c', 'b', 'a']);
      assert.deepEqual(Object.keys(sorted.body.loadbalancers[0]).sort(), ['id', 'name']);
      // Without sort, Octavia's order: oldest first (created_at has whole seconds; the test spreads them out).
      const created: Record<string, string> = { c: '2020-01-01T00:00:00Z', a: '2020-01-02T00:00:00Z', b: '2020-01-03T00:00:00Z' };
      await server.store.write(async (tx) => {
        for (const [name, at] of Object.entries(created)) await tx.db.updateTable('load_balancers').set({ created_at: at }).where('project_id', '=', carol.projectId).where('name', '=', name).execute();
      });
      assert.deepEqual((await carol.lb.get('/v2/lbaas/loadbalancers')).body.loadbalancers.map((x: { name: string }) => x.name), ['c', 'a', 'b']);
      const page = await carol.lb.get('/v2/lbaas/loadbalancers?sort=name:asc&limit=2');
      assert.deepEqual(page.body.loadbalancers.map((x: { name: string }) => x.name), ['a', 'b']);
      const next = page.body.loadbalancers_links.find((l: { rel: string }) => l.rel === 'next');
      assert.ok(next, JSON.stringify(page.body.loadbalancers_links));
      const rest = await carol.lb.get(next.href.slice(`${server.url}/load-balancer`.length));
      assert.deepEqual(rest.body.loadbalancers.map((x: { name: string }) => x.name), ['c']);
      assertFault(await carol.lb.get('/v2/lbaas/loadbalancers?no_such_field=1'), 400);
    });

    test('quotas: a project at its limit gets 403 QuotaException', async () => {
      const { server } = world;
      const dave = await lbUser(server, 'dave', '198.18.65.0/24');
      await server.store.write(async (tx) => {
        await tx.db.insertInto('lb_quotas').values({ project_id: dave.projectId, resource: 'load_balancer', quota_limit: 1 }).execute();
      });
      await createActiveLb(server, dave);
      assertFault(await dave.lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: dave.subnetId } }), 403, /Quota has been met for resources: Load Balancer/);
    });
  });
}

/** Grants roles to an existing user on another project (an observer of alice's project). */
async function grantInProject(world: LbWorld, userName: string, projectId: string, roles: string[]): Promise<void> {
  await world.server.store.write(async (tx) => {
    const user = await findUserByName(tx.db, 'default', userName);
    for (const name of roles) {
      const role = await findRoleByName(tx.db, name);
      await grantRole(tx.db, user!.id, projectId, role!.id);
    }
  });
}
