import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AmphoraHealthReport } from '../../../../src/agents/amphora/target.js';
import { currentRevision, readChanges } from '../../../../src/store/changelog.js';
import { applyHealth, completeProvisioning, failProvisioning, setDegraded } from '../../../../src/server/loadbalancer/lifecycle.js';
import { DIALECTS } from '../../../support/databases.js';
import { assertFault, createActiveLb, createSettled, settle, startLbWorld, type LbWorld } from './support.js';

const stats = (n: number) => ({ activeConnections: n, totalConnections: 10 * n, bytesIn: 100 * n, bytesOut: 1000 * n, requestErrors: 0 });

for (const dialect of DIALECTS) {
  describe(`Load balancer lifecycle on ${dialect}`, () => {
    let world: LbWorld;
    before(async () => {
      world = await startLbWorld(dialect);
    });
    after(() => world.close());

    const status = async (path: string) => {
      const r = await world.alice.lb.get(`/v2/lbaas/${path}`);
      if (r.status === 404) return 'gone';
      const object = Object.values(r.body as Record<string, { provisioning_status: string; operating_status: string }>)[0];
      return `${object.provisioning_status}/${object.operating_status}`;
    };

    /** A balancer with an HTTP listener, its pool, two members and an HTTP monitor, all ACTIVE. */
    async function tree() {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice, { vip_address: '198.18.60.99' });
      const listenerId = await createSettled(server, lb, '/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'HTTP', protocol_port: 80 } }, lbId);
      const poolId = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { listener_id: listenerId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } }, lbId);
      const m1 = await createSettled(server, lb, `/v2/lbaas/pools/${poolId}/members`, { member: { address: '198.18.60.11', protocol_port: 80 } }, lbId);
      const m2 = await createSettled(server, lb, `/v2/lbaas/pools/${poolId}/members`, { member: { address: '198.18.60.12', protocol_port: 80 } }, lbId);
      const hmId = await createSettled(server, lb, '/v2/lbaas/healthmonitors', { healthmonitor: { pool_id: poolId, type: 'HTTP', delay: 2, timeout: 1, max_retries: 2 } }, lbId);
      return { lbId, listenerId, poolId, m1, m2, hmId };
    }

    test('completeProvisioning: pending creates and updates turn ACTIVE, pending deletes go, in one logged transaction', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const t = await tree();
      const cases: Array<[string, () => Promise<unknown>, Record<string, string>]> = [
        [
          'a new listener',
          () => lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: t.lbId, protocol: 'TCP', protocol_port: 8443 } }),
          { [`loadbalancers/${t.lbId}`]: 'ACTIVE' },
        ],
        [
          'an updated member',
          () => lb.put(`/v2/lbaas/pools/${t.poolId}/members/${t.m1}`, { member: { weight: 3 } }),
          { [`pools/${t.poolId}/members/${t.m1}`]: 'ACTIVE', [`pools/${t.poolId}`]: 'ACTIVE', [`loadbalancers/${t.lbId}`]: 'ACTIVE' },
        ],
        [
          'a deleted member',
          () => lb.delete(`/v2/lbaas/pools/${t.poolId}/members/${t.m2}`),
          { [`pools/${t.poolId}/members/${t.m2}`]: 'gone', [`pools/${t.poolId}/members/${t.m1}`]: 'ACTIVE', [`loadbalancers/${t.lbId}`]: 'ACTIVE' },
        ],
      ];
      for (const [name, write, expected] of cases) {
        await write();
        const before = await server.store.read(currentRevision);
        await settle(server, t.lbId);
        for (const [path, want] of Object.entries(expected)) {
          const got = await status(path);
          assert.equal(want === 'gone' ? got : got.split('/')[0], want, `${name}: ${path}`);
        }
        const log = await server.store.read((db) => readChanges(db, before, 100));
        assert.ok(log.some((c) => c.resource === 'loadbalancer' && (c.body as { provisioning_status: string }).provisioning_status === 'ACTIVE'), name);
      }
      const idle = await server.store.read(currentRevision);
      await settle(server, t.lbId);
      assert.equal(await server.store.read(currentRevision), idle, 'nothing pending: nothing written');
      await server.store.write((tx) => completeProvisioning(tx, '00000000-0000-4000-8000-000000000000'));
    });

    test('failProvisioning: every pending object and the balancer turn ERROR; an ERROR balancer can only be deleted', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const t = await tree();
      const listener = await lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: t.lbId, protocol: 'UDP', protocol_port: 53 } });
      await server.store.write((tx) => failProvisioning(tx, t.lbId, 'UDP listeners are not served yet'));
      assert.equal((await status(`listeners/${listener.body.listener.id}`)).split('/')[0], 'ERROR');
      assert.equal((await status(`loadbalancers/${t.lbId}`)).split('/')[0], 'ERROR');
      assert.equal((await status(`listeners/${t.listenerId}`)).split('/')[0], 'ACTIVE', 'what was not pending is untouched');
      const row = await server.store.read((db) => db.selectFrom('load_balancers').select('provisioning_error').where('id', '=', t.lbId).executeTakeFirstOrThrow());
      assert.equal(row.provisioning_error, 'UDP listeners are not served yet');
      assertFault(await lb.put(`/v2/lbaas/loadbalancers/${t.lbId}`, { loadbalancer: { name: 'x' } }), 409);
      assert.equal((await lb.delete(`/v2/lbaas/loadbalancers/${t.lbId}?cascade=true`)).status, 204);
      await settle(server, t.lbId);
      assert.equal(await status(`loadbalancers/${t.lbId}`), 'gone');
    });

    test('applyHealth: operating statuses from the master report, logged only when they change; stats summed', async () => {
      const { server } = world;
      const t = await tree();
      const report = (vrrpState: 'MASTER' | 'BACKUP', m2: 'UP' | 'DOWN', active: number): AmphoraHealthReport => ({
        appliedConfigRevision: 1,
        applyError: null,
        haproxy: 'RUNNING',
        vrrpState,
        listeners: { [t.listenerId]: { status: 'OPEN', stats: stats(active) } },
        pools: { [t.poolId]: { status: 'UP', members: { [t.m1]: 'UP', [t.m2]: m2 } } },
      });
      // The backup sees m2 down, the master sees it up: the master's view wins.
      await server.store.write((tx) => applyHealth(tx, t.lbId, [report('BACKUP', 'DOWN', 0), report('MASTER', 'UP', 4)]));
      assert.equal(await status(`loadbalancers/${t.lbId}`), 'ACTIVE/ONLINE');
      assert.equal(await status(`listeners/${t.listenerId}`), 'ACTIVE/ONLINE');
      assert.equal(await status(`pools/${t.poolId}`), 'ACTIVE/ONLINE');
      assert.equal(await status(`pools/${t.poolId}/members/${t.m2}`), 'ACTIVE/ONLINE');
      const statsRow = await server.store.read((db) => db.selectFrom('lb_listener_stats').selectAll().where('listener_id', '=', t.listenerId).executeTakeFirstOrThrow());
      assert.equal(Number(statsRow.active_connections), 4);
      assert.equal(Number(statsRow.bytes_out), 4000);

      const steady = await server.store.read(currentRevision);
      await server.store.write((tx) => applyHealth(tx, t.lbId, [report('MASTER', 'UP', 5)]));
      assert.equal(await server.store.read(currentRevision), steady, 'an unchanged status writes no log entry');

      await server.store.write((tx) => applyHealth(tx, t.lbId, [report('MASTER', 'DOWN', 5)]));
      assert.equal(await status(`pools/${t.poolId}/members/${t.m2}`), 'ACTIVE/ERROR');
      assert.equal(await status(`pools/${t.poolId}`), 'ACTIVE/DEGRADED');
      assert.equal(await status(`loadbalancers/${t.lbId}`), 'ACTIVE/DEGRADED');
      const log = await server.store.read((db) => readChanges(db, steady, 100));
      assert.deepEqual(log.map((c) => `${c.resource}:${(c.body as { operating_status: string }).operating_status}`).sort(), ['loadbalancer:DEGRADED', 'member:ERROR', 'pool:DEGRADED']);

      // An administratively disabled member is OFFLINE whatever its check says.
      await world.alice.lb.put(`/v2/lbaas/pools/${t.poolId}/members/${t.m2}`, { member: { admin_state_up: false } });
      await settle(server, t.lbId);
      await server.store.write((tx) => applyHealth(tx, t.lbId, [report('MASTER', 'DOWN', 5)]));
      assert.equal(await status(`pools/${t.poolId}/members/${t.m2}`), 'ACTIVE/OFFLINE');
    });

    test('setDegraded marks the balancer DEGRADED once', async () => {
      const { server } = world;
      const lbId = await createActiveLb(server, world.alice);
      await server.store.write((tx) => setDegraded(tx, lbId));
      assert.equal(await status(`loadbalancers/${lbId}`), 'ACTIVE/DEGRADED');
      const after = await server.store.read(currentRevision);
      await server.store.write((tx) => setDegraded(tx, lbId));
      assert.equal(await server.store.read(currentRevision), after);
    });
  });
}
