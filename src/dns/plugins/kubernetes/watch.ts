// Lists and watches Services, EndpointSlices, Namespaces (and Pods for `pods verified`) with
// @kubernetes/client-node informers, feeding each event into the DNS index.
import { CoreV1Api, DiscoveryV1Api, KubeConfig, makeInformer, type Informer, type KubernetesObject, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/logger.js';
import type { DnsMetrics } from '../../metrics.js';
import type { DnsIndex } from './dns-index.js';
import { matchesLabels } from './label-selector.js';
import { namespaceName, serviceKey, toPodInfo, toServiceInfo, toSliceInfo } from './objects.js';
import type { KubernetesOptions } from './options.js';
import { isFirstWorker } from '../../cluster.js';

const MAX_BACKOFF_MS = 30_000;

export function loadKubeConfig(o: KubernetesOptions): KubeConfig {
  const kc = new KubeConfig();
  if (o.endpoint) {
    // The client refuses plain http unless TLS verification is off, which means nothing for http.
    kc.loadFromClusterAndUser({ name: 'endpoint', server: o.endpoint, skipTLSVerify: o.endpoint.startsWith('http://') }, { name: 'coredns' });
  } else if (o.kubeconfig) {
    kc.loadFromFile(o.kubeconfig.path);
    if (o.kubeconfig.context) kc.setCurrentContext(o.kubeconfig.context);
  } else {
    kc.loadFromCluster();
  }
  return kc;
}

export interface KubeWatch {
  synced(): boolean;
  // Resolves once every informer has delivered its first list.
  firstSync: Promise<void>;
  stop(): Promise<void>;
}

interface Feed<T extends KubernetesObject> {
  path: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
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
    list: () => core.listNamespace(),
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
    list: () => core.listServiceForAllNamespaces({ labelSelector }),
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
      list: () => discovery.listEndpointSliceForAllNamespaces({ labelSelector }),
      labelSelector,
      upsert: (slice) => {
        const info = selected(slice) ? toSliceInfo(slice) : null;
        if (!info) {
          if (slice.metadata?.namespace && slice.metadata.name) index.removeSlice(slice.metadata.namespace, slice.metadata.name);
          return;
        }
        index.upsertSlice(info);
        // As CoreDNS: only endpoints of a headless service with a selector carry a trigger time
        // that measures programming latency.
        const svc = index.services.get(serviceKey(info.namespace, info.serviceName));
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
      list: () => core.listPodForAllNamespaces(),
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
  const informers: Informer<KubernetesObject>[] = [];
  const syncedFlags = feeds.map(() => false);
  const timers = new Set<NodeJS.Timeout>();

  const firstSync = Promise.all(
    feeds.map(
      (feed, i) =>
        new Promise<void>((resolve) => {
          const informer = makeInformer<KubernetesObject>(kc, feed.path, feed.list as never, feed.labelSelector);
          informers.push(informer);
          informer.on('add', (obj) => feed.upsert(obj));
          informer.on('update', (obj) => feed.upsert(obj));
          informer.on('delete', (obj) => feed.remove(obj));
          let backoff = 500;
          let attempt = 0;
          let restartScheduledFor = -1;
          // The informer stops on an error; start it again (from a fresh list) after a pause.
          const restart = (err: unknown): void => {
            if (stopped || restartScheduledFor === attempt) return;
            restartScheduledFor = attempt;
            logger.warn({ resource: feed.path, err: err instanceof Error ? err.message : String(err) }, 'list/watch failed; restarting');
            const t = setTimeout(() => {
              timers.delete(t);
              begin();
            }, backoff);
            timers.add(t);
            backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
          };
          const begin = (): void => {
            if (stopped) return;
            const mine = ++attempt;
            informer.start().then(
              () => {
                // start() also resolves after a failed list (the error went to restart()).
                if (restartScheduledFor === mine || stopped) return;
                backoff = 500;
                if (!syncedFlags[i]) {
                  syncedFlags[i] = true;
                  logger.info({ resource: feed.path }, 'initial list done');
                  resolve();
                }
              },
              (err: unknown) => restart(err),
            );
          };
          informer.on('error', (err: unknown) => restart(err));
          begin();
        }),
    ),
  ).then(() => undefined);

  return {
    synced: () => syncedFlags.every(Boolean),
    firstSync,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
