import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from '../../support/server.js';
import { lbUser, settle, startLbApiServer, type LbUser } from '../../unit/server/loadbalancer/support.js';
import { CLI_DIALECT, json, openstack } from './openstackCli.js';

// The server mounts no balancer controller (it would race the test): between CLI writes the test completes
// provisioning itself, through the same lifecycle function the controller calls.
for (const dialect of [CLI_DIALECT.loadbalancer]) {
  describe(`openstack loadbalancer CLI against the Load Balancer API on ${dialect}`, () => {
    let server: TestServer;
    let alice: LbUser;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      server = await startLbApiServer(dialect);
      alice = await lbUser(server, 'alice', '198.18.70.0/24');
      env = server.openrcEnv('alice');
    });
    after(async () => server.close());

    test('loadbalancer, listener, pool, member and health monitor: create, show, status, set, list, cascade delete', async () => {
      const lb = await json(env, 'loadbalancer', 'create', '--name', 'cli-lb', '--vip-subnet-id', alice.subnetId, '--vip-address', '198.18.70.10', '--tag', 'web');
      assert.equal(lb.name, 'cli-lb');
      assert.equal(lb.provisioning_status, 'PENDING_CREATE');
      assert.equal(lb.vip_address, '198.18.70.10');
      assert.equal(lb.vip_network_id, alice.networkId);
      assert.equal(lb.provider, 'amphora');

      const busy = await openstack(env, 'loadbalancer', 'listener', 'create', '--protocol', 'HTTP', '--protocol-port', '80', 'cli-lb');
      assert.notEqual(busy.code, 0);
      assert.match(busy.stderr, /immutable and cannot be updated.*\(HTTP 409\)/);
      await settle(server, lb.id);

      const shown = await json(env, 'loadbalancer', 'show', 'cli-lb');
      assert.equal(shown.id, lb.id);
      assert.equal(shown.provisioning_status, 'ACTIVE');
      assert.equal(shown.tags, 'web');

      const listener = await json(env, 'loadbalancer', 'listener', 'create', '--name', 'cli-http', '--protocol', 'HTTP', '--protocol-port', '80',
        '--insert-headers', 'X-Forwarded-For=true', '--allowed-cidr', '198.18.0.0/15', '--timeout-client-data', '30000', 'cli-lb');
      assert.equal(listener.protocol, 'HTTP');
      assert.equal(listener.provisioning_status, 'PENDING_CREATE');
      assert.equal(listener.timeout_client_data, 30000);
      await settle(server, lb.id);

      const bad = await openstack(env, 'loadbalancer', 'pool', 'create', '--listener', 'cli-http', '--protocol', 'TCP', '--lb-algorithm', 'ROUND_ROBIN');
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /pool protocol 'TCP' is invalid while the listener protocol is 'HTTP'/);
      const pool = await json(env, 'loadbalancer', 'pool', 'create', '--name', 'cli-pool', '--listener', 'cli-http', '--protocol', 'PROXY',
        '--lb-algorithm', 'LEAST_CONNECTIONS', '--session-persistence', 'type=SOURCE_IP');
      assert.equal(pool.lb_algorithm, 'LEAST_CONNECTIONS');
      await settle(server, lb.id);

      const member = await json(env, 'loadbalancer', 'member', 'create', '--name', 'cli-m1', '--address', '198.18.70.21', '--protocol-port', '8080', '--weight', '5', 'cli-pool');
      assert.equal(member.operating_status, 'NO_MONITOR');
      assert.equal(member.weight, 5);
      await settle(server, lb.id);
      const monitor = await json(env, 'loadbalancer', 'healthmonitor', 'create', '--name', 'cli-hm', '--delay', '5', '--timeout', '3', '--max-retries', '3',
        '--type', 'HTTP', '--url-path', '/healthz', 'cli-pool');
      assert.equal(monitor.type, 'HTTP');
      assert.equal(monitor.url_path, '/healthz');
      await settle(server, lb.id);

      const status = await openstack(env, 'loadbalancer', 'status', 'show', 'cli-lb');
      assert.equal(status.code, 0, status.stderr);
      const tree = JSON.parse(status.stdout);
      assert.equal(tree.loadbalancer.listeners[0].pools[0].members[0].address, '198.18.70.21');
      assert.equal(tree.loadbalancer.listeners[0].pools[0].health_monitor.name, 'cli-hm');

      assert.equal((await openstack(env, 'loadbalancer', 'set', '--name', 'cli-lb-2', 'cli-lb')).code, 0);
      await settle(server, lb.id);
      const refused = await openstack(env, 'loadbalancer', 'delete', 'cli-lb-2');
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /it has children/);
      const deleted = await openstack(env, 'loadbalancer', 'delete', '--cascade', 'cli-lb-2');
      assert.equal(deleted.code, 0, deleted.stderr);
      const listed = await json(env, 'loadbalancer', 'list');
      assert.deepEqual(listed.map((x: { name: string; provisioning_status: string }) => [x.name, x.provisioning_status]), [['cli-lb-2', 'PENDING_DELETE']]);
      await settle(server, lb.id);
      assert.equal((await server.store.read((db) => db.selectFrom('load_balancers').select('id').execute())).length, 0);
    });
  });
}

