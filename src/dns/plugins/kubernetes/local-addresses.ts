// The addresses this server answers on, as CoreDNS's kubernetes plugin takes them for ns.dns:
// the bound addresses, or every interface's when bound to a wildcard; never loopback, and no
// link-local address (it means nothing without its interface).
import { networkInterfaces } from 'node:os';

const WILDCARDS = new Set(['::', '0.0.0.0']);

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

export function localAddresses(bindAddresses: readonly string[], interfaces: Record<string, { address: string; scopeid?: number }[] | undefined> = networkInterfaces()): string[] {
  const bound = bindAddresses.some((a) => WILDCARDS.has(a))
    ? Object.values(interfaces).flatMap((addresses) => (addresses ?? []).filter((a) => a.scopeid === undefined || a.scopeid === 0).map((a) => a.address))
    : [...bindAddresses];
  return [...new Set(bound.filter((ip) => !isLoopback(ip)))];
}
