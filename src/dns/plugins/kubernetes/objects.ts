// The slim shapes the DNS index keeps of Kubernetes objects, and the pure conversions from the
// API's objects. Only what record synthesis needs is kept, so 50,000 services stay small.
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { canonicalIP } from '../../reverse.js';

export interface PortInfo {
  name: string;
  port: number;
  protocol: string;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  // "cluster_ip" services have clusterIPs; headless have none; ExternalName has externalName.
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  headless: boolean;
  clusterIPs: string[];
  externalName: string;
  ports: readonly PortInfo[];
}

export interface EndpointAddressInfo {
  ip: string;
  hostname: string;
  targetRefName: string;
}

export interface SliceInfo {
  namespace: string;
  name: string;
  serviceName: string;
  // Ready endpoints only: CoreDNS serves neither not-ready nor terminating endpoints.
  addresses: EndpointAddressInfo[];
  ports: readonly PortInfo[];
  lastChangeTriggerTime: number | null;
}

export interface PodInfo {
  namespace: string;
  name: string;
  ips: string[];
}

export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

// Namespaces, port names, protocols, service types and whole port lists repeat across tens of
// thousands of objects, and every object parsed from the API brings its own copy; the index keeps
// one. Entries are never dropped, so each table stops taking new values at a bound: past it a
// value is simply not shared.
const INTERN_LIMIT = 50_000;

class Interned<T> {
  private readonly values = new Map<string, T>();

  get(key: string, value: T): T {
    const known = this.values.get(key);
    if (known !== undefined) return known;
    if (this.values.size < INTERN_LIMIT) this.values.set(key, value);
    return value;
  }
}

const strings = new Interned<string>();
const portLists = new Interned<readonly PortInfo[]>();

function intern(s: string): string {
  return strings.get(s, s);
}

// Shared between objects, so frozen.
function toPorts(ports: { name?: string; port?: number; protocol?: string }[] | undefined): readonly PortInfo[] {
  const list = (ports ?? []).map((p) => Object.freeze({ name: intern((p.name ?? '').toLowerCase()), port: p.port ?? 0, protocol: intern((p.protocol ?? 'TCP').toLowerCase()) }));
  return portLists.get(list.map((p) => `${p.name}/${p.port}/${p.protocol}`).join(','), Object.freeze(list));
}

export function toServiceInfo(svc: V1Service): ServiceInfo | null {
  const meta = svc.metadata;
  const spec = svc.spec;
  if (!meta?.name || !meta.namespace || !spec) return null;
  const type = (spec.type ?? 'ClusterIP') as ServiceInfo['type'];
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  const headless = type !== 'ExternalName' && (ips.length === 0 || ips[0] === 'None');
  return {
    namespace: intern(meta.namespace.toLowerCase()),
    name: meta.name.toLowerCase(),
    type: intern(type) as ServiceInfo['type'],
    headless,
    clusterIPs: headless || type === 'ExternalName' ? [] : ips.filter((ip) => ip && ip !== 'None').map(canonicalIP),
    externalName: type === 'ExternalName' ? (spec.externalName ?? '').toLowerCase().replace(/\.$/, '') : '',
    ports: toPorts(spec.ports),
  };
}

// keepPodNames: keep each endpoint's pod name (only `endpoint_pod_names` uses it).
export function toSliceInfo(slice: V1EndpointSlice, keepPodNames = true): SliceInfo | null {
  const meta = slice.metadata;
  const serviceName = meta?.labels?.[SERVICE_NAME_LABEL];
  if (!meta?.name || !meta.namespace || !serviceName) return null;
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return null;
  const addresses: EndpointAddressInfo[] = [];
  for (const ep of slice.endpoints ?? []) {
    // A nil ready condition means ready (EndpointSlice API); terminating endpoints are not ready.
    if (ep.conditions?.ready === false) continue;
    for (const ip of ep.addresses ?? []) {
      const podName = keepPodNames && ep.targetRef?.kind === 'Pod' ? (ep.targetRef.name ?? '').toLowerCase() : '';
      addresses.push({ ip: canonicalIP(ip), hostname: (ep.hostname ?? '').toLowerCase(), targetRefName: podName });
    }
  }
  const trigger = meta.annotations?.[LAST_CHANGE_TRIGGER_TIME];
  const triggerMs = trigger ? Date.parse(trigger) : NaN;
  return {
    namespace: intern(meta.namespace.toLowerCase()),
    name: meta.name,
    serviceName: serviceName.toLowerCase(),
    addresses,
    ports: toPorts(slice.ports),
    lastChangeTriggerTime: Number.isFinite(triggerMs) ? triggerMs : null,
  };
}

export function toPodInfo(pod: V1Pod): PodInfo | null {
  const meta = pod.metadata;
  if (!meta?.name || !meta.namespace) return null;
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return { namespace: intern(meta.namespace.toLowerCase()), name: meta.name, ips: ips.filter(Boolean).map(canonicalIP) };
}

export function namespaceName(ns: V1Namespace): string | null {
  return ns.metadata?.name?.toLowerCase() ?? null;
}

// The DNS label an endpoint is known by: its hostname, the pod's name with endpoint_pod_names,
// or its address with dashes.
export function endpointHostname(a: EndpointAddressInfo, endpointPodNames: boolean): string {
  if (a.hostname) return a.hostname;
  if (endpointPodNames && a.targetRefName) return a.targetRefName;
  return a.ip.includes(':') ? a.ip.replace(/:/g, '-') : a.ip.replace(/\./g, '-');
}
