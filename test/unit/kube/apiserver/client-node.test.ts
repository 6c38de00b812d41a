// The official JavaScript client against the stand-in: what the DNS server's informers do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  makeInformer,
  type Informer,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
  type V1EndpointSlice,
  type V1Service,
} from '@kubernetes/client-node';
import { startKubeApiServer } from '../../../../src/kube/apiserver/server.js';
import { kubeConfigFor } from '../../../../src/kube/apiserver/kubeconfig.js';
import { createLogger } from '../../../../src/lib/logger.js';

const quiet = createLogger('kube-apiserver-test', 'warn');

// makeInformer returns a ListWatch, which is also the cache the DNS server reads.
function informer<T extends KubernetesObject>(kc: KubeConfig, path: string, list: ListPromise<T>): Informer<T> & ObjectCache<T> {
  return makeInformer(kc, path, list) as Informer<T> & ObjectCache<T>;
}

function nextEvent<T extends KubernetesObject>(informer: { on(verb: string, cb: (o: T) => void): void; off(verb: string, cb: (o: T) => void): void }, verb: string): Promise<T> {
  return new Promise((resolve) => {
    const handler = (o: T) => {
      informer.off(verb, handler);
      resolve(o);
    };
    informer.on(verb, handler);
  });
}

test('Service and EndpointSlice informers see adds, updates and deletes', async (t) => {
  const server = await startKubeApiServer({ logger: quiet });
  t.after(() => server.close());
  const kc = new KubeConfig();
  kc.loadFromString(kubeConfigFor(server.url));
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);

  const services = informer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
  const slices = informer<V1EndpointSlice>(kc, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', () =>
    discovery.listNamespacedEndpointSlice({ namespace: 'default' }),
  );
  const initial = nextEvent(services, 'add');
  await services.start();
  await slices.start();
  t.after(async () => {
    await services.stop();
    await slices.stop();
  });
  assert.equal((await initial).metadata?.name, 'kubernetes', 'the default/kubernetes Service exists, as in a real cluster');

  const added = nextEvent(services, 'add');
  const created = await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: 'web', labels: { app: 'web' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } },
  });
  assert.match(created.spec?.clusterIP ?? '', /^198\.19\./);
  assert.equal((await added).metadata?.uid, created.metadata?.uid);
  assert.equal(services.get('web', 'default')?.spec?.clusterIP, created.spec?.clusterIP);

  const updated = nextEvent(services, 'update');
  created.metadata!.labels = { app: 'web', tier: 'front' };
  await core.replaceNamespacedService({ name: 'web', namespace: 'default', body: created });
  assert.deepEqual((await updated).metadata?.labels, { app: 'web', tier: 'front' });

  const sliceAdded = nextEvent(slices, 'add');
  await discovery.createNamespacedEndpointSlice({
    namespace: 'default',
    body: {
      metadata: { name: 'web-abc12', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['198.18.1.10'], conditions: { ready: true }, hostname: 'web-0' }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
  });
  assert.deepEqual((await sliceAdded).endpoints?.[0].addresses, ['198.18.1.10']);
  const sliceDeleted = nextEvent(slices, 'delete');
  await discovery.deleteNamespacedEndpointSlice({ name: 'web-abc12', namespace: 'default' });
  assert.equal((await sliceDeleted).metadata?.name, 'web-abc12');

  const deleted = nextEvent(services, 'delete');
  await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
  assert.equal((await deleted).metadata?.name, 'web');
  assert.equal(services.get('web', 'default'), undefined);
});

test('client errors carry the Status the real server sends', async (t) => {
  const server = await startKubeApiServer({ logger: quiet });
  t.after(() => server.close());
  const kc = new KubeConfig();
  kc.loadFromString(kubeConfigFor(server.url));
  const core = kc.makeApiClient(CoreV1Api);
  await assert.rejects(core.readNamespacedService({ name: 'missing', namespace: 'default' }), (e: { code: number; body: string }) => {
    assert.equal(e.code, 404);
    assert.equal(JSON.parse(e.body).reason, 'NotFound');
    return true;
  });
});

test('an informer recovers from 410 Gone by listing again', async (t) => {
  const server = await startKubeApiServer({ logger: quiet, historyLimit: 4 });
  t.after(() => server.close());
  const kc = new KubeConfig();
  kc.loadFromString(kubeConfigFor(server.url));
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = informer(kc, '/api/v1/nodes', () => core.listNode());
  await nodes.start();
  t.after(() => nodes.stop());
  await nodes.stop();
  // While the informer is away, enough changes pass that its resourceVersion is compacted.
  for (let i = 0; i < 12; i++) await core.createNode({ body: { metadata: { name: `node-${i}` } } });
  const seen = new Promise<void>((resolve) => nodes.on('add', (n) => n.metadata?.name === 'node-11' && resolve()));
  await nodes.start();
  await seen;
  assert.equal(nodes.list().length, 12);
});
