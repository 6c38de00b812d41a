import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../support/server.js';
import { CLI_DIALECT, json, neutron, openstack } from './openstackCli.js';

for (const dialect of [CLI_DIALECT.network]) {
  describe(`openstack CLI against the Network API on ${dialect}`, () => {
    let server: TestServer;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      server = await startTestServer({ dialect });
      env = server.openrcEnv();
    });
    after(async () => server.close());

    test('network, subnet and port create, list, show, set, delete', async () => {
      const net = await json(env, 'network', 'create', '--description', 'from the CLI', '--tag', 'blue', 'cli-net');
      assert.equal(net.name, 'cli-net');
      assert.equal(net.status, 'ACTIVE');
      assert.equal(net['provider:network_type'], 'vxlan');
      assert.deepEqual(net.tags, ['blue']);
      const subnet = await json(
        env, 'subnet', 'create', '--network', 'cli-net', '--subnet-range', '198.18.40.0/24',
        '--allocation-pool', 'start=198.18.40.10,end=198.18.40.20', '--dns-nameserver', '198.18.0.53', 'cli-subnet',
      );
      assert.equal(subnet.cidr, '198.18.40.0/24');
      assert.equal(subnet.gateway_ip, '198.18.40.1');
      assert.deepEqual(subnet.allocation_pools, [{ start: '198.18.40.10', end: '198.18.40.20' }]);
      const port = await json(
        env, 'port', 'create', '--network', 'cli-net', '--fixed-ip', 'subnet=cli-subnet,ip-address=198.18.40.15',
        '--allowed-address', 'ip-address=198.18.128.0/18', '--host', 'host1', 'cli-port',
      );
      assert.deepEqual(port.fixed_ips, [{ subnet_id: subnet.id, ip_address: '198.18.40.15' }]);
      assert.equal(port.binding_host_id, 'host1');
      assert.equal(port.allowed_address_pairs[0].ip_address, '198.18.128.0/18');
      assert.equal((await openstack(env, 'port', 'set', '--name', 'cli-port-2', '--description', 'renamed', 'cli-port')).code, 0);
      const shown = await json(env, 'port', 'show', 'cli-port-2');
      assert.equal(shown.description, 'renamed');
      const listed = await json(env, 'port', 'list', '--network', 'cli-net');
      assert.deepEqual(listed.map((p: { Name: string }) => p.Name), ['cli-port-2']);
      const nets = await json(env, 'network', 'list', '--tags', 'blue');
      assert.deepEqual(nets.map((n: { Name: string }) => n.Name), ['cli-net']);
      assert.equal((await openstack(env, 'network', 'set', '--mtu', '1400', 'cli-net')).code, 0);
      assert.equal((await json(env, 'network', 'show', 'cli-net')).mtu, 1400);

      const inUse = await openstack(env, 'network', 'delete', 'cli-net');
      assert.notEqual(inUse.code, 0);
      assert.match(inUse.stderr, /ports still in use|in use/);
      const taken = await openstack(env, 'port', 'create', '--network', 'cli-net', '--fixed-ip', 'ip-address=198.18.40.15', 'dup');
      assert.notEqual(taken.code, 0);
      assert.match(taken.stderr, /already allocated/);
      assert.equal((await openstack(env, 'port', 'delete', 'cli-port-2')).code, 0);
      assert.equal((await openstack(env, 'subnet', 'delete', 'cli-subnet')).code, 0);
      assert.equal((await openstack(env, 'network', 'delete', 'cli-net')).code, 0);
      assert.deepEqual(await json(env, 'network', 'list'), []);
    });

    // OSC 6.0's `quota set` and `quota show` always build a compute (Nova) client, and this cloud has no compute
    // service; `quota list --network` reads network quotas alone, and the Neutron CLI sets and shows them.
    test('quota set and show (Neutron CLI) and list (openstack CLI)', async () => {
      const project = (await json(env, 'project', 'show', 'admin')).id;
      const set = await neutron(env, 'quota-update', '--tenant-id', project, '--network', '3', '--port', '7');
      assert.equal(set.code, 0, set.stderr);
      const shown = await neutron(env, 'quota-show', '--tenant-id', project, '-f', 'json');
      assert.equal(shown.code, 0, shown.stderr);
      const fields = JSON.parse(shown.stdout) as Record<string, number>;
      assert.equal(fields.network, 3);
      assert.equal(fields.port, 7);
      const listed = await json(env, 'quota', 'list', '--network', '--project', project);
      assert.equal(listed[0].Networks, 3);
      assert.equal(listed[0].Ports, 7);
      const bad = await neutron(env, 'quota-update', '--tenant-id', project, '--network', '-5');
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Invalid input for network/);
    });
  });
}
