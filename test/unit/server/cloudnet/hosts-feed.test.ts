import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../../../support/databases.js';
import { startTestServer, type TestServer } from '../../../support/server.js';
import { jsonClient, readNdjson, type JsonClient } from '../../../support/http.js';
import { apiModules } from '../../../../src/server/apis.js';
import { applyFeedMessage, emptyTargetState, type FeedMessage, type HostTargetState } from '../../../../src/feed/target-state.js';

/** An agent's view of its feed: reads NDJSON lines and folds them into held state, as the host agent does. */
class FeedReader {
  readonly state: HostTargetState;
  readonly messages: FeedMessage[] = [];
  bytes = 0;
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];

  constructor(host: string) {
    this.state = emptyTargetState({ name: host, tunnelIp: '', providerInterfaces: {} });
  }

  async open(url: string, token: string): Promise<void> {
    const response = await fetch(url, { headers: { 'x-auth-token': token }, signal: this.controller.signal });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
    readNdjson<FeedMessage>(response, (message, bytes) => {
      this.bytes += bytes;
      this.messages.push(message);
      applyFeedMessage(this.state, message);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Waits (bounded) until the held state satisfies `ok`. */
  async until(ok: (s: HostTargetState) => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok(this.state)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  close(): void {
    this.controller.abort();
  }
}

for (const dialect of DIALECTS) {
  describe(`host feed on ${dialect}`, () => {
    let server: TestServer;
    let token: string;
    let cloudnet: JsonClient;
    let network: JsonClient;
    let netId: string;

    before(async () => {
      server = await startTestServer({ dialect, apis: apiModules({ agentDownTimeSeconds: 1 }) });
      token = await server.issueToken();
      cloudnet = jsonClient(`${server.url}/cloudnet/v1`, token);
      network = jsonClient(`${server.url}/network/v2.0`, token);
      for (const [host, ip] of [
        ['h1', '198.18.0.11'],
        ['h2', '198.18.0.12'],
      ]) {
        const r = await cloudnet.put(`/hosts/${host}`, { host: { tunnel_ip: ip, provider_interfaces: { public: 'eth-public' } } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      netId = (await network.post('/networks', { network: { name: 'feed' } })).body.network.id;
      await network.post('/subnets', { subnet: { network_id: netId, ip_version: 4, cidr: '198.18.20.0/24' } });
    });
    after(() => server.close());

    test('bad registrations are refused and an unknown host has no feed', async () => {
      assert.equal((await cloudnet.put('/hosts/h9', { host: { tunnel_ip: 'nope' } })).status, 400);
      assert.equal((await cloudnet.put('/hosts/bad name', { host: { tunnel_ip: '198.18.0.9' } })).status, 400);
      assert.equal((await cloudnet.get('/hosts/h9/target')).status, 404);
      const alice = await server.createProjectUser('feed-alice');
      assert.equal((await jsonClient(`${server.url}/cloudnet/v1`, alice.token).get('/hosts/h1/target')).status, 403);
    });

    test('a snapshot, then live changes only to the hosts they concern, then a resume without a snapshot', async () => {
      const p1 = (await network.post('/ports', { port: { network_id: netId, 'binding:host_id': 'h1', name: 'vm1' } })).body.port;
      const h1 = new FeedReader('h1');
      const h2 = new FeedReader('h2');
      await h1.open(`${server.url}/cloudnet/v1/hosts/h1/target?since=0`, token);
      await h2.open(`${server.url}/cloudnet/v1/hosts/h2/target?since=0`, token);
      await h1.until((s) => p1.id in s.ports && s.revision > 0, 'h1 snapshot');
      await h2.until((s) => s.revision > 0, 'h2 snapshot');
      assert.equal(h1.messages[0].type, 'snapshot_begin');
      assert.deepEqual(Object.keys(h1.state.networks), [netId]);
      assert.equal(h1.state.ports[p1.id].mac, p1.mac_address);
      assert.equal(h1.state.ports[p1.id].mtu, 1450);
      assert.equal(Object.keys(h1.state.securityGroups).length, 1, 'the default group');
      assert.deepEqual(Object.keys(h2.state.ports), []);

      // A port on h2 makes h2 join the network (with p1 as a remote port) and reaches h1 as a remote port.
      const p2 = (await network.post('/ports', { port: { network_id: netId, 'binding:host_id': 'h2', name: 'vm2' } })).body.port;
      await h1.until((s) => p2.id in s.remotePorts, 'h1 sees vm2 as remote');
      await h2.until((s) => p2.id in s.ports && p1.id in s.remotePorts, 'h2 holds vm2 and sees vm1');
      assert.equal(h1.state.remotePorts[p2.id].tunnelIp, '198.18.0.12');
      assert.deepEqual(h1.state.remotePorts[p2.id].ipAddresses, p2.fixed_ips.map((f: { ip_address: string }) => f.ip_address));
      // Both ports are in the default group, whose rules admit the group: each host holds its members.
      const group = p1.security_groups[0];
      await h1.until((s) => s.addressSets[group]?.addresses.length === 2, 'h1 holds both members of the default group');

      // A status report changes nothing any host holds: no message goes out for it.
      const before1 = h1.messages.length;
      assert.equal((await cloudnet.post('/hosts/h1/port-status', { ports: { [p1.id]: 'ACTIVE' } })).status, 204);
      assert.equal((await network.get(`/ports/${p1.id}`)).body.port.status, 'ACTIVE');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(h1.messages.slice(before1).filter((m) => m.type === 'upsert' || m.type === 'delete').length, 0);

      // h2 drops off; while it is away vm2 moves to h1. On resume it gets only what changed, no snapshot.
      const held = h2.state.revision;
      h2.close();
      await network.put(`/ports/${p2.id}`, { port: { 'binding:host_id': 'h1' } });
      await h1.until((s) => p2.id in s.ports && !(p2.id in s.remotePorts), 'vm2 local on h1');
      const back = new FeedReader('h2');
      Object.assign(back.state, structuredClone(h2.state));
      await back.open(`${server.url}/cloudnet/v1/hosts/h2/target?since=${held}`, token);
      await back.until((s) => s.revision > held, 'h2 resumed');
      assert.ok(!back.messages.some((m) => m.type === 'snapshot_begin'), 'a resume sends no snapshot');
      assert.deepEqual(back.state.ports, {});
      assert.deepEqual(back.state.networks, {}, 'h2 left the network with its last port');
      assert.deepEqual(back.state.remotePorts, {});
      h1.close();
      back.close();
    });

    test('a host that stops heart-beating is marked down with its ports, and comes back', async () => {
      await cloudnet.put('/hosts/h3', { host: { tunnel_ip: '198.18.0.13' } });
      const port = (await network.post('/ports', { port: { network_id: netId, 'binding:host_id': 'h3' } })).body.port;
      await cloudnet.post('/hosts/h3/port-status', { ports: { [port.id]: 'ACTIVE' } });
      const agentsBefore = (await network.get('/agents?host=h3')).body.agents;
      assert.equal(agentsBefore.length, 1);
      assert.equal(agentsBefore[0].configurations.tunneling_ip, '198.18.0.13');
      const deadline = Date.now() + 10_000;
      let status = 'ACTIVE';
      while (status !== 'DOWN' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        status = (await network.get(`/ports/${port.id}`)).body.port.status;
      }
      assert.equal(status, 'DOWN');
      assert.equal((await network.get('/agents?host=h3')).body.agents[0].alive, false);
      assert.equal((await cloudnet.post('/hosts/h3/heartbeat', undefined)).status, 204);
      assert.equal((await network.get('/agents?host=h3')).body.agents[0].alive, true);
    });
  });
}
