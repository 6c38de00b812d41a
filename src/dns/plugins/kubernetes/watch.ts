// Lists and watches Services, EndpointSlices, Namespaces (and Pods for `pods verified`) with
// @kubernetes/client-node (its typed list calls and its Watch), feeding each event into the DNS
// index. This is the informer pattern without the informer's object cache: the index is the only
// copy, which keeps 50,000 services in half the memory. Each resource remembers its
// resourceVersion (bookmarks included) and the keys it has seen, so a re-list after a dropped
// watch or 410 Gone removes what disappeared meanwhile.
import { CoreV1Api, DiscoveryV1Api, KubeConfig, Watch, type KubernetesObject, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/logger.js';
import type { DnsMetrics } from '../../metrics.js';
import type { DnsIndex } from './dns-index.js';
import { matchesLabels } from '../../../kube/label-selector.js';
import { NamespacedMap } from './multi-map.js';
import { namespaceName, toPodInfo, toServiceInfo, toSliceInfo } from './objects.js';
import type { KubernetesOptions } from './options.js';
import { isFirstWorker } from '../../cluster.js';

const MAX_BACKOFF_MS = 30_000;
const LIST_PAGE_SIZE = 500;

export function loadKubeConfig(o: KubernetesOptions): KubeConfig {
  const kc = new KubeConfig();
  if (o.endpoint) {
    // The client refuses plain http unless TLS verification is off, which means nothing for http.
    const plain = o.endpoint.startsWith('http://');
    kc.loadFromClusterAndUser(
      { name: 'endpoint', server: o.endpoint, skipTLSVerify: plain, ...(o.tls && !plain ? { caFile: o.tls.caFile } : {}) },
      { name: 'coredns', ...(o.tls && !plain ? { certFile: o.tls.certFile, keyFile: o.tls.keyFile } : {}) },
    );
  } else if (o.kubeconfig) {
    kc.loadFromFile(o.kubeconfig.path);
    if (o.kubeconfig.context) kc.setCurrentContext(o.kubeconfig.context);
  } else {
    kc.loadFromCluster();
  }
  return kc;
}

// What a removal needs of an object that vanished while the watch was down: its name and namespace.
function stubOf(namespace: string, name: string): KubernetesObject {
  return { metadata: { name, ...(namespace ? { namespace } : {}) } };
}

export interface KubeWatch {
  synced(): boolean;
  // Resolves once every resource has delivered its first list.
  firstSync: Promise<void>;
  stop(): Promise<void>;
}

interface Feed<T extends KubernetesObject> {
  path: string;
  // One page of the list; `_continue` in the result's metadata asks for the next.
  list: (page: { limit: number; _continue?: string }) => Promise<{ items: T[]; metadata?: { resourceVersion?: string; _continue?: string } }>;
  labelSelector?: string;
  upsert(obj: T): void;
  remove(obj: T): void;
}

export function watchKubernetes(kc: KubeConfig, o: KubernetesOptions, index: DnsIndex, metrics: DnsMetrics, logger: Logger): KubeWatch {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const labelSelector = o.labels?.text;
  const recordLatency = isFirstWorker();
  const selected = (obj: KubernetesObject): boolean => !o.labels || matchesLabels(o.labels.selector, obj.metadata?.labels);

  const feeds: Feed<KubernetesObject>[] = [];
  const add = <T extends KubernetesObject>(f: Feed<T>): void => void feeds.push(f as unknown as Feed<KubernetesObject>);

  add<V1Namespace>({
    path: '/api/v1/namespaces',
    list: (page) => core.listNamespace(page),
    upsert: (ns) => {
      const n = namespaceName(ns);
      if (n) index.addNamespace(n);
    },
    remove: (ns) => {
      const n = namespaceName(ns);
      if (n) index.removeNamespace(n);
    },
  });
  add<V1Service>({
    path: '/api/v1/services',
    list: (page) => core.listServiceForAllNamespaces({ labelSelector, ...page }),
    labelSelector,
    upsert: (svc) => {
      const info = selected(svc) ? toServiceInfo(svc) : null;
      if (info) index.upsertService(info);
      else if (svc.metadata?.namespace && svc.metadata.name) index.removeService(svc.metadata.namespace.toLowerCase(), svc.metadata.name.toLowerCase());
    },
    remove: (svc) => {
      if (svc.metadata?.namespace && svc.metadata.name) index.removeService(svc.metadata.namespace.toLowerCase(), svc.metadata.name.toLowerCase());
    },
  });
  if (!o.noEndpoints) {
    add<V1EndpointSlice>({
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: (page) => discovery.listEndpointSliceForAllNamespaces({ labelSelector, ...page }),
      labelSelector,
      upsert: (slice) => {
        const info = selected(slice) ? toSliceInfo(slice, o.endpointPodNames) : null;
        if (!info) {
          if (slice.metadata?.namespace && slice.metadata.name) index.removeSlice(slice.metadata.namespace, slice.metadata.name);
          return;
        }
        index.upsertSlice(info);
        // As CoreDNS: only endpoints of a headless service with a selector carry a trigger time
        // that measures programming latency.
        const svc = index.service(info.namespace, info.serviceName);
        if (recordLatency && svc?.headless && info.lastChangeTriggerTime !== null) {
          metrics.kubernetesProgrammingDuration.observe({ service_kind: 'headless_with_selector' }, Math.max(0, Date.now() - info.lastChangeTriggerTime) / 1000);
        }
      },
      remove: (slice) => {
        if (slice.metadata?.namespace && slice.metadata.name) index.removeSlice(slice.metadata.namespace, slice.metadata.name);
      },
    });
  }
  if (o.pods === 'verified') {
    add<V1Pod>({
      path: '/api/v1/pods',
      list: (page) => core.listPodForAllNamespaces(page),
      upsert: (pod) => {
        const info = toPodInfo(pod);
        if (info) index.upsertPod(info);
      },
      remove: (pod) => {
        if (pod.metadata?.namespace && pod.metadata.name) index.removePod(pod.metadata.namespace, pod.metadata.name);
      },
    });
  }

  let stopped = false;
  const watch = new Watch(kc);
  const aborts = new Set<AbortController>();
  const syncedFlags = feeds.map(() => false);
  const timers = new Set<NodeJS.Timeout>();
  const namespaceOf = (obj: KubernetesObject): string => obj.metadata?.namespace ?? '';
  const nameOf = (obj: KubernetesObject): string => obj.metadata?.name ?? '';

  const firstSync = Promise.all(
    feeds.map(
      (feed, i) =>
        new Promise<void>((resolveSynced) => {
          const known = new NamespacedMap<true>();
          let resourceVersion = '';
          let backoff = 500;
          let generation = 0;

          const later = (fn: () => void, ms: number): void => {
            const t = setTimeout(() => {
              timers.delete(t);
              fn();
            }, ms);
            timers.add(t);
          };

          const fail = (mine: number, err: unknown): void => {
            if (stopped || mine !== generation) return;
            generation++;
            logger.warn({ resource: feed.path, err: err instanceof Error ? err.message : String(err) }, 'list/watch failed; listing again');
            resourceVersion = '';
            later(() => void list(), backoff);
            backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
          };

          const startWatch = async (mine: number): Promise<void> => {
            const query: Record<string, string | boolean> = { resourceVersion, allowWatchBookmarks: true };
            if (feed.labelSelector) query.labelSelector = feed.labelSelector;
            let abort: AbortController | null = null;
            try {
              abort = await watch.watch(
                feed.path,
                query,
                (phase: string, obj: KubernetesObject & { code?: number }) => {
                  if (mine !== generation) return;
                  if (phase === 'ERROR') {
                    // 410 Gone: our version is too old; the watch ends and we list afresh.
                    if (obj.code === 410) resourceVersion = '';
                    return;
                  }
                  const rv = obj.metadata?.resourceVersion;
                  if (rv) resourceVersion = rv;
                  if (phase === 'BOOKMARK') return;
                  if (phase === 'DELETED') {
                    known.delete(namespaceOf(obj), nameOf(obj));
                    feed.remove(obj);
                  } else {
                    known.set(namespaceOf(obj), nameOf(obj), true);
                    feed.upsert(obj);
                  }
                },
                (err: unknown) => {
                  if (abort) aborts.delete(abort);
                  if (stopped || mine !== generation) return;
                  if (err) return fail(mine, err);
                  // The server closed the watch (timeout): resume from where we were.
                  if (resourceVersion) void startWatch(mine);
                  else fail(mine, new Error('watch expired'));
                },
              );
              aborts.add(abort);
              if (stopped) abort.abort();
            } catch (err) {
              fail(mine, err);
            }
          };

          const list = async (): Promise<void> => {
            if (stopped) return;
            const mine = ++generation;
            const seen = new NamespacedMap<true>();
            let page: Awaited<ReturnType<typeof feed.list>> | undefined;
            let continueToken: string | undefined;
            let items = 0;
            // Pages of LIST_PAGE_SIZE, as client-go's reflector does: a 50,000-object list never
            // sits in memory whole.
            do {
              try {
                page = await feed.list({ limit: LIST_PAGE_SIZE, ...(continueToken ? { _continue: continueToken } : {}) });
              } catch (err) {
                fail(mine, err);
                return;
              }
              if (mine !== generation || stopped) return;
              for (const obj of page.items) {
                seen.set(namespaceOf(obj), nameOf(obj), true);
                known.set(namespaceOf(obj), nameOf(obj), true);
                feed.upsert(obj);
              }
              items += page.items.length;
              continueToken = page.metadata?._continue || undefined;
            } while (continueToken);
            for (const [namespace, name] of [...known.keys()]) {
              if (seen.get(namespace, name) === undefined) {
                known.delete(namespace, name);
                feed.remove(stubOf(namespace, name));
              }
            }
            resourceVersion = page?.metadata?.resourceVersion ?? '';
            backoff = 500;
            if (!syncedFlags[i]) {
              syncedFlags[i] = true;
              logger.info({ resource: feed.path, items }, 'initial list done');
              resolveSynced();
            }
            await startWatch(mine);
          };
          void list();
        }),
    ),
  ).then(() => undefined);

  return {
    synced: () => syncedFlags.every(Boolean),
    firstSync,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const a of aborts) a.abort();
    },
  };
}
