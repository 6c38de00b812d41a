// CoreDNS's metric names and labels, registered once per process on one prom-client registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics.js';

// CoreDNS's plugin.TimeBuckets and plugin.SlimTimeBuckets.
const TIME_BUCKETS = exponentialBuckets(0.00025, 2, 16);
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

export const COREDNS_COMPAT_VERSION = '1.12.0';

export function createDnsMetrics(version: string, revision: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const m = {
    registry,
    requests: new FastCounter('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.', ['server', 'zone', 'view', 'proto', 'family', 'type'], registry),
    responses: new FastCounter('coredns_dns_responses_total', 'Counter of response status codes.', ['server', 'zone', 'view', 'rcode', 'plugin'], registry),
    requestDuration: new FastHistogram('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took per zone.', ['server', 'zone', 'view', 'type'], TIME_BUCKETS, registry),
    requestSize: new FastHistogram('coredns_dns_request_size_bytes', 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', ['server', 'zone', 'view', 'proto'], SIZE_BUCKETS, registry),
    responseSize: new FastHistogram('coredns_dns_response_size_bytes', 'Size of the returned response in bytes.', ['server', 'zone', 'view', 'proto'], SIZE_BUCKETS, registry),
    doRequests: new FastCounter('coredns_dns_do_requests_total', 'Counter of DNS requests with DO bit set per zone.', ['server', 'zone', 'view'], registry),
    panics: new Counter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.', registers: r }),
    pluginEnabled: new Gauge({ name: 'coredns_plugin_enabled', help: 'A metric that indicates whether a plugin is enabled on per server and zone basis.', labelNames: ['server', 'zone', 'view', 'name'], registers: r, aggregator: 'max' }),
    buildInfo: new Gauge({ name: 'coredns_build_info', help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', labelNames: ['version', 'revision', 'goversion'], registers: r, aggregator: 'max' }),
    replayed: new FastCounter('cloudnet_dns_replayed_answers_total', 'Cache answers sent as remembered encoded replies, without running the plugin chain (also counted in the coredns_ series).', ['proto'], registry),
    malformed: new Counter({ name: 'cloudnet_dns_malformed_queries_total', help: 'Queries dropped or answered FORMERR because they could not be parsed.', labelNames: ['proto', 'action'], registers: r }),
    cacheEntries: new Gauge({ name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'], registers: r }),
    cacheRequests: new FastCounter('coredns_cache_requests_total', 'The count of cache requests.', ['server', 'zones', 'view'], registry),
    cacheHits: new FastCounter('coredns_cache_hits_total', 'The count of cache hits.', ['server', 'type', 'zones', 'view'], registry),
    cacheMisses: new FastCounter('coredns_cache_misses_total', 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', ['server', 'zones', 'view'], registry),
    cachePrefetch: new Counter({ name: 'coredns_cache_prefetch_total', help: 'The number of times the cache has prefetched a cached item.', labelNames: ['server', 'zones', 'view'], registers: r }),
    cacheDrops: new Counter({ name: 'coredns_cache_drops_total', help: 'The number responses that are not cached, because the reply is malformed.', labelNames: ['server', 'zones', 'view'], registers: r }),
    cacheServedStale: new Counter({ name: 'coredns_cache_served_stale_total', help: 'The number of requests served from stale cache entries.', labelNames: ['server', 'zones', 'view'], registers: r }),
    cacheEvictions: new Counter({ name: 'coredns_cache_evictions_total', help: 'The count of cache evictions.', labelNames: ['server', 'type', 'zones', 'view'], registers: r }),
    proxyRequestDuration: new Histogram({ name: 'coredns_proxy_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['proxy_name', 'to', 'rcode'], buckets: TIME_BUCKETS, registers: r }),
    proxyHealthcheckFailures: new Counter({ name: 'coredns_proxy_healthcheck_failures_total', help: 'Counter of the number of failed healthchecks.', labelNames: ['proxy_name', 'to'], registers: r }),
    proxyConnCacheHits: new Counter({ name: 'coredns_proxy_conn_cache_hits_total', help: 'Counter of connection cache hits per upstream and protocol.', labelNames: ['proxy_name', 'to', 'proto'], registers: r }),
    proxyConnCacheMisses: new Counter({ name: 'coredns_proxy_conn_cache_misses_total', help: 'Counter of connection cache misses per upstream and protocol.', labelNames: ['proxy_name', 'to', 'proto'], registers: r }),
    forwardHealthcheckBroken: new Counter({ name: 'coredns_forward_healthcheck_broken_total', help: 'Counter of the number of complete failures of the healthchecks.', registers: r }),
    forwardMaxConcurrentRejects: new Counter({ name: 'coredns_forward_max_concurrent_rejects_total', help: 'Counter of the number of queries rejected because the concurrent queries were at maximum.', registers: r }),
    kubernetesProgrammingDuration: new Histogram({ name: 'coredns_kubernetes_dns_programming_duration_seconds', help: 'Histogram of the time (in seconds) it took to program a dns instance.', labelNames: ['service_kind'], buckets: exponentialBuckets(0.001, 2, 20), registers: r }),
    healthRequestDuration: new Histogram({ name: 'coredns_health_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took.', buckets: [0.00025, 0.0025, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.5, 2, 3, 4, 5, 10], registers: r }),
    healthRequestFailures: new Counter({ name: 'coredns_health_request_failures_total', help: 'The number of times the health check failed.', registers: r }),
    reloadFailed: new Counter({ name: 'coredns_reload_failed_total', help: 'Counter of the number of failed reload attempts.', registers: r }),
    hostsEntries: new Gauge({ name: 'coredns_hosts_entries', help: 'The combined number of entries in hosts and Corefile.', registers: r, aggregator: 'max' }),
    hostsReloadTimestamp: new Gauge({ name: 'coredns_hosts_reload_timestamp_seconds', help: 'The timestamp of the last reload of hosts file.', registers: r, aggregator: 'max' }),
  };
  m.buildInfo.set({ version: version, revision, goversion: `node${process.versions.node}` }, 1);
  return m;
}

export type DnsMetrics = ReturnType<typeof createDnsMetrics>;
