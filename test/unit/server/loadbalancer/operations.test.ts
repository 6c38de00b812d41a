import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestServer } from '../../../support/server.js';
import { DIALECTS } from '../../../support/databases.js';
import { jsonClient } from '../../../support/http.js';
import { assertFault, createActiveLb, settle, startLbWorld, type LbWorld } from './support.js';

/** Two amphorae of a balancer, as the provisioning controller records them. */
async function insertAmphorae(server: TestServer, loadBalancerId: string): Promise<string[]> {
  const ids = [randomUUID(), randomUUID()];
  await server.store.write(async (tx) => {
    for (const [i, id] of ids.entries()) {
      await tx.db
        .insertInto('amphorae')
        .values({
          id, loadbalancer_id: loadBalancerId, compute_id: `vm-${i}`, lb_network_ip: `198.18.0.${50 + i}`, vrrp_ip: `198.18.60.${200 + i}`,
          ha_ip: '198.18.60.100', role: i === 0 ? 'MASTER' : 'BACKUP', status: 'ALLOCATED', cert_busy: 0, vrrp_id: 1, vrrp_priority: i === 0 ? 100 : 90,
          host: `host${i + 1}`, failover_requested: 0, created_at: tx.now,
          health: JSON.stringify({
            appliedConfigRevision: 1, applyError: null, haproxy: 'RUNNING', vrrpState: i === 0 ? 'MASTER' : 'BACKUP', pools: {},
            listeners: { l1: { status: 'OPEN', stats: { activeConnections: 2, totalConnections: 9, bytesIn: 10, bytesOut: 20, requestErrors: 0 } } },
          }),
        })
        .execute();
    }
  });
  return ids;
}

