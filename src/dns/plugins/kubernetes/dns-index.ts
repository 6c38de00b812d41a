// The in-memory index queries read: services by namespace/name, their endpoint slices, which
// namespaces exist, and addresses back to names for PTR. Informer events update it one object at
// a time, so a query is a few map lookups and a change costs O(that object).
import type { PodInfo, ServiceInfo, SliceInfo } from './objects.js';
import { serviceKey } from './objects.js';

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

export class DnsIndex {
  readonly services = new Map<string, ServiceInfo>();
  private readonly slices = new Map<string, SliceInfo>();
  private readonly slicesByService = new Map<string, Set<SliceInfo>>();
  private readonly namespaces = new Set<string>();
  private readonly pods = new Map<string, PodInfo>();
  private readonly clusterIpOwners = new Map<string, Set<string>>();
  private readonly endpointIpOwners = new Map<string, Set<SliceInfo>>();
  private readonly podIpOwners = new Map<string, Set<PodInfo>>();
  // Unix seconds of the last change: the SOA serial, as CoreDNS's Modified().
  modified = Math.floor(Date.now() / 1000);

  private touch(): void {
    this.modified = Math.floor(Date.now() / 1000);
  }

  upsertService(s: ServiceInfo): void {
    const key = serviceKey(s.namespace, s.name);
    this.removeService(s.namespace, s.name);
    this.services.set(key, s);
    for (const ip of s.clusterIPs) addTo(this.clusterIpOwners, ip, key);
    this.touch();
  }

  removeService(namespace: string, name: string): void {
    const key = serviceKey(namespace, name);
    const old = this.services.get(key);
    if (!old) return;
    this.services.delete(key);
    for (const ip of old.clusterIPs) removeFrom(this.clusterIpOwners, ip, key);
    this.touch();
  }

  upsertSlice(s: SliceInfo): void {
    this.removeSlice(s.namespace, s.name);
    const key = `${s.namespace}/${s.name}`;
    this.slices.set(key, s);
    addTo(this.slicesByService, serviceKey(s.namespace, s.serviceName), s);
    for (const a of s.addresses) addTo(this.endpointIpOwners, a.ip, s);
    this.touch();
  }

  removeSlice(namespace: string, name: string): void {
    const key = `${namespace.toLowerCase()}/${name}`;
    const old = this.slices.get(key);
    if (!old) return;
    this.slices.delete(key);
    removeFrom(this.slicesByService, serviceKey(old.namespace, old.serviceName), old);
    for (const a of old.addresses) removeFrom(this.endpointIpOwners, a.ip, old);
    this.touch();
  }

  addNamespace(name: string): void {
    this.namespaces.add(name);
    this.touch();
  }

  removeNamespace(name: string): void {
    this.namespaces.delete(name);
    this.touch();
  }

  upsertPod(p: PodInfo): void {
    this.removePod(p.namespace, p.name);
    this.pods.set(`${p.namespace}/${p.name}`, p);
    for (const ip of p.ips) addTo(this.podIpOwners, ip, p);
  }

  removePod(namespace: string, name: string): void {
    const key = `${namespace.toLowerCase()}/${name}`;
    const old = this.pods.get(key);
    if (!old) return;
    this.pods.delete(key);
    for (const ip of old.ips) removeFrom(this.podIpOwners, ip, old);
  }

  service(namespace: string, name: string): ServiceInfo | undefined {
    return this.services.get(serviceKey(namespace, name));
  }

  slicesOf(namespace: string, name: string): Iterable<SliceInfo> {
    return this.slicesByService.get(serviceKey(namespace, name)) ?? [];
  }

  hasNamespace(name: string): boolean {
    return this.namespaces.has(name);
  }

  podWithIp(ip: string, namespace: string): boolean {
    for (const p of this.podIpOwners.get(ip) ?? []) if (p.namespace === namespace) return true;
    return false;
  }

  servicesWithClusterIp(ip: string): ServiceInfo[] {
    const out: ServiceInfo[] = [];
    for (const key of this.clusterIpOwners.get(ip) ?? []) {
      const s = this.services.get(key);
      if (s) out.push(s);
    }
    return out;
  }

  slicesWithEndpointIp(ip: string): SliceInfo[] {
    return [...(this.endpointIpOwners.get(ip) ?? [])];
  }

  get counts(): { services: number; slices: number; namespaces: number; pods: number } {
    return { services: this.services.size, slices: this.slices.size, namespaces: this.namespaces.size, pods: this.pods.size };
  }
}
