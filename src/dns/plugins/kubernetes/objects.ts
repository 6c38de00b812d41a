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
  ports: PortInfo[];
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
  ports: PortInfo[];
  lastChangeTriggerTime: number | null;
}

export interface PodInfo {
  namespace: string;
  name: string;
  ips: string[];
}

export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function toServiceInfo(svc: V1Service): ServiceInfo | null {
  const meta = svc.metadata;
  const spec = svc.spec;
  if (!meta?.name || !meta.namespace || !spec) return null;
  const type = (spec.type ?? 'ClusterIP') as ServiceInfo['type'];
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  const headless = type !== 'ExternalName' && (ips.length === 0 || ips[0] === 'None');
  return {
    namespace: meta.namespace.toLowerCase(),
    name: meta.name.toLowerCase(),
    type,
    headless,
    clusterIPs: headless || type === 'ExternalName' ? [] : ips.filter((ip) => ip && ip !== 'None').map(canonicalIP),
    externalName: type === 'ExternalName' ? (spec.externalName ?? '').toLowerCase().replace(/\.$/, '') : '',
    ports: (spec.ports ?? []).map((p) => ({ name: (p.name ?? '').toLowerCase(), port: p.port, protocol: (p.protocol ?? 'TCP').toLowerCase() })),
  };
}

export function toSliceInfo(slice: V1EndpointSlice): SliceInfo | null {
  const meta = slice.metadata;
  const serviceName = meta?.labels?.[SERVICE_NAME_LABEL];
  if (!meta?.name || !meta.namespace || !serviceName) return null;
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return null;
  const addresses: EndpointAddressInfo[] = [];
  for (const ep of slice.endpoints ?? []) {
    // A nil ready condition means ready (EndpointSlice API); terminating endpoints are not ready.
    if (ep.conditions?.ready === false) continue;
    for (const ip of ep.addresses ?? []) {
      addresses.push({ ip: canonicalIP(ip), hostname: (ep.hostname ?? '').toLowerCase(), targetRefName: (ep.targetRef?.kind === 'Pod' ? ep.targetRef.name ?? '' : '').toLowerCase() });
    }
  }
  const trigger = meta.annotations?.[LAST_CHANGE_TRIGGER_TIME];
  const triggerMs = trigger ? Date.parse(trigger) : NaN;
  return {
    namespace: meta.namespace.toLowerCase(),
    name: meta.name,
    serviceName: serviceName.toLowerCase(),
    addresses,
    ports: (slice.ports ?? []).map((p) => ({ name: (p.name ?? '').toLowerCase(), port: p.port ?? 0, protocol: (p.protocol ?? 'TCP').toLowerCase() })),
    lastChangeTriggerTime: Number.isFinite(triggerMs) ? triggerMs : null,
  };
}

export function toPodInfo(pod: V1Pod): PodInfo | null {
  const meta = pod.metadata;
  if (!meta?.name || !meta.namespace) return null;
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return { namespace: meta.namespace.toLowerCase(), name: meta.name, ips: ips.filter(Boolean).map(canonicalIP) };
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