for (const dialect of DIALECTS) {
  describe(`Load balancer operations (failover, amphorae, flavors, availability zones, providers, quotas) on ${dialect}`, () => {
    let world: LbWorld;
    before(async () => {
      world = await startLbWorld(dialect);
    });
    after(() => world.close());

    test('amphorae are the admin’s: list, show, stats; failover and config are recorded for the controller', async () => {
      const { server, admin, alice } = world;
      const lbId = await createActiveLb(server, alice);
      const [master, backup] = await insertAmphorae(server, lbId);

      assertFault(await alice.lb.get('/v2/octavia/amphorae'), 403);
      assertFault(await alice.lb.put(`/v2/octavia/amphorae/${master}/failover`, undefined), 403);
      const listed = await admin.get(`/v2/octavia/amphorae?loadbalancer_id=${lbId}`);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.amphorae.map((a: { id: string }) => a.id).sort(), [master, backup].sort());
      const shown = (await admin.get(`/v2/octavia/amphorae/${master}`)).body.amphora;
      assert.equal(shown.role, 'MASTER');
      assert.equal(shown.status, 'ALLOCATED');
      assert.equal(shown.cert_busy, false);
      assert.equal('host' in shown, false, 'cloudnet’s own columns stay in the control plane');
      const stats = await admin.get(`/v2/octavia/amphorae/${master}/stats`);
      assert.deepEqual(stats.body.amphora_stats, [
        { id: master, loadbalancer_id: lbId, listener_id: 'l1', active_connections: 2, bytes_in: 10, bytes_out: 20, request_errors: 0, total_connections: 9 },
      ]);

      assert.equal((await admin.put(`/v2/octavia/amphorae/${master}/config`, undefined)).status, 202);
      assert.equal((await admin.put(`/v2/octavia/amphorae/${backup}/failover`, undefined)).status, 202);
      const marked = await server.store.read((db) => db.selectFrom('amphorae').select(['id', 'failover_requested']).where('loadbalancer_id', '=', lbId).execute());
      assert.deepEqual(Object.fromEntries(marked.map((a) => [a.id, Number(a.failover_requested)])), { [master]: 0, [backup]: 1 });
      assert.equal((await alice.lb.get(`/v2/lbaas/loadbalancers/${lbId}`)).body.loadbalancer.provisioning_status, 'PENDING_UPDATE');
      assertFault(await admin.put(`/v2/lbaas/loadbalancers/${lbId}/failover`, undefined), 409, /immutable/);
      await settle(server, lbId);
      assertFault(await alice.lb.put(`/v2/lbaas/loadbalancers/${lbId}/failover`, undefined), 403);
      assert.equal((await admin.put(`/v2/lbaas/loadbalancers/${lbId}/failover`, undefined)).status, 202);
      const all = await server.store.read((db) => db.selectFrom('amphorae').select('failover_requested').where('loadbalancer_id', '=', lbId).execute());
      assert.deepEqual(all.map((a) => Number(a.failover_requested)), [1, 1]);
    });

    test('providers, flavor profiles and flavors: the topology of a balancer comes from its flavor', async () => {
      const { server, admin, alice } = world;
      const providers = await alice.lb.get('/v2/lbaas/providers');
      assert.deepEqual(providers.body.providers.map((p: { name: string }) => p.name), ['amphora', 'octavia']);
      const capabilities = await admin.get('/v2/lbaas/providers/amphora/flavor_capabilities');
      assert.deepEqual(capabilities.body.flavor_capabilities.map((c: { name: string }) => c.name), ['loadbalancer_topology']);
      assertFault(await admin.get('/v2/lbaas/providers/ovn/flavor_capabilities'), 404);

      const profile = (data: unknown, provider = 'amphora') => admin.post('/v2/lbaas/flavorprofiles', { flavorprofile: { name: 'single', provider_name: provider, flavor_data: JSON.stringify(data) } });
      assertFault(await alice.lb.post('/v2/lbaas/flavorprofiles', { flavorprofile: { name: 'x', provider_name: 'amphora', flavor_data: '{}' } }), 403);
      assertFault(await profile({ loadbalancer_topology: 'TRIPLE' }), 400, /loadbalancer_topology/);
      assertFault(await profile({ compute_flavor: 'm1' }), 400, /does not support/);
      assertFault(await profile({}, 'ovn'), 400, /Provider 'ovn'/);
      const single = await profile({ loadbalancer_topology: 'SINGLE' });
      assert.equal(single.status, 201);
      const profileId = single.body.flavorprofile.id;
      assert.equal(single.body.flavorprofile.flavor_data, '{"loadbalancer_topology":"SINGLE"}');
      assertFault(await alice.lb.get('/v2/lbaas/flavorprofiles'), 403);

      const flavor = await admin.post('/v2/lbaas/flavors', { flavor: { name: 'small', description: 'one amphora', flavor_profile_id: profileId } });
      assert.equal(flavor.status, 201);
      assert.equal(flavor.body.flavor.enabled, true);
      assertFault(await admin.post('/v2/lbaas/flavors', { flavor: { name: 'small', flavor_profile_id: profileId } }), 409);
      assert.deepEqual((await alice.lb.get('/v2/lbaas/flavors')).body.flavors.map((f: { name: string }) => f.name), ['small']);
      assertFault(await admin.put(`/v2/lbaas/flavorprofiles/${profileId}`, { flavorprofile: { name: 'renamed' } }), 409, /in use/);
      assertFault(await admin.delete(`/v2/lbaas/flavorprofiles/${profileId}`), 409);

      const small = await createActiveLb(server, alice, { flavor_id: flavor.body.flavor.id });
      const standard = await createActiveLb(server, alice);
      const topology = async (id: string) => (await server.store.read((db) => db.selectFrom('load_balancers').select('topology').where('id', '=', id).executeTakeFirstOrThrow())).topology;
      assert.equal(await topology(small), 'SINGLE');
      assert.equal(await topology(standard), 'ACTIVE_STANDBY');
      assert.equal((await alice.lb.get(`/v2/lbaas/loadbalancers/${small}`)).body.loadbalancer.flavor_id, flavor.body.flavor.id);

      assert.equal((await admin.put(`/v2/lbaas/flavors/${flavor.body.flavor.id}`, { flavor: { enabled: false } })).status, 200);
      assertFault(await alice.lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: alice.subnetId, flavor_id: flavor.body.flavor.id } }), 400, /not allowed/);
      assertFault(await admin.delete(`/v2/lbaas/flavors/${flavor.body.flavor.id}`), 409, /in use/);
    });

    test('availability zones: profiles are the admin’s, zones are read by members; a balancer names an enabled zone', async () => {
      const { server, admin, alice } = world;
      const capabilities = await admin.get('/v2/lbaas/providers/amphora/availability_zone_capabilities');
      assert.deepEqual(capabilities.body.availability_zone_capabilities.map((c: { name: string }) => c.name), ['compute_zone', 'management_network', 'valid_vip_networks']);
      const one = await admin.get('/v2/lbaas/providers/amphora/availability_zone_capabilities?fields=description&name=compute_zone');
      assert.deepEqual(one.body.availability_zone_capabilities, [{ description: 'The compute availability zone.' }]);
      assertFault(await alice.lb.get('/v2/lbaas/providers/amphora/availability_zone_capabilities'), 403);

      const profiles = '/v2/lbaas/availabilityzoneprofiles';
      const profile = (name: string, data: unknown) => ({ availability_zone_profile: { name, provider_name: 'amphora', availability_zone_data: JSON.stringify(data) } });
      // The plugin's own data: a zone and a management network that need not exist.
      const data = { compute_zone: 'zone-a', management_network: randomUUID() };
      assertFault(await alice.lb.post(profiles, profile('p', data)), 403);
      assertFault(await admin.post(profiles, profile('p', { volume_zone: 'v' })), 501, /does not support a requested option/);
      assertFault(await admin.post(profiles, { availability_zone_profile: { ...profile('p', data).availability_zone_profile, provider_name: 'ovn' } }), 400, /Provider 'ovn'/);
      const created = await admin.post(profiles, profile('p-a', data));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const profileId = created.body.availability_zone_profile.id;
      assert.equal(created.body.availability_zone_profile.availability_zone_data, JSON.stringify(data), 'kept as sent');
      assertFault(await alice.lb.get(profiles), 403);
      assert.deepEqual((await admin.get(`${profiles}?fields=name`)).body.availability_zone_profiles, [{ name: 'p-a' }]);

      const zones = '/v2/lbaas/availabilityzones';
      const zone = await admin.post(zones, { availability_zone: { name: 'zone-a', description: 'first', availability_zone_profile_id: profileId } });
      assert.equal(zone.status, 201, JSON.stringify(zone.body));
      assert.deepEqual(zone.body.availability_zone, { name: 'zone-a', description: 'first', enabled: true, availability_zone_profile_id: profileId });
      assertFault(await admin.post(zones, { availability_zone: { name: 'zone-a', availability_zone_profile_id: profileId } }), 409);
      assertFault(await admin.post(zones, { availability_zone: { name: 'zone-x', availability_zone_profile_id: randomUUID() } }), 404);
      assertFault(await alice.lb.post(zones, { availability_zone: { name: 'zone-m', availability_zone_profile_id: profileId } }), 403);
      assert.deepEqual((await alice.lb.get(zones)).body.availability_zones, [zone.body.availability_zone]);
      assert.equal((await alice.lb.get(`${zones}/zone-a`)).body.availability_zone.description, 'first');
      assertFault(await alice.lb.get(`${zones}/zone-nowhere`), 404, /Availability Zone zone-nowhere could not be found/);

      const balancer = await createActiveLb(server, alice, { availability_zone: 'zone-a' });
      assert.equal((await alice.lb.get(`/v2/lbaas/loadbalancers/${balancer}`)).body.loadbalancer.availability_zone, 'zone-a');
      const inZone = (name: string) => alice.lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: alice.subnetId, availability_zone: name } });
      assertFault(await inZone('zone-nowhere'), 400, /Invalid availability zone/);
      assertFault(await admin.put(`${profiles}/${profileId}`, { availability_zone_profile: { name: 'renamed' } }), 409, /in use/);
      assertFault(await admin.delete(`${profiles}/${profileId}`), 409, /in use/);
      assertFault(await admin.delete(`${zones}/zone-a`), 409, /in use/);
      const disabled = await admin.put(`${zones}/zone-a`, { availability_zone: { enabled: false, description: 'closed' } });
      assert.deepEqual([disabled.status, disabled.body.availability_zone.enabled], [200, false]);
      assertFault(await admin.put(`${zones}/zone-a`, { availability_zone: { name: 'zone-z' } }), 400);
      assertFault(await inZone('zone-a'), 400, /The selected availability_zone is not allowed in this deployment: zone-a/);
      assert.deepEqual((await alice.lb.get(`${zones}?enabled=false&fields=name`)).body.availability_zones, [{ name: 'zone-a' }]);

      // A zone whose profile lists the networks a VIP may be on refuses a VIP elsewhere.
      const elsewhere = await admin.post(profiles, profile('p-b', { valid_vip_networks: [randomUUID()] }));
      await admin.post(zones, { availability_zone: { name: 'zone-b', availability_zone_profile_id: elsewhere.body.availability_zone_profile.id } });
      assertFault(await inZone('zone-b'), 400, /VIP network_id is not allowed/);
      const here = await admin.post(profiles, profile('p-c', { valid_vip_networks: [alice.networkId] }));
      await admin.post(zones, { availability_zone: { name: 'zone-c', availability_zone_profile_id: here.body.availability_zone_profile.id } });
      assert.equal((await inZone('zone-c')).status, 201);

      assert.equal((await admin.delete(`${zones}/zone-b`)).status, 204);
      assert.equal((await admin.delete(`${profiles}/${elsewhere.body.availability_zone_profile.id}`)).status, 204);
      assertFault(await admin.get(`${zones}/zone-b`), 404);
    });

    test('quotas: defaults, per project set and reset by an admin, read by the project, enforced', async () => {
      const { server, admin, bob } = world;
      const defaults = await bob.lb.get('/v2/lbaas/quotas/defaults');
      assert.deepEqual(defaults.body.quota, { load_balancer: -1, listener: -1, pool: -1, health_monitor: -1, member: -1, l7policy: -1, l7rule: -1 });
      assertFault(await bob.lb.put(`/v2/lbaas/quotas/${bob.projectId}`, { quota: { load_balancer: 1 } }), 403);
      assertFault(await admin.put(`/v2/lbaas/quotas/${bob.projectId}`, { quota: { load_balancer: -2 } }), 400);
      assertFault(await admin.put(`/v2/lbaas/quotas/${bob.projectId}`, { quota: { bananas: 1 } }), 400);
      const set = await admin.put(`/v2/lbaas/quotas/${bob.projectId}`, { quota: { load_balancer: 1, listener: 0 } });
      assert.equal(set.status, 202);
      assert.equal(set.body.quota.load_balancer, 1);
      assert.equal((await bob.lb.get(`/v2/lbaas/quotas/${bob.projectId}`)).body.quota.listener, 0);
      assertFault(await bob.lb.get(`/v2/lbaas/quotas/${world.alice.projectId}`), 403);
      assert.deepEqual((await bob.lb.get('/v2/lbaas/quotas')).body.quotas.map((q: { project_id: string }) => q.project_id), [bob.projectId]);
      assert.ok((await admin.get(`/v2/lbaas/quotas?project_id=${bob.projectId}`)).body.quotas[0].load_balancer === 1);

      const lbId = await createActiveLb(server, bob);
      assertFault(await bob.lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: bob.subnetId } }), 403, /Quota has been met for resources: Load Balancer/);
      assertFault(await bob.lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 80 } }), 403, /Listener/);
      // load-balancer_quota_admin: every project's quotas, and nothing else.
      const quotaAdmin = await server.createProjectUser('quota-admin', ['load-balancer_quota_admin']);
      const quotaClient = jsonClient(`${server.url}/load-balancer`, quotaAdmin.token);
      assert.equal((await quotaClient.put(`/v2/lbaas/quotas/${bob.projectId}`, { quota: { pool: 3 } })).status, 202);
      assert.equal((await quotaClient.get(`/v2/lbaas/quotas/${bob.projectId}`)).body.quota.pool, 3);
      assertFault(await quotaClient.get('/v2/lbaas/loadbalancers'), 403);
      assert.equal((await admin.delete(`/v2/lbaas/quotas/${bob.projectId}`)).status, 204);
      assert.equal((await bob.lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 80 } })).status, 201);
    });
  });
}
