/** Where a VM goes when no host is asked for: the host with the fewest VMs, the lowest-numbered among equals. */
export function leastLoadedHost(hosts: string[], vms: { host: string }[]): string {
  if (hosts.length === 0) throw new Error('the lab has no hosts');
  const load = new Map(hosts.map((h) => [h, 0]));
  for (const vm of vms) if (load.has(vm.host)) load.set(vm.host, load.get(vm.host)! + 1);
  return hosts.reduce((best, h) => (load.get(h)! < load.get(best)! ? h : best));
}
