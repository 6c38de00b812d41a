// A minimal Kubernetes API for DNS tests: list and watch of Namespaces, Services, EndpointSlices
// and Pods, enough for @kubernetes/client-node informers. The project's kube-apiserver stand-in
// replaces it once merged; this keeps the DNS tests independent of it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown };

const RESOURCES: Record<string, { kind: string; apiVersion: string }> = {
  '/api/v1/namespaces': { kind: 'Namespace', apiVersion: 'v1' },
  '/api/v1/services': { kind: 'Service', apiVersion: 'v1' },
  '/apis/discovery.k8s.io/v1/endpointslices': { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' },
  '/api/v1/pods': { kind: 'Pod', apiVersion: 'v1' },
};

export interface FakeKubeApi {
  url: string;
  upsert(path: keyof typeof RESOURCES | string, obj: Obj): void;
  remove(path: string, namespace: string | undefined, name: string): void;
  // How many list requests each resource got (tests of restart behaviour).
  lists: Map<string, number>;
  close(): Promise<void>;
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  let revision = 1;
  const stores = new Map<string, Map<string, Obj>>(Object.keys(RESOURCES).map((p) => [p, new Map()]));
  const watchers = new Map<string, Set<ServerResponse>>(Object.keys(RESOURCES).map((p) => [p, new Set()]));
  const lists = new Map<string, number>();
  const key = (o: Obj): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

  // Every change, so a watch from resourceVersion N replays what happened after N, as the real
  // API server does; a client that listed at N then watches misses nothing.
  const history: { path: string; revision: number; line: string }[] = [];
  const emit = (path: string, type: string, obj: Obj): void => {
    const line = JSON.stringify({ type, object: { apiVersion: RESOURCES[path].apiVersion, kind: RESOURCES[path].kind, ...obj } }) + '\n';
    history.push({ path, revision, line });
    for (const w of watchers.get(path)!) w.write(line);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const resource = RESOURCES[path];
    if (!resource) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const since = Number(url.searchParams.get('resourceVersion') || revision);
      for (const e of history) if (e.path === path && e.revision > since) res.write(e.line);
      watchers.get(path)!.add(res);
      req.on('close', () => watchers.get(path)!.delete(res));
      return;
    }
    lists.set(path, (lists.get(path) ?? 0) + 1);
    // limit/continue paging; the continue token is simply the offset (good enough for tests).
    const all = [...stores.get(path)!.values()];
    const limit = Number(url.searchParams.get('limit') || all.length || 1);
    const offset = Number(url.searchParams.get('continue') || 0);
    const items = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? String(offset + limit) : undefined;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ apiVersion: resource.apiVersion, kind: `${resource.kind}List`, metadata: { resourceVersion: String(revision), ...(next ? { continue: next } : {}) }, items }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    lists,
    upsert(path, obj) {
      const store = stores.get(path)!;
      revision++;
      const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
      const existed = store.has(key(stored));
      store.set(key(stored), stored);
      emit(path, existed ? 'MODIFIED' : 'ADDED', stored);
    },
    remove(path, namespace, name) {
      const store = stores.get(path)!;
      const k = `${namespace ?? ''}/${name}`;
      const old = store.get(k);
      if (!old) return;
      store.delete(k);
      revision++;
      emit(path, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: String(revision) } });
    },
    async close() {
      for (const set of watchers.values()) for (const w of set) w.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// Object builders for the shapes tests use.
export const k8s = {
  namespace: (name: string): Obj => ({ metadata: { name } }),
  service: (namespace: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Obj => ({ metadata: { namespace, name, labels }, spec }),
  slice: (namespace: string, name: string, service: string, addressType: 'IPv4' | 'IPv6', endpoints: unknown[], ports: unknown[], annotations?: Record<string, string>, labels?: Record<string, string>): Obj => ({
    metadata: { namespace, name, labels: { 'kubernetes.io/service-name': service, ...labels }, annotations },
    addressType,
    endpoints,
    ports,
  }),
  pod: (namespace: string, name: string, ip: string): Obj => ({ metadata: { namespace, name }, status: { podIP: ip, podIPs: [{ ip }] } }),
};

export const PATHS = {
  namespaces: '/api/v1/namespaces',
  services: '/api/v1/services',
  slices: '/apis/discovery.k8s.io/v1/endpointslices',
  pods: '/api/v1/pods',
} as const;
