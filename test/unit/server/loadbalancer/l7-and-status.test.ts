import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHealth } from '../../../../src/server/loadbalancer/lifecycle.js';
import { loadBalancerTree } from '../../../../src/server/loadbalancer/tree.js';
import { DIALECTS } from '../../../support/databases.js';
import { assertFault, createActiveLb, createSettled, settle, startLbWorld, type LbWorld } from './support.js';

for (const dialect of DIALECTS) {
  describe(`L7 policies, rules, status tree and statistics on ${dialect}`, () => {
    let world: LbWorld;
    before(async () => {
      world = await startLbWorld(dialect);
    });
    after(() => world.close());

    test('L7 policies keep positions 1..n; rules are checked by type; both reach the amphora tree', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice, { vip_address: '198.18.60.70' });
      const listenerId = await createSettled(server, lb, '/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'HTTP', protocol_port: 80 } }, lbId);
      const api = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } }, lbId);
      const tcpPool = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' } }, lbId);

      const policy = (body: Record<string, unknown>) => lb.post('/v2/lbaas/l7policies', { l7policy: { listener_id: listenerId, ...body } });
      assertFault(await policy({ action: 'REDIRECT_TO_POOL' }), 400, /redirect_pool_id is required/);
      assertFault(await policy({ action: 'REDIRECT_TO_URL', redirect_url: 'not a url' }), 400);
      assertFault(await policy({ action: 'REDIRECT_TO_POOL', redirect_pool_id: tcpPool }), 400, /pool protocol 'TCP' is invalid/);
      const toApi = await createSettled(server, lb, '/v2/lbaas/l7policies', { l7policy: { listener_id: listenerId, action: 'REDIRECT_TO_POOL', redirect_pool_id: api } }, lbId);
      const reject = await createSettled(server, lb, '/v2/lbaas/l7policies', { l7policy: { listener_id: listenerId, action: 'REJECT', position: 1 } }, lbId);
      const redirect = await lb.post('/v2/lbaas/l7policies', { l7policy: { listener_id: listenerId, action: 'REDIRECT_TO_URL', redirect_url: 'https://example.com/', position: 99 } });
      assert.equal(redirect.status, 201);
      assert.equal(redirect.body.l7policy.redirect_http_code, 302);
      assert.equal(redirect.body.l7policy.position, 3, 'a position beyond the end is the end');
      await settle(server, lbId);
      const positions = async () => {
        const list = (await lb.get(`/v2/lbaas/l7policies?listener_id=${listenerId}`)).body.l7policies as { id: string; position: number }[];
        return Object.fromEntries(list.map((p) => [p.id, p.position]));
      };
      assert.deepEqual(await positions(), { [reject]: 1, [toApi]: 2, [redirect.body.l7policy.id]: 3 });
      assert.equal((await lb.put(`/v2/lbaas/l7policies/${redirect.body.l7policy.id}`, { l7policy: { position: 1 } })).status, 200);
      await settle(server, lbId);
      assert.deepEqual(await positions(), { [redirect.body.l7policy.id]: 1, [reject]: 2, [toApi]: 3 });
      assertFault(await lb.delete(`/v2/lbaas/pools/${api}`), 409, /in use by L7 policy/);
      assert.equal((await lb.delete(`/v2/lbaas/l7policies/${reject}`)).status, 204);
      await settle(server, lbId);
      assert.deepEqual(await positions(), { [redirect.body.l7policy.id]: 1, [toApi]: 2 });

      const rule = (body: Record<string, unknown>) => lb.post(`/v2/lbaas/l7policies/${toApi}/rules`, { rule: body });
      assertFault(await rule({ type: 'HEADER', compare_type: 'EQUAL_TO', value: 'x' }), 400, /key is required/);
      assertFault(await rule({ type: 'SSL_CONN_HAS_CERT', compare_type: 'EQUAL_TO', value: 'True' }), 400, /TERMINATED_HTTPS/);
      assertFault(await rule({ type: 'FILE_TYPE', compare_type: 'STARTS_WITH', value: 'jpg' }), 400, /EQUAL_TO or REGEX/);
      assertFault(await rule({ type: 'PATH', compare_type: 'REGEX', value: '(' }), 400, /regular expression/);
      assertFault(await rule({ type: 'PATH', compare_type: 'STARTS_WITH', value: "/a'b" }), 400, /single quote/);
      const pathRule = await createSettled(server, lb, `/v2/lbaas/l7policies/${toApi}/rules`, { rule: { type: 'PATH', compare_type: 'STARTS_WITH', value: '/api' } }, lbId);
      const hostRule = await createSettled(server, lb, `/v2/lbaas/l7policies/${toApi}/rules`, { rule: { type: 'HOST_NAME', compare_type: 'EQUAL_TO', value: 'api.example.com', invert: true } }, lbId);
      const shown = await lb.get(`/v2/lbaas/l7policies/${toApi}/rules/${hostRule}`);
      assert.equal(shown.body.rule.invert, true);
      assert.equal(shown.body.rule.key, null);
      assertFault(await world.bob.lb.get(`/v2/lbaas/l7policies/${toApi}/rules`), 403);
      assert.deepEqual((await lb.get(`/v2/lbaas/l7policies/${toApi}`)).body.l7policy.rules.map((r: { id: string }) => r.id).sort(), [pathRule, hostRule].sort());
      assert.equal((await lb.put(`/v2/lbaas/l7policies/${toApi}/rules/${hostRule}`, { rule: { value: 'www.example.com' } })).status, 200);
      assert.equal((await lb.get(`/v2/lbaas/l7policies/${toApi}`)).body.l7policy.provisioning_status, 'PENDING_UPDATE');
      await settle(server, lbId);

      const { tree } = await server.store.read((db) => loadBalancerTree(db, lbId));
      const policies = tree.listeners[0].l7Policies;
      assert.deepEqual(policies.map((p) => [p.action, p.position]), [['REDIRECT_TO_URL', 1], ['REDIRECT_TO_POOL', 2]]);
      const poolPolicy = policies.find((p) => p.action === 'REDIRECT_TO_POOL')!;
      assert.deepEqual(poolPolicy.rules.map((r) => r.value).sort(), ['/api', 'www.example.com']);

      // Deleting the listener takes its policies and their rules.
      assert.equal((await lb.delete(`/v2/lbaas/listeners/${listenerId}`)).status, 204);
      assert.equal((await lb.get(`/v2/lbaas/l7policies/${toApi}/rules/${pathRule}`)).body.rule.provisioning_status, 'PENDING_DELETE');
      await settle(server, lbId);
      assertFault(await lb.get(`/v2/lbaas/l7policies/${toApi}`), 404);
      assert.equal((await lb.delete(`/v2/lbaas/pools/${api}`)).status, 204, 'the pool is free once its policy is gone');
    });

    test('status tree and statistics', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice, { name: 'tree' });
      const listenerId = await createSettled(server, lb, '/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 80, name: 'l80' } }, lbId);
      const poolId = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { listener_id: listenerId, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN', name: 'p' } }, lbId);
      const memberId = await createSettled(server, lb, `/v2/lbaas/pools/${poolId}/members`, { member: { address: '198.18.60.21', protocol_port: 80, name: 'm' } }, lbId);
      const hmId = await createSettled(server, lb, '/v2/lbaas/healthmonitors', { healthmonitor: { pool_id: poolId, type: 'TCP', delay: 3, timeout: 2, max_retries: 2, name: 'hm' } }, lbId);
      const stats = (n: number) => ({ activeConnections: n, totalConnections: 10 * n, bytesIn: 100 * n, bytesOut: 1000 * n, requestErrors: n });
      const report = (vrrpState: 'MASTER' | 'BACKUP', n: number) => ({
        appliedConfigRevision: 1, applyError: null, haproxy: 'RUNNING' as const, vrrpState,
        listeners: { [listenerId]: { status: 'OPEN' as const, stats: stats(n) } },
        pools: { [poolId]: { status: 'UP' as const, members: { [memberId]: 'UP' as const } } },
      });
      await server.store.write((tx) => applyHealth(tx, lbId, [report('MASTER', 3), report('BACKUP', 1)]));

      const status = await lb.get(`/v2/lbaas/loadbalancers/${lbId}/status`);
      assert.equal(status.status, 200);
      assert.deepEqual(status.body, {
        statuses: {
          loadbalancer: {
            id: lbId, name: 'tree', provisioning_status: 'ACTIVE', operating_status: 'ONLINE',
            listeners: [{
              id: listenerId, name: 'l80', provisioning_status: 'ACTIVE', operating_status: 'ONLINE',
              pools: [{
                id: poolId, name: 'p', provisioning_status: 'ACTIVE', operating_status: 'ONLINE',
                health_monitor: { id: hmId, name: 'hm', type: 'TCP', provisioning_status: 'ACTIVE', operating_status: 'ONLINE' },
                members: [{ id: memberId, name: 'm', provisioning_status: 'ACTIVE', operating_status: 'ONLINE', address: '198.18.60.21', protocol_port: 80 }],
              }],
            }],
          },
        },
      });
      const expected = { active_connections: 4, bytes_in: 400, bytes_out: 4000, request_errors: 4, total_connections: 40 };
      assert.deepEqual((await lb.get(`/v2/lbaas/loadbalancers/${lbId}/stats`)).body, { stats: expected });
      assert.deepEqual((await lb.get(`/v2/lbaas/listeners/${listenerId}/stats`)).body, { stats: expected });
      assertFault(await world.bob.lb.get(`/v2/lbaas/loadbalancers/${lbId}/status`), 403);
      assertFault(await world.bob.lb.get(`/v2/lbaas/listeners/${listenerId}/stats`), 403);
    });
  });
}
