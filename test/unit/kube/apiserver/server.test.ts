// The stand-in over HTTP: discovery documents, Status bodies and the watch stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { startKubeApiServer, type KubeApiServer } from '../../../../src/kube/apiserver/server.js';
import { createLogger } from '../../../../src/lib/logger.js';

const quiet = createLogger('kube-apiserver-test', 'warn');

async function call(server: KubeApiServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { code: res.status, contentType: res.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

/** Reads a watch stream line by line; `next()` resolves with each event, or undefined at the end. */
function openWatch(server: KubeApiServer, path: string) {
  const lines: unknown[] = [];
  const waiters: Array<(v: unknown) => void> = [];
  let ended = false;
  let status = 0;
  const req = request(server.url + path, (res) => {
    status = res.statusCode ?? 0;
    const rl = createInterface(res);
    rl.on('error', () => undefined);
    rl.on('line', (line) => {
      const event = JSON.parse(line);
      const w = waiters.shift();
      if (w) w(event);
      else lines.push(event);
    });
    rl.on('close', () => {
      ended = true;
      for (const w of waiters.splice(0)) w(undefined);
    });
  });
  // Destroying the request from the test side is how a client goes away, not a failure.
  req.on('error', () => undefined);
  req.end();
  return {
    next: (): Promise<any> => (lines.length ? Promise.resolve(lines.shift()) : ended ? Promise.resolve(undefined) : new Promise((r) => waiters.push(r))),
    status: () => status,
    close: () => req.destroy(),
  };
}

test('discovery documents describe the served kinds', async (t) => {
  const server = await startKubeApiServer({ logger: quiet });
  t.after(() => server.close());
  const api = await call(server, 'GET', '/api');
  assert.deepEqual([api.body.kind, api.body.versions], ['APIVersions', ['v1']]);
  const core = await call(server, 'GET', '/api/v1');
  assert.equal(core.body.kind, 'APIResourceList');
  const byName = Object.fromEntries(core.body.resources.map((r: { name: string }) => [r.name, r]));
  assert.deepEqual(Object.keys(byName).sort(), ['namespaces', 'namespaces/status', 'nodes', 'nodes/status', 'pods', 'pods/status', 'services', 'services/status']);
  assert.deepEqual([byName.services.kind, byName.services.namespaced, byName.services.shortNames], ['Service', true, ['svc']]);
  assert.deepEqual([byName.nodes.namespaced, byName.nodes.shortNames, byName.namespaces.shortNames, byName.pods.shortNames], [false, ['no'], ['ns'], ['po']]);
  assert.ok(byName.services.verbs.includes('watch'));
  assert.deepEqual(byName['services/status'].verbs, ['get', 'patch', 'update']);
  const groups = await call(server, 'GET', '/apis');
  assert.deepEqual(groups.body.groups.map((g: { name: string }) => g.name), ['discovery.k8s.io']);
  const slices = await call(server, 'GET', '/apis/discovery.k8s.io/v1');
  assert.deepEqual(slices.body.resources.map((r: { name: string }) => r.name), ['endpointslices']);
  assert.equal((await call(server, 'GET', '/apis/discovery.k8s.io')).body.preferredVersion.groupVersion, 'discovery.k8s.io/v1');

  const aggregated = await call(server, 'GET', '/apis', undefined, {
    Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
  });
  assert.equal(aggregated.contentType, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  assert.equal(aggregated.body.items[0].versions[0].resources[0].resource, 'endpointslices');
  assert.equal(aggregated.body.items[0].versions[0].resources[0].scope, 'Namespaced');

  assert.equal((await call(server, 'GET', '/version')).body.major, '1');
  for (const path of ['/healthz', '/readyz', '/livez']) assert.equal((await fetch(server.url + path)).status, 200);
  const openapi = await call(server, 'GET', '/openapi/v3');
  assert.ok(openapi.body.paths['api/v1'].serverRelativeURL.startsWith('/openapi/v3/api/v1?hash='));
  // kubectl before 1.27 asks for OpenAPI v2 in gnostic's protobuf; a 404 there fails its create -f.
  assert.equal((await call(server, 'GET', '/openapi/v2')).body.swagger, '2.0');
  const v2 = await fetch(server.url + '/openapi/v2', { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
  assert.equal(v2.headers.get('content-type'), 'application/octet-stream');
  const pb = Buffer.from(await v2.arrayBuffer());
  // Field 1 (swagger) = "2.0", then field 2 (info), then an empty field 8 (paths).
  assert.deepEqual([...pb.subarray(0, 6)], [0x0a, 3, ...Buffer.from('2.0'), 0x12]);
  assert.deepEqual([...pb.subarray(pb.length - 2)], [0x42, 0]);
});

test('errors are Status objects with the real codes', async (t) => {
  const server = await startKubeApiServer({ logger: quiet });
  t.after(() => server.close());
  const missing = await call(server, 'GET', '/api/v1/namespaces/default/services/nope');
  assert.deepEqual([missing.code, missing.body.kind, missing.body.reason], [404, 'Status', 'NotFound']);
  assert.equal((await call(server, 'GET', '/api/v1/nothing')).body.message, 'the server could not find the requested resource');
  assert.equal((await call(server, 'POST', '/api/v1/namespaces/default/services/x', {})).code, 405);
  const patch = await call(server, 'PATCH', '/api/v1/namespaces/default', { metadata: {} }, { 'Content-Type': 'application/apply-patch+yaml' });
  assert.deepEqual([patch.code, patch.body.reason], [415, 'UnsupportedMediaType']);
  assert.equal((await call(server, 'POST', '/api/v1/namespaces', undefined, { 'Content-Type': 'application/vnd.kubernetes.protobuf' })).code, 415);
  const bad = await fetch(`${server.url}/api/v1/namespaces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
  assert.equal(bad.status, 400);
});

test('create, get, update, patch and delete over HTTP', async (t) => {
  const server = await startKubeApiServer({ logger: quiet });
  t.after(() => server.close());
  const created = await call(server, 'POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
  assert.equal(created.code, 201);
  assert.ok(created.body.spec.ports[0].nodePort >= 30000);
  assert.equal((await call(server, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } })).code, 409);
  const patched = await call(server, 'PATCH', '/api/v1/namespaces/default/services/web', { metadata: { labels: { a: 'b' } } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.deepEqual(patched.body.metadata.labels, { a: 'b' });
  const stale = await call(server, 'PUT', '/api/v1/namespaces/default/services/web', created.body);
  assert.deepEqual([stale.code, stale.body.reason], [409, 'Conflict']);
  const status = await call(server, 'PUT', '/api/v1/namespaces/default/services/web/status', { ...patched.body, status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } } });
  assert.equal(status.body.status.loadBalancer.ingress[0].ip, '203.0.113.1');
  const all = await call(server, 'GET', '/api/v1/services?labelSelector=a%3Db');
  assert.deepEqual(all.body.items.map((s: { metadata: { name: string } }) => s.metadata.name), ['web']);
  const deleted = await call(server, 'DELETE', '/api/v1/namespaces/default/services/web');
  assert.deepEqual([deleted.code, deleted.body.kind], [200, 'Service']);
  const node = await call(server, 'POST', '/api/v1/nodes', { metadata: { name: 'n1' } });
  assert.equal(node.body.metadata.namespace, undefined);
  assert.equal((await call(server, 'GET', '/api/v1/nodes/n1')).code, 200);
  assert.equal((await call(server, 'GET', '/api/v1/namespaces/default/nodes/n1')).code, 404);
});

test('watch streams events, bookmarks, and ends at timeoutSeconds', async (t) => {
  const server = await startKubeApiServer({ logger: quiet, bookmarkIntervalMs: 50 });
  t.after(() => server.close());
  const list = await call(server, 'GET', '/api/v1/namespaces/default/services');
  const w = openWatch(server, `/api/v1/namespaces/default/services?watch=1&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=${list.body.metadata.resourceVersion}`);
  await call(server, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'a' }, spec: { ports: [{ port: 80 }] } });
  const added = await w.next();
  assert.equal(w.status(), 200);
  assert.deepEqual([added.type, added.object.kind, added.object.metadata.name], ['ADDED', 'Service', 'a']);
  let event = await w.next();
  while (event.type !== 'BOOKMARK') event = await w.next();
  assert.deepEqual(event.object, { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: added.object.metadata.resourceVersion } });
  const started = Date.now();
  while ((event = await w.next()) !== undefined) assert.equal(event.type, 'BOOKMARK');
  assert.ok(Date.now() - started < 2500, 'the stream ends at timeoutSeconds');
});

test('a watch from a compacted resourceVersion gets an ERROR event with 410 Expired', async (t) => {
  const server = await startKubeApiServer({ logger: quiet, historyLimit: 4 });
  t.after(() => server.close());
  for (let i = 0; i < 10; i++) await call(server, 'POST', '/api/v1/nodes', { metadata: { name: `n${i}` } });
  const w = openWatch(server, '/api/v1/nodes?watch=true&resourceVersion=2');
  const event = await w.next();
  assert.equal(w.status(), 200);
  assert.equal(event.type, 'ERROR');
  assert.deepEqual([event.object.kind, event.object.apiVersion, event.object.status, event.object.reason, event.object.code], ['Status', 'v1', 'Failure', 'Expired', 410]);
  assert.equal(await w.next(), undefined, 'the stream ends after the error');
});

test('a watch with a malformed selector is refused with 400 before any stream starts', async (t) => {
  const server = await startKubeApiServer({ logger: quiet });
  t.after(() => server.close());
  const res = await call(server, 'GET', '/api/v1/services?watch=1&labelSelector=a%20b');
  assert.deepEqual([res.code, res.body.kind, res.body.reason], [400, 'Status', 'BadRequest']);
});

test('a client that goes away leaves no watcher behind', async (t) => {
  const server = await startKubeApiServer({ logger: quiet });
  t.after(() => server.close());
  const w = openWatch(server, '/api/v1/namespaces?watch=1');
  assert.equal((await w.next()).type, 'ADDED');
  w.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((server.registry.store as unknown as { listeners: Set<unknown> }).listeners.size, 0);
});

test('close() ends open watches', async () => {
  const server = await startKubeApiServer({ logger: quiet });
  const w = openWatch(server, '/api/v1/namespaces?watch=1');
  assert.equal((await w.next()).type, 'ADDED');
  await server.close();
  let e;
  do e = await w.next();
  while (e !== undefined);
});
