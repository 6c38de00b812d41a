import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/lib/logger.js';
import { FeedHub, type FeedSink } from '../../../src/feed/hub.js';
import { applyFeedMessage, emptyTargetState, type FeedMessage, type HostTargetState } from '../../../src/feed/target-state.js';
import { indexSource } from '../../../src/server/cloudnet/hosts.js';
import { defaultNetworkConfig } from '../../../src/server/network/config.js';
import { createNetworkServices } from '../../../src/server/network/resources/index.js';
import { currentRevision, type LoggedChange } from '../../../src/store/changelog.js';
import type { Store } from '../../../src/store/store.js';
import { DIALECTS } from '../../support/databases.js';
import { jsonClient, type JsonClient } from '../../support/http.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const HOSTS = Array.from({ length: 40 }, (_, i) => `rh${i}`);

/** One agent's stream into the hub: folds what it is sent into the state the agent holds across reconnects. */
function agentSink(host: string, state: HostTargetState, received: FeedMessage[]): FeedSink {
  return {
    host,
    push: (messages) => {
      for (const m of messages) {
        received.push(m);
        applyFeedMessage(state, m);
      }
      return true;
    },
    close: () => undefined,
  };
}

/** Held states compare by content; the order in which items arrived does not matter. */
function normalise(s: HostTargetState) {
  const sorted = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
  return { networks: sorted(s.networks), ports: sorted(s.ports), remotePorts: sorted(s.remotePorts), securityGroups: sorted(s.securityGroups), addressSets: sorted(s.addressSets) };
}

function sliceOf(hub: FeedHub, host: string): HostTargetState {
  const state = emptyTargetState({ name: host, tunnelIp: '', providerInterfaces: {} });
  for (const m of hub.snapshot(host)) applyFeedMessage(state, m);
  return state;
}

