import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, INITIAL_NAMESPACES } from '../../../../src/kube/apiserver/registry.js';
import { ObjectStore } from '../../../../src/kube/apiserver/store.js';
import { ServiceNetworking } from '../../../../src/kube/apiserver/services.js';
import { parseCidr } from '../../../../src/kube/apiserver/service-allocator.js';
import { ENDPOINT_SLICES, NAMESPACES, NODES, PODS, SERVICES } from '../../../../src/kube/apiserver/resources.js';
import { ApiError, type Status } from '../../../../src/kube/apiserver/status.js';
import type { WatchEvent } from '../../../../src/kube/apiserver/watch.js';


function registry(historyLimit = 1000): Registry {
  return new Registry({
    store: new ObjectStore(historyLimit),
    services: new ServiceNetworking([parseCidr('198.19.0.0/16')], { first: 30000, last: 32767 }),
  });
}

function statusOf(fn: () => unknown): Status {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e.status;
    throw e;
  }
  assert.fail('expected an ApiError');
}

const service = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, spec: { ports: [{ port: 80 }] } });
const rvOf = (o: { metadata: Record<string, unknown> }) => Number(o.metadata.resourceVersion);

test('the initial namespaces exist; creates get metadata and increasing resourceVersions', () => {
  const r = registry();
  assert.deepEqual((r.list(NAMESPACES, undefined, {}).items as Array<{ metadata: { name: string } }>).map((n) => n.metadata.name), INITIAL_NAMESPACES);
  const a = r.create(SERVICES, 'default', service('a'));
  const b = r.create(SERVICES, 'default', service('b'));
  assert.ok(rvOf(b) > rvOf(a));
  assert.equal(a.kind, 'Service');
  assert.equal(a.apiVersion, 'v1');
  assert.equal(a.metadata.namespace, 'default');
  assert.match(a.metadata.uid as string, /^[0-9a-f-]{36}$/);
  assert.match(a.metadata.creationTimestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const generated = r.create(SERVICES, 'default', { metadata: { generateName: 'web-' }, spec: { ports: [{ port: 80 }] } });
  assert.match(generated.metadata.name as string, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  const slice = r.create(ENDPOINT_SLICES, 'default', { metadata: { name: 'a-1' }, addressType: 'IPv4' });
  assert.equal(slice.metadata.generation, 1);
  assert.equal(slice.endpoints, null);
});

test('create failures are the real Status objects', () => {
  const r = registry();
  r.create(SERVICES, 'default', service('a'));
  assert.deepEqual(statusOf(() => r.create(SERVICES, 'default', service('a'))), {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'services "a" already exists', reason: 'AlreadyExists', details: { name: 'a', kind: 'services' }, code: 409,
  });
  const invalidName = statusOf(() => r.create(SERVICES, 'default', service('Bad_Name')));
  assert.equal(invalidName.code, 422);
  assert.equal(invalidName.reason, 'Invalid');
  assert.match(invalidName.message!, /^Service "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a DNS-1035 label/);
  assert.deepEqual(invalidName.details!.kind, 'Service');
  assert.equal(invalidName.details!.causes![0].field, 'metadata.name');
  const missingNs = statusOf(() => r.create(SERVICES, 'nope', service('a')));
  assert.deepEqual([missingNs.code, missingNs.reason, missingNs.message], [404, 'NotFound', 'namespaces "nope" not found']);
  const wrongNs = statusOf(() => r.create(SERVICES, 'default', { metadata: { name: 'x', namespace: 'kube-system' }, spec: { ports: [{ port: 1 }] } }));
  assert.equal(wrongNs.reason, 'BadRequest');
  const badAddress = statusOf(() => r.create(ENDPOINT_SLICES, 'default', { metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] }));
  assert.deepEqual([badAddress.code, badAddress.details!.causes![0].field], [422, 'endpoints[0].addresses[0]']);
  assert.match(badAddress.message!, /^EndpointSlice.discovery.k8s.io "x" is invalid: endpoints\[0\].addresses\[0\]: Invalid value: "fd00::1": must be a valid IPv4 address$/);
  const sliceStatus = statusOf(() => r.get(ENDPOINT_SLICES, 'default', 'x'));
  assert.equal(sliceStatus.message, 'endpointslices.discovery.k8s.io "x" not found');
  assert.deepEqual(sliceStatus.details, { name: 'x', kind: 'endpointslices', group: 'discovery.k8s.io' });
});

test('update is optimistic: a stale resourceVersion is a Conflict; a no-op writes nothing', () => {
  const r = registry();
  const a = r.create(SERVICES, 'default', service('a'));
  const updated = r.update(SERVICES, 'default', 'a', { ...a, metadata: { ...a.metadata, labels: { x: '1' } } });
  assert.ok(rvOf(updated) > rvOf(a));
  assert.equal(updated.metadata.uid, a.metadata.uid);
  const stale = statusOf(() => r.update(SERVICES, 'default', 'a', a));
  assert.deepEqual([stale.code, stale.reason], [409, 'Conflict']);
  assert.equal(stale.message, 'Operation cannot be fulfilled on services "a": the object has been modified; please apply your changes to the latest version and try again');
  const same = r.update(SERVICES, 'default', 'a', updated);
  assert.equal(same.metadata.resourceVersion, updated.metadata.resourceVersion);
  const reordered = Object.fromEntries(Object.entries(updated).reverse());
  assert.equal(r.update(SERVICES, 'default', 'a', reordered).metadata.resourceVersion, updated.metadata.resourceVersion, 'key order is not a change');
  assert.equal(statusOf(() => r.update(SERVICES, 'default', 'zz', service('zz'))).code, 404);
});

test('status is written only through /status; the main resource keeps it', () => {
  const r = registry();
  const pod = r.create(PODS, 'default', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { podIP: '10.0.0.1' } });
  assert.deepEqual(pod.status, { phase: 'Pending' }, 'create ignores the status sent');
  assert.equal((r.update(PODS, 'default', 'p', { ...pod, status: { podIP: '10.0.0.1' } }, 'status').status as { podIP: string }).podIP, '10.0.0.1');
  const node = r.create(NODES, undefined, { metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: '10.1.0.1' }] } });
  assert.ok(node.status, 'a node is registered with its status');
  const a = r.create(SERVICES, 'default', { ...service('a'), spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
  const ingress = { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } };
  const ignored = r.update(SERVICES, 'default', 'a', { ...a, status: ingress });
  assert.deepEqual(ignored.status, { loadBalancer: {} });
  const written = r.patch(SERVICES, 'default', 'a', 'merge', { status: ingress, spec: { type: 'ClusterIP' } }, 'status');
  assert.deepEqual(written.status, ingress);
  assert.equal((written.spec as { type: string }).type, 'LoadBalancer');
});

