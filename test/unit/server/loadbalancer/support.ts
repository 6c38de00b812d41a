import assert from 'node:assert/strict';
import type { DialectName } from '../../../../src/store/database.js';
import { completeProvisioning } from '../../../../src/server/loadbalancer/lifecycle.js';
import { createLoadBalancerApi } from '../../../../src/server/loadbalancer/routes.js';
import { createNetworkApi } from '../../../../src/server/network/routes.js';
import { startTestServer, type ProjectUser, type TestServer } from '../../../support/server.js';
import { jsonClient, type JsonClient } from '../../../support/http.js';

/** A project member who manages balancers: `member` for the Network API, load-balancer_member for the LB API. */
export const LB_MEMBER = ['member', 'load-balancer_member'];

export interface LbWorld {
  server: TestServer;
  admin: JsonClient;
  /** Project users with LB_MEMBER, each with a network and subnet of its own for VIPs. */
  alice: LbUser;
  bob: LbUser;
  close(): Promise<void>;
}

export interface LbUser extends ProjectUser {
  lb: JsonClient;
  subnetId: string;
  networkId: string;
}

/**
 * The Network and Load Balancer APIs without cloudnet's own API, whose provisioning controller would race the
 * test: these tests play the controller themselves with its real lifecycle functions (`settle`), and without a
 * compute service the controller would turn every new balancer to ERROR.
 */
export function startLbApiServer(dialect: DialectName): Promise<TestServer> {
  return startTestServer({ dialect, apis: [createNetworkApi(), createLoadBalancerApi()] });
}

export async function startLbWorld(dialect: DialectName): Promise<LbWorld> {
  const server = await startLbApiServer(dialect);
  const admin = jsonClient(`${server.url}/load-balancer`, await server.issueToken());
  return {
    server,
    admin,
    alice: await lbUser(server, 'alice', '198.18.60.0/24'),
    bob: await lbUser(server, 'bob', '198.18.61.0/24'),
    close: () => server.close(),
  };
}

export async function lbUser(server: TestServer, name: string, cidr: string, roles = LB_MEMBER): Promise<LbUser> {
  const user = await server.createProjectUser(name, roles);
  const net = jsonClient(`${server.url}/network`, user.token);
  const network = await net.post('/v2.0/networks', { network: { name: `${name}-net` } });
  assert.equal(network.status, 201, JSON.stringify(network.body));
  const subnet = await net.post('/v2.0/subnets', { subnet: { network_id: network.body.network.id, cidr, ip_version: 4 } });
  assert.equal(subnet.status, 201, JSON.stringify(subnet.body));
  return { ...user, lb: jsonClient(`${server.url}/load-balancer`, user.token), subnetId: subnet.body.subnet.id, networkId: network.body.network.id };
}

/** What the provisioning controller does once the amphorae run the latest tree. */
export async function settle(server: TestServer, loadBalancerId: string): Promise<void> {
  await server.store.write((tx) => completeProvisioning(tx, loadBalancerId));
}

export async function createActiveLb(server: TestServer, user: LbUser, body: Record<string, unknown> = {}): Promise<string> {
  const created = await user.lb.post('/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: user.subnetId, ...body } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await settle(server, created.body.loadbalancer.id);
  return created.body.loadbalancer.id;
}

/** Creates a child with `post`, checks 201, settles its balancer, returns the created object's id. */
export async function createSettled(server: TestServer, client: JsonClient, path: string, body: unknown, loadBalancerId: string): Promise<string> {
  const created = await client.post(path, body);
  assert.equal(created.status, 201, `${path}: ${JSON.stringify(created.body)}`);
  await settle(server, loadBalancerId);
  const member = Object.values(created.body as Record<string, { id: string }>)[0];
  return member.id;
}

/** Octavia's fault body: faultcode, faultstring, debuginfo. */
export function assertFault(response: { status: number; body: any }, status: number, message?: RegExp): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['debuginfo', 'faultcode', 'faultstring']);
  assert.equal(response.body.faultcode, status >= 500 ? 'Server' : 'Client');
  assert.equal(response.body.debuginfo, null);
  if (message) assert.match(response.body.faultstring, message);
}