for (const dialect of DIALECTS) {
  describe(`feed hub resumes on ${dialect}`, () => {
    let server: TestServer;
    let cloudnet: JsonClient;
    let network: JsonClient;
    const networks: string[] = [];
    const ports: { id: string; host: string }[] = [];
    let web = '';

    before(async () => {
      server = await startTestServer({ dialect });
      const token = await server.issueToken();
      cloudnet = jsonClient(`${server.url}/cloudnet/v1`, token);
      network = jsonClient(`${server.url}/network/v2.0`, token);
      for (const [i, host] of HOSTS.entries()) {
        assert.equal((await cloudnet.put(`/hosts/${host}`, { host: { tunnel_ip: `198.18.0.${20 + i}` } })).status, 200);
      }
      for (const k of [0, 1]) {
        const net = (await network.post('/networks', { network: { name: `resume-${k}` } })).body.network;
        assert.equal((await network.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: `198.18.${30 + k}.0/24` } })).status, 201);
        networks.push(net.id);
      }
      const group = (await network.post('/security-groups', { security_group: { name: 'web' } })).body.security_group;
      web = group.id;
      for (const [i, host] of HOSTS.entries()) await createPort(host, i % 2);
    });
    after(() => server.close());

    async function createPort(host: string, k: number): Promise<void> {
      const r = await network.post('/ports', { port: { network_id: networks[k], 'binding:host_id': host } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ports.push({ id: r.body.port.id, host });
    }

    let n = 0;
    /** Changes of every kind the index judges: ports arriving, moving, leaving, joining groups, group rules. */
    function changes(): (() => Promise<void>)[] {
      const host = () => HOSTS[n++ % HOSTS.length];
      const ok = async (p: Promise<{ status: number; body: unknown }>) => {
        const r = await p;
        assert.ok(r.status < 300, JSON.stringify(r.body));
      };
      return [
        () => createPort(host(), 0),
        () => ok(network.put(`/ports/${ports[0].id}`, { port: { 'binding:host_id': host() } })),
        () => ok(network.put(`/ports/${ports[1].id}`, { port: { security_groups: [web] } })),
        () =>
          ok(
            network.post('/security-group-rules', {
              security_group_rule: { security_group_id: web, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 8000 + n, port_range_max: 8000 + n++, remote_group_id: web },
            }),
          ),
        () => ok(network.put(`/ports/${ports[2].id}`, { port: { allowed_address_pairs: [{ ip_address: '198.18.40.0/28' }] } })),
        () => createPort(host(), 1),
        () => ok(network.put(`/ports/${ports[3].id}`, { port: { security_groups: [web] } })),
        () => ok(network.delete(`/ports/${ports.splice(4, 1)[0].id}`)),
        () => ok(network.put(`/ports/${ports[5].id}`, { port: { 'binding:host_id': host() } })),
        () => createPort(host(), 0),
      ];
    }

    test('many agents resuming at once are caught up by one pass over the log, with changes arriving meanwhile', async () => {
      // The hub reads through this store. While `frozen` is set, its live processing holds every change it reads
      // (and the mutex) until the resume pass has read up to `frozenAt`, where the index stood when the agents
      // returned; each page the pass reads is followed by one more change committed through the API. So those
      // changes are applied exactly while the streams wait to attach, and reach the agents only if the attach
      // judges the index's tail.
      const PAGE = 4;
      let during: (() => Promise<void>)[] = [];
      let frozenAt = 0;
      let frozen: Promise<void> | undefined;
      let thaw = () => undefined as void;
      let pageReads = 0;
      const tapped = Object.create(server.store) as Store;
      tapped.read = async (fn) => {
        const result = await server.store.read(fn);
        if (Array.isArray(result)) {
          pageReads++;
          if (frozen && result.length) await frozen;
        }
        const page = (result as { changes?: LoggedChange[] } | undefined)?.changes;
        if (page) {
          pageReads++;
          const change = during.shift();
          if (change) await change();
          if (page.length && page[page.length - 1].revision >= frozenAt) setTimeout(thaw, 0);
        }
        return result;
      };
      const services = createNetworkServices(defaultNetworkConfig, server.store);
      const hub = new FeedHub(tapped, indexSource(services), createLogger('hub-test', 'warn'), { pageSize: PAGE });
      await hub.start();
      const state = new Map(HOSTS.map((h) => [h, emptyTargetState({ name: h, tunnelIp: '', providerInterfaces: {} })]));
      const received = new Map(HOSTS.map((h) => [h, [] as FeedMessage[]]));
      const holdTheirSlices = async (what: string) => {
        const target = await server.store.read((db) => currentRevision(db));
        // The hub delivers a change to its sinks as it applies it: at the target, every agent has been sent everything.
        for (let i = 0; hub.revision < target; i++) {
          assert.ok(i < 400, `the hub reached ${hub.revision} of ${target}`);
          await new Promise((r) => setTimeout(r, 25));
        }
        for (const h of HOSTS) assert.deepEqual(normalise(state.get(h)!), normalise(sliceOf(hub, h)), `${what}: ${h} holds its slice`);
      };
      try {
        const first = HOSTS.map((h) => agentSink(h, state.get(h)!, []));
        await Promise.all(first.map((sink) => hub.attach(sink, 0)));
        for (const sink of first) hub.detach(sink);

        // While the agents are away, the log grows by several pages.
        for (const change of [...changes(), ...changes()]) await change();

        during = changes();
        frozenAt = hub.revision;
        frozen = new Promise<void>((resolve) => (thaw = resolve));
        pageReads = 0;
        await Promise.all(HOSTS.map((h) => hub.attach(agentSink(h, state.get(h)!, received.get(h)!), state.get(h)!.revision)));
        const readsToResume = pageReads;
        assert.ok(during.length < changes().length, 'changes were committed during the resume');
        during = [];
        await holdTheirSlices('after the resume');
        for (const h of HOSTS) assert.ok(!received.get(h)!.some((m) => m.type === 'snapshot_begin'), `${h} resumed without a snapshot`);
        assert.ok(HOSTS.some((h) => Object.keys(state.get(h)!.addressSets).length > 0), 'the scenario exercised address sets');
        // A resume per agent would read the log's pages once each; one pass reads them once for all.
        assert.ok(readsToResume < HOSTS.length, `${readsToResume} page reads for ${HOSTS.length} resuming agents`);

        for (const change of changes()) await change();
        await holdTheirSlices('live after the resume');
      } finally {
        hub.stop();
      }
    });
  });
}