test('patch: merge, strategic and json, with a resourceVersion precondition', () => {
  const r = registry();
  r.create(SERVICES, 'default', { metadata: { name: 'a', labels: { app: 'a' } }, spec: { ports: [{ name: 'http', port: 80 }] } });
  const merged = r.patch(SERVICES, 'default', 'a', 'merge', { metadata: { labels: { tier: 'x' } } });
  assert.deepEqual(merged.metadata.labels, { app: 'a', tier: 'x' });
  const strategic = r.patch(SERVICES, 'default', 'a', 'strategic', { spec: { ports: [{ name: 'alt', port: 81 }] } });
  assert.deepEqual((strategic.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port), [80, 81]);
  const json = r.patch(SERVICES, 'default', 'a', 'json', [{ op: 'remove', path: '/metadata/labels/app' }]);
  assert.deepEqual(json.metadata.labels, { tier: 'x' });
  assert.equal(statusOf(() => r.patch(SERVICES, 'default', 'a', 'merge', { metadata: { resourceVersion: '1' } })).reason, 'Conflict');
  assert.equal(statusOf(() => r.patch(SERVICES, 'default', 'a', 'json', [{ op: 'test', path: '/metadata/name', value: 'b' }])).code, 422);
});

test('delete answers with the object or a Success Status and frees the addresses', () => {
  const r = registry();
  const a = r.create(SERVICES, 'default', { ...service('a'), spec: { clusterIP: '198.19.5.5', ports: [{ port: 80 }] } });
  const deleted = r.delete(SERVICES, 'default', 'a');
  assert.equal(deleted.kind, 'Service');
  assert.ok(rvOf(deleted as typeof a) > rvOf(a));
  r.create(SERVICES, 'default', { ...service('b'), spec: { clusterIP: '198.19.5.5', ports: [{ port: 80 }] } });
  r.create(ENDPOINT_SLICES, 'default', { metadata: { name: 's' }, addressType: 'IPv4', endpoints: [] });
  const status = r.delete(ENDPOINT_SLICES, 'default', 's') as Status;
  assert.deepEqual([status.kind, status.status, status.details!.name, status.details!.group], ['Status', 'Success', 's', 'discovery.k8s.io']);
  assert.equal(statusOf(() => r.delete(SERVICES, 'default', 'b', { preconditions: { uid: 'other' } })).reason, 'Conflict');
});