describe('openstack loadbalancer CLI: L7, flavors, quotas, providers, amphorae (SQLite)', () => {
  let server: TestServer;
  let alice: LbUser;
  let admin: NodeJS.ProcessEnv;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    server = await startLbApiServer('sqlite');
    alice = await lbUser(server, 'alice', '198.18.71.0/24');
    admin = server.openrcEnv();
    env = server.openrcEnv('alice');
  });
  after(async () => server.close());

  test('flavor profile and flavor, quota set and show, L7 policy and rule, provider and amphora lists', async () => {
    const profile = await json(admin, 'loadbalancer', 'flavorprofile', 'create', '--name', 'single', '--provider', 'amphora', '--flavor-data', '{"loadbalancer_topology": "SINGLE"}');
    assert.equal(profile.provider_name, 'amphora');
    const flavor = await json(admin, 'loadbalancer', 'flavor', 'create', '--name', 'small', '--flavorprofile', 'single', '--description', 'one amphora', '--enable');
    assert.equal(flavor.flavor_profile_id, profile.id);

    const set = await json(admin, 'loadbalancer', 'quota', 'set', '--loadbalancer', '2', '--l7policy', '5', alice.projectId);
    assert.equal(set.load_balancer, 2);
    const shown = await json(env, 'loadbalancer', 'quota', 'show', alice.projectId);
    assert.deepEqual([shown.load_balancer, shown.l7policy, shown.listener], [2, 5, -1]);

    const lb = await json(env, 'loadbalancer', 'create', '--name', 'l7-lb', '--vip-subnet-id', alice.subnetId, '--flavor', 'small');
    assert.equal(lb.flavor_id, flavor.id);
    await settle(server, lb.id);
    const listener = await json(env, 'loadbalancer', 'listener', 'create', '--name', 'web', '--protocol', 'HTTP', '--protocol-port', '80', 'l7-lb');
    await settle(server, lb.id);
    const policy = await json(env, 'loadbalancer', 'l7policy', 'create', '--action', 'REDIRECT_TO_URL', '--redirect-url', 'https://example.com/', '--name', 'to-example', listener.id);
    assert.equal(policy.position, 1);
    assert.equal(policy.redirect_http_code, 302);
    await settle(server, lb.id);
    const rule = await json(env, 'loadbalancer', 'l7rule', 'create', '--type', 'PATH', '--compare-type', 'STARTS_WITH', '--value', '/old', policy.id);
    assert.equal(rule.type, 'PATH');
    assert.equal(rule.provisioning_status, 'PENDING_CREATE');

    const providers = await json(env, 'loadbalancer', 'provider', 'list');
    assert.deepEqual(providers.map((p: { name: string }) => p.name), ['amphora', 'octavia']);
    assert.deepEqual(await json(admin, 'loadbalancer', 'amphora', 'list'), []);
    const denied = await openstack(env, 'loadbalancer', 'amphora', 'list');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Policy does not allow this request to be performed/);
  });
});

