import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../../../support/databases.js';
import { startTestServer, type TestServer } from '../../../support/server.js';
import { jsonClient, type JsonClient } from '../../../support/http.js';
import { compactChanges, currentRevision } from '../../../../src/store/changelog.js';

interface Line {
  type: string;
  revision: number;
  resource?: string;
  id?: string;
  action?: string;
  object?: Record<string, unknown> | null;
  previous?: Record<string, unknown> | null;
}

async function readLog(url: string, token: string, since: number): Promise<Line[]> {
  const response = await fetch(`${url}/cloudnet/v1/changes?since=${since}&follow=false`, { headers: { 'x-auth-token': token } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
  return (await response.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

for (const dialect of DIALECTS) {
  describe(`change log feed on ${dialect}`, () => {
    let server: TestServer;
    let token: string;
    let network: JsonClient;

    before(async () => {
      server = await startTestServer({ dialect });
      token = await server.issueToken();
      network = jsonClient(`${server.url}/network/v2.0`, token);
    });
    after(() => server.close());

    test('every object the API shows is in the log with its last state, and the log holds nothing the API does not', async () => {
      const start = await server.store.read((db) => currentRevision(db));
      const net = (await network.post('/networks', { network: { name: 'logged' } })).body.network;
      const subnet = (await network.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.50.0/24' } })).body.subnet;
      const port = (await network.post('/ports', { port: { network_id: net.id, name: 'p' } })).body.port;
      await network.put(`/ports/${port.id}`, { port: { name: 'renamed' } });
      const gone = (await network.post('/ports', { port: { network_id: net.id, name: 'gone' } })).body.port;
      await network.delete(`/ports/${gone.id}`);
      assert.equal((await network.post('/networks', { network: { name: 5 } })).status, 400);

      const lines = await readLog(server.url, token, start);
      const revisions = lines.map((l) => l.revision);
      assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y), 'in revision order');
      assert.equal(new Set(revisions).size, revisions.length, 'each revision once');
      const last = new Map<string, Line>();
      for (const l of lines) last.set(`${l.resource}:${l.id}`, l);

      const shown = {
        [`network:${net.id}`]: (await network.get(`/networks/${net.id}`)).body.network,
        [`subnet:${subnet.id}`]: (await network.get(`/subnets/${subnet.id}`)).body.subnet,
        [`port:${port.id}`]: (await network.get(`/ports/${port.id}`)).body.port,
      };
      for (const [key, object] of Object.entries(shown)) assert.deepEqual(last.get(key)?.object, object, key);
      assert.equal(last.get(`port:${gone.id}`)?.action, 'delete');
      assert.equal(last.get(`port:${gone.id}`)?.object, null);
      assert.equal(last.get(`port:${gone.id}`)?.previous?.name, 'gone');
      const update = lines.find((l) => l.id === port.id && l.action === 'update' && l.object?.name === 'renamed');
      assert.equal(update?.previous?.name, 'p', 'an update carries the state before it');
      for (const [key, l] of last) {
        if (l.action === 'delete') continue;
        const [resource, id] = key.split(':');
        const path = { network: 'networks', subnet: 'subnets', port: 'ports', security_group: 'security-groups', security_group_rule: 'security-group-rules' }[resource!];
        if (path) assert.equal((await network.get(`/${path}/${id}`)).status, 200, `${key} is in the log, so the API shows it`);
      }
    });

    test('a reader behind compaction gets a snapshot of every object, then the changes after it', async () => {
      const through = await server.store.read((db) => currentRevision(db));
      await compactChanges(server.store.db, through);
      const after = (await network.post('/networks', { network: { name: 'after-compaction' } })).body.network;
      const lines = await readLog(server.url, token, 1);
      assert.equal(lines[0].type, 'snapshot_begin');
      const end = lines.findIndex((l) => l.type === 'snapshot_end');
      assert.ok(end > 0);
      const snapshot = lines.slice(1, end);
      const listed = (await network.get('/networks')).body.networks as { id: string }[];
      for (const n of listed.filter((n) => n.id !== after.id)) {
        assert.ok(snapshot.some((l) => l.resource === 'network' && l.object?.id === n.id), `network ${n.id} is in the snapshot`);
      }
      const tail = lines.slice(end + 1);
      assert.ok(tail.some((l) => l.type === 'change' && l.id === after.id) || snapshot.some((l) => l.object?.id === after.id));
    });

    test('only admins read the log, and a bad revision is a 400', async () => {
      const alice = await server.createProjectUser('log-alice');
      const denied = await fetch(`${server.url}/cloudnet/v1/changes?since=0&follow=false`, { headers: { 'x-auth-token': alice.token } });
      assert.equal(denied.status, 403);
      const bad = await fetch(`${server.url}/cloudnet/v1/changes?since=-1`, { headers: { 'x-auth-token': token } });
      assert.equal(bad.status, 400);
      assert.ok(((await bad.json()) as { NeutronError?: unknown }).NeutronError);
    });

    test('a follower sees a change that commits after it connected', async () => {
      const since = await server.store.read((db) => currentRevision(db));
      const controller = new AbortController();
      const response = await fetch(`${server.url}/cloudnet/v1/changes?since=${since}`, { headers: { 'x-auth-token': token }, signal: controller.signal });
      const reader = response.body!.getReader();
      const net = (await network.post('/networks', { network: { name: 'followed' } })).body.network;
      let text = '';
      const deadline = Date.now() + 5000;
      while (!text.includes(net.id) && Date.now() < deadline) {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      // The head came at once, not with the first heartbeat (15 s): the change is the first line.
      const first = JSON.parse(text.split('\n')[0]!) as Line;
      assert.deepEqual([first.type, first.id], ['change', net.id]);
    });
  });
}

test('two servers on one PostgreSQL: concurrent port creates through both get distinct addresses', async () => {
  const first = await startTestServer({ dialect: 'postgres' });
  const second = await startTestServer({ dialect: 'postgres', databaseUrl: first.databaseUrl, adminPassword: first.adminPassword });
  try {
    const a = jsonClient(`${first.url}/network/v2.0`, await first.issueToken());
    const b = jsonClient(`${second.url}/network/v2.0`, await second.issueToken());
    const net = (await a.post('/networks', { network: { name: 'shared-db' } })).body.network;
    await a.post('/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '198.18.52.0/24' } });
    const creates = Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).post('/ports', { port: { network_id: net.id, name: `x${i}` } }));
    const results = await Promise.all(creates);
    assert.deepEqual(results.map((r) => r.status).filter((s) => s !== 201), []);
    const addresses = new Set(results.map((r) => r.body.port.fixed_ips[0].ip_address));
    assert.equal(addresses.size, 120);
    const seenBySecond = await b.get(`/ports?network_id=${net.id}&fields=id`);
    assert.equal(seenBySecond.body.ports.length, 120);
  } finally {
    await second.close();
    await first.close();
  }
});