test('deleting a namespace deletes what it holds; the built-in ones may not be deleted', () => {
  const r = registry();
  r.create(NAMESPACES, undefined, { metadata: { name: 'team' } });
  r.create(SERVICES, 'team', service('a'));
  r.create(PODS, 'team', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  const events: WatchEvent[] = [];
  r.watch(SERVICES, undefined, { resourceVersion: String(r.store.resourceVersion()) }, (e) => events.push(e), () => undefined);
  const ns = r.delete(NAMESPACES, undefined, 'team') as unknown as { status: { phase: string } };
  assert.equal(ns.status.phase, 'Terminating');
  assert.deepEqual(r.list(SERVICES, 'team', {}).items, []);
  assert.deepEqual(r.list(PODS, 'team', {}).items, []);
  assert.deepEqual(events.map((e) => e.type), ['DELETED']);
  assert.equal(statusOf(() => r.get(NAMESPACES, undefined, 'team')).code, 404);
  assert.equal(statusOf(() => r.delete(NAMESPACES, undefined, 'kube-system')).code, 403);
});

test('list: selectors, cluster-wide, paging with continue, and resourceVersion semantics', () => {
  const r = registry(1000);
  r.create(NAMESPACES, undefined, { metadata: { name: 'other' } });
  for (const name of ['c', 'a', 'b']) r.create(SERVICES, 'default', service(name, { app: name }));
  r.create(SERVICES, 'other', service('a', { app: 'a' }));
  const names = (list: Record<string, unknown>) => (list.items as Array<{ metadata: { name: string; namespace: string } }>).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  assert.deepEqual(names(r.list(SERVICES, undefined, { labelSelector: 'app in (a,b)' })), ['default/a', 'default/b', 'other/a']);
  assert.deepEqual(names(r.list(SERVICES, 'default', { fieldSelector: 'metadata.name!=b', labelSelector: 'app' })), ['default/a', 'default/c']);
  const list = r.list(SERVICES, 'default', {});
  assert.equal((list.items as Array<Record<string, unknown>>)[0].kind, undefined, 'list items carry no kind');
  assert.equal(list.kind, 'ServiceList');

  const page1 = r.list(SERVICES, undefined, { limit: 2 });
  const meta1 = page1.metadata as { continue: string; remainingItemCount: number; resourceVersion: string };
  assert.deepEqual(names(page1), ['default/a', 'default/b']);
  assert.equal(meta1.remainingItemCount, 2);
  r.create(SERVICES, 'default', service('bb'));
  r.delete(SERVICES, 'other', 'a');
  const page2 = r.list(SERVICES, undefined, { limit: 2, continue: meta1.continue });
  // The continuation is consistent with the first page: the later writes do not show.
  assert.deepEqual(names(page2), ['default/c', 'other/a']);
  assert.equal((page2.metadata as { resourceVersion: string }).resourceVersion, meta1.resourceVersion);

  const current = r.store.resourceVersion();
  assert.equal(statusOf(() => r.list(SERVICES, undefined, { resourceVersion: String(current + 5) })).code, 504);
  assert.equal(statusOf(() => r.list(SERVICES, undefined, { resourceVersionMatch: 'Exact' })).code, 400);
  const exact = r.list(SERVICES, 'other', { resourceVersion: meta1.resourceVersion, resourceVersionMatch: 'Exact' });
  assert.deepEqual(names(exact), ['other/a']);
  assert.equal(statusOf(() => r.list(SERVICES, undefined, { labelSelector: 'a b' })).code, 400);
  assert.equal(statusOf(() => r.list(SERVICES, undefined, { fieldSelector: 'spec.nope=1' })).code, 400);
});

test('a continue token or resourceVersion older than the history window is 410 Expired', () => {
  const r = registry(4);
  for (const name of ['a', 'b', 'c']) r.create(SERVICES, 'default', service(name));
  const page = r.list(SERVICES, 'default', { limit: 1 });
  const token = (page.metadata as { continue: string }).continue;
  for (let i = 0; i < 10; i++) r.patch(SERVICES, 'default', 'a', 'merge', { metadata: { labels: { i: String(i) } } });
  const expired = statusOf(() => r.list(SERVICES, 'default', { limit: 1, continue: token }));
  assert.deepEqual([expired.code, expired.reason], [410, 'Expired']);
  assert.match(expired.message!, /^The provided continue parameter is too old/);
  const fromNow: WatchEvent[] = [];
  r.watch(SERVICES, 'default', { resourceVersion: '0', sendInitialEvents: false }, (e) => fromNow.push(e), () => assert.fail('not expired'));
  r.patch(SERVICES, 'default', 'b', 'merge', { metadata: { labels: { late: 'yes' } } });
  assert.deepEqual(fromNow.map((e) => e.type), ['MODIFIED']);
  const events: WatchEvent[] = [];
  let ended = false;
  r.watch(SERVICES, 'default', { resourceVersion: '1' }, (e) => events.push(e), () => (ended = true));
  assert.equal(ended, true);
  assert.equal(events.length, 1);
  const status = events[0].object as Status;
  assert.equal(events[0].type, 'ERROR');
  assert.deepEqual([status.kind, status.code, status.reason], ['Status', 410, 'Expired']);
  assert.match(status.message!, /^too old resource version: 1 \(\d+\)$/);
});

test('watch: start semantics, backlog replay and selector transitions', () => {
  const r = registry();
  r.create(SERVICES, 'default', service('a', { app: 'web' }));
  const startRv = String(r.store.resourceVersion());
  r.create(SERVICES, 'default', service('b', { app: 'web' }));

  const fromNow: WatchEvent[] = [];
  r.watch(SERVICES, 'default', {}, (e) => fromNow.push(e), () => undefined);
  assert.deepEqual(fromNow.map((e) => `${e.type} ${(e.object as { metadata: { name: string } }).metadata.name}`), ['ADDED a', 'ADDED b']);

  const replay: WatchEvent[] = [];
  r.watch(SERVICES, 'default', { resourceVersion: startRv }, (e) => replay.push(e), () => undefined);
  assert.deepEqual(replay.map((e) => e.type), ['ADDED']);

  const selected: WatchEvent[] = [];
  const w = r.watch(SERVICES, 'default', { resourceVersion: startRv, labelSelector: 'app=web', allowWatchBookmarks: true, sendInitialEvents: true }, (e) => selected.push(e), () => undefined);
  const initial = selected.splice(0);
  assert.deepEqual(initial.map((e) => e.type), ['ADDED', 'ADDED', 'BOOKMARK']);
  assert.deepEqual((initial[2].object as { metadata: unknown }).metadata, { resourceVersion: String(r.store.resourceVersion()), annotations: { 'k8s.io/initial-events-end': 'true' } });

  r.patch(SERVICES, 'default', 'a', 'merge', { metadata: { labels: { app: 'db' } } });
  r.patch(SERVICES, 'default', 'a', 'merge', { metadata: { labels: { app: 'web' } } });
  r.patch(SERVICES, 'default', 'a', 'merge', { metadata: { labels: { extra: '1' } } });
  r.create(SERVICES, 'default', service('other', { app: 'db' }));
  r.delete(SERVICES, 'default', 'b');
  assert.deepEqual(selected.map((e) => e.type), ['DELETED', 'ADDED', 'MODIFIED', 'DELETED']);
  const deletedA = selected[0].object as { metadata: { resourceVersion: string; labels: Record<string, string> } };
  assert.deepEqual(deletedA.metadata.labels, { app: 'web' }, 'the watcher is told the last state it could see');
  const bookmark = w.bookmark();
  assert.equal(bookmark.type, 'BOOKMARK');
  assert.deepEqual(bookmark.object, { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: String(r.store.resourceVersion()) } });
  w.stop();
  r.delete(SERVICES, 'default', 'a');
  assert.equal(selected.length, 4, 'a stopped watcher hears nothing');
});

