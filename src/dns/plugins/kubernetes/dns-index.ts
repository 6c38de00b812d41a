// The in-memory index queries read: services by namespace/name, their endpoint slices, which
// namespaces exist, and addresses back to names for PTR. Informer events update it one object at
// a time, so a query is a few map lookups and a change costs O(that object). Every worker holds
// one, so it is kept compact (multi-map.ts).
import type { PodInfo, ServiceInfo, SliceInfo } from './objects.js';
import { MultiMap, NamespacedMap, NamespacedMultiMap } from './multi-map.js';

export class DnsIndex {
  private readonly services = new NamespacedMap<ServiceInfo>();
  private readonly slices = new NamespacedMap<SliceInfo>();
  private readonly slicesByService = new NamespacedMultiMap<SliceInfo>();
  private readonly namespaces = new Set<string>();
  private readonly pods = new NamespacedMap<PodInfo>();
  private readonly clusterIpOwners = new MultiMap<string, ServiceInfo>();
  private readonly endpointIpOwners = new MultiMap<string, SliceInfo>();
  private readonly podIpOwners = new MultiMap<string, PodInfo>();
  // Unix seconds of the last change: the SOA serial, as CoreDNS's Modified().
  modified = Math.floor(Date.now() / 1000);

  private touch(): void {
    this.modified = Math.floor(Date.now() / 1000);
  }

  upsertService(s: ServiceInfo): void {
    this.removeService(s.namespace, s.name);
    this.services.set(s.namespace, s.name, s);
    for (const ip of s.clusterIPs) this.clusterIpOwners.add(ip, s);
    this.touch();
  }

  removeService(namespace: string, name: string): void {
    const old = this.services.delete(namespace, name);
    if (!old) return;
    for (const ip of old.clusterIPs) this.clusterIpOwners.remove(ip, old);
    this.touch();
  }

  upsertSlice(s: SliceInfo): void {
    this.removeSlice(s.namespace, s.name);
    // The service's own name string, rather than a second copy per slice.
    const service = this.services.get(s.namespace, s.serviceName);
    if (service) s.serviceName = service.name;
    this.slices.set(s.namespace, s.name, s);
    this.slicesByService.add(s.namespace, s.serviceName, s);
    for (const a of s.addresses) this.endpointIpOwners.add(a.ip, s);
    this.touch();
  }

  removeSlice(namespace: string, name: string): void {
    const old = this.slices.delete(namespace.toLowerCase(), name);
    if (!old) return;
    this.slicesByService.remove(old.namespace, old.serviceName, old);
    for (const a of old.addresses) this.endpointIpOwners.remove(a.ip, old);
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
    this.pods.set(p.namespace, p.name, p);
    for (const ip of p.ips) this.podIpOwners.add(ip, p);
  }

  removePod(namespace: string, name: string): void {
    const old = this.pods.delete(namespace.toLowerCase(), name);
    if (!old) return;
    for (const ip of old.ips) this.podIpOwners.remove(ip, old);
  }

  service(namespace: string, name: string): ServiceInfo | undefined {
    return this.services.get(namespace, name);
  }

  slicesOf(namespace: string, name: string): Iterable<SliceInfo> {
    return this.slicesByService.get(namespace, name);
  }

  hasNamespace(name: string): boolean {
    return this.namespaces.has(name);
  }

  podWithIp(ip: string, namespace: string): boolean {
    for (const p of this.podIpOwners.get(ip)) if (p.namespace === namespace) return true;
    return false;
  }

  servicesWithClusterIp(ip: string): readonly ServiceInfo[] {
    return this.clusterIpOwners.get(ip);
  }

  slicesWithEndpointIp(ip: string): readonly SliceInfo[] {
    return this.endpointIpOwners.get(ip);
  }

  get counts(): { services: number; slices: number; namespaces: number; pods: number } {
    return { services: this.services.size, slices: this.slices.size, namespaces: this.namespaces.size, pods: this.pods.size };
  }
}
