// The plugins cloudnet dns implements, in the order they run. The order is CoreDNS's plugin.cfg
// (reload, ready, health, prometheus, errors, log, loadbalance, cache, hosts, kubernetes, loop,
// forward) restricted to these plugins: cache sits in front of kubernetes so it can answer from
// cache, hosts before kubernetes, and forward last.
import type { PluginDefinition } from '../plugin.js';
import { reloadPlugin } from './reload/index.js';
import { readyPlugin } from './ready/index.js';
import { healthPlugin } from './health/index.js';
import { prometheusPlugin } from './prometheus/index.js';
import { errorsPlugin } from './errors/index.js';
import { logPlugin } from './log/index.js';
import { loadbalancePlugin } from './loadbalance/index.js';
import { cachePlugin } from './cache/index.js';
import { hostsPlugin } from './hosts/index.js';
import { kubernetesPlugin } from './kubernetes/index.js';
import { loopPlugin } from './loop/index.js';
import { forwardPlugin } from './forward/index.js';

const PLUGINS: PluginDefinition[] = [
  reloadPlugin,
  readyPlugin,
  healthPlugin,
  prometheusPlugin,
  errorsPlugin,
  logPlugin,
  loadbalancePlugin,
  cachePlugin,
  hostsPlugin,
  kubernetesPlugin,
  loopPlugin,
  forwardPlugin,
];

export const PLUGIN_ORDER: readonly string[] = PLUGINS.map((p) => p.name);

const BY_NAME = new Map(PLUGINS.map((p) => [p.name, p]));

export function pluginDefinition(name: string): PluginDefinition | undefined {
  return BY_NAME.get(name);
}

// CoreDNS plugins we do not implement: named so the error says "not supported", not "unknown".
export const COREDNS_ONLY_PLUGINS = new Set([
  'metadata', 'geoip', 'cancel', 'tls', 'quic', 'timeouts', 'multisocket', 'nsid', 'bufsize', 'root', 'debug',
  'trace', 'pprof', 'dnstap', 'local', 'acl', 'any', 'chaos', 'header', 'rewrite', 'dnssec', 'autopath', 'minimal',
  'template', 'transfer', 'route53', 'azure', 'clouddns', 'k8s_external', 'file', 'auto', 'secondary', 'etcd',
  'grpc', 'erratic', 'whoami', 'on', 'sign', 'view', 'dns64', 'secondary', 'federation', 'nomcast', 'tsig', 'grpc_server', 'https', 'https3',
]);