test('with a deletion delay a namespace stays Terminating, refusing new content, then goes', async () => {
  const r = new Registry({
    store: new ObjectStore(100),
    services: new ServiceNetworking([parseCidr('198.19.0.0/16')], { first: 30000, last: 32767 }),
    namespaceDeletionDelayMs: 20,
  });
  r.create(NAMESPACES, undefined, { metadata: { name: 'team' } });
  r.create(SERVICES, 'team', service('a'));
  r.delete(NAMESPACES, undefined, 'team');
  assert.equal((r.get(NAMESPACES, undefined, 'team').status as { phase: string }).phase, 'Terminating');
  assert.equal(r.get(SERVICES, 'team', 'a').metadata.name, 'a');
  assert.equal(statusOf(() => r.create(SERVICES, 'team', service('b'))).code, 403);
  assert.equal(statusOf(() => r.delete(NAMESPACES, undefined, 'team')).reason, 'Conflict');
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(statusOf(() => r.get(NAMESPACES, undefined, 'team')).code, 404);
  assert.equal(statusOf(() => r.get(SERVICES, 'team', 'a')).code, 404);
  r.close();
});

test('dryRun runs a write through validation and allocation without storing it', () => {
  const r = registry();
  const before = r.store.resourceVersion();
  const dry = r.create(SERVICES, 'default', { ...service('a'), spec: { clusterIP: '198.19.9.9', ports: [{ port: 80 }] } }, { dryRun: true });
  assert.equal(dry.metadata.resourceVersion, undefined);
  assert.equal((dry.spec as { clusterIP: string }).clusterIP, '198.19.9.9');
  assert.equal(r.store.resourceVersion(), before);
  assert.equal(statusOf(() => r.get(SERVICES, 'default', 'a')).code, 404);
  const real = r.create(SERVICES, 'default', { ...service('a'), spec: { clusterIP: '198.19.9.9', ports: [{ port: 80 }] } });
  assert.equal(statusOf(() => r.create(SERVICES, 'default', service('a'), { dryRun: true })).reason, 'AlreadyExists');
  const patched = r.patch(SERVICES, 'default', 'a', 'merge', { spec: { type: 'NodePort' } }, undefined, { dryRun: true });
  assert.ok((patched.spec as { ports: Array<{ nodePort: number }> }).ports[0].nodePort >= 30000);
  assert.equal(r.get(SERVICES, 'default', 'a').metadata.resourceVersion, real.metadata.resourceVersion);
  r.delete(SERVICES, 'default', 'a', { dryRun: true });
  assert.equal(r.get(SERVICES, 'default', 'a').metadata.uid, real.metadata.uid);
  r.deleteCollection(SERVICES, 'default', {}, { dryRun: true });
  assert.equal((r.list(SERVICES, 'default', {}).items as unknown[]).length, 1);
});
