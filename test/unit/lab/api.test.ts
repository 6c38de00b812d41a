// The lab's calls to the Network API, against the real server: what `lab up` and `lab vm create` send and read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeystoneSession } from '../../../src/lib/openstack-session.js';
import { vmInterfaceConfig } from '../../../src/lab/addresses.js';
import { CloudApi, CloudApiError } from '../../../src/lab/api.js';
import { bootstrapPublicNetwork } from '../../../src/lab/bootstrap.js';
import { startTestServer, type TestServer } from '../../support/server.js';

let server: TestServer;
let api: CloudApi;

before(async () => {
  server = await startTestServer({ dialect: 'sqlite' });
  const session = new KeystoneSession({ authUrl: `${server.url}/identity/v3`, username: 'admin', password: server.adminPassword, projectName: 'admin' });
  api = new CloudApi(session, server.url);
});
after(() => server.close());

test('the public network: flat on physnet public, external, not shared, with its planned subnet', async () => {
  const record = await bootstrapPublicNetwork(api);
  const network = await api.networkByNameOrId('public');
  assert.equal(network.id, record.id);
  const { body } = await fetch(`${server.url}/network/v2.0/networks/${record.id}`, { headers: { 'x-auth-token': await server.issueToken() } }).then(async (r) => ({ body: (await r.json()) as { network: Record<string, unknown> } }));
  assert.equal(body.network['router:external'], true);
  assert.equal(body.network.shared, false);
  assert.equal(body.network['provider:network_type'], 'flat');
  assert.equal(body.network['provider:physical_network'], 'public');
  assert.deepEqual(record.subnets.map((s) => [s.name, s.cidr, s.gatewayIp]), [['public-subnet', '198.19.0.0/24', '198.19.0.1']]);
});

test('a VM port as the lab makes it, and the interface configuration read from it', async () => {
  const network = await api.createNetwork({ name: 'lab-api-net' });
  const v4 = await api.createSubnet({ network_id: network.id, ip_version: 4, cidr: '198.18.9.0/24', enable_dhcp: false });
  await api.createSubnet({ network_id: network.id, ip_version: 6, cidr: 'fd00:18:9::/64', enable_dhcp: false });
  const port = await api.createPort({ network_id: network.id, project_id: network.project_id, name: 'web', device_owner: 'compute:lab', device_id: 'web', 'binding:host_id': 'host2' });
  assert.equal(port['binding:host_id'], 'host2');
  assert.equal(port.device_owner, 'compute:lab');
  assert.equal(port.status, 'DOWN');
  const config = vmInterfaceConfig(port, await api.subnetsOf(network.id), (await api.networkByNameOrId(network.id)).mtu);
  assert.equal(config.mtu, 1450);
  assert.equal(config.mac, port.mac_address);
  assert.equal(config.addresses.length, 2);
  assert.match(config.addresses[0], /^198\.18\.9\.\d+\/24$/);
  assert.match(config.addresses[1], /^fd00:18:9::[0-9a-f:]+\/64$/);
  assert.deepEqual(config.defaultRoutes, [{ ipVersion: 4, via: v4.gateway_ip }, { ipVersion: 6, via: 'fd00:18:9::1' }]);

  await api.deletePort(port.id);
  await api.deletePort(port.id); // already gone: fine
  await assert.rejects(api.getPort(port.id), (err: CloudApiError) => err.status === 404);
});

test('networks by name: unknown and ambiguous names are errors that say so', async () => {
  await assert.rejects(api.networkByNameOrId('no-such-net'), /no network named 'no-such-net'/);
  await api.createNetwork({ name: 'twin' });
  await api.createNetwork({ name: 'twin' });
  await assert.rejects(api.networkByNameOrId('twin'), /2 networks are named 'twin'; give its id/);
});
