import ipaddr from 'ipaddr.js';

/** An address as a number, so that ranges, pools and allocation are plain arithmetic for both families. */
export interface Ip {
  version: 4 | 6;
  value: bigint;
}

export interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefixLength: number;
}

const BITS = { 4: 32, 6: 128 } as const;

export function parseIp(text: string): Ip | undefined {
  if (typeof text !== 'string' || !ipaddr.isValid(text) || text.includes('%')) return undefined;
  // ipaddr.js accepts shorthand like "10" or "1.2.3" as IPv4; Neutron does not.
  if (!text.includes(':') && !/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return undefined;
  const addr = ipaddr.parse(text);
  const bytes = addr.toByteArray();
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { version: addr.kind() === 'ipv4' ? 4 : 6, value };
}

export function formatIp(ip: Ip): string {
  const count = ip.version === 4 ? 4 : 16;
  const bytes: number[] = [];
  let v = ip.value;
  for (let i = 0; i < count; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  const addr = ipaddr.fromByteArray(bytes);
  return addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
}

/** The canonical text of an address (RFC 5952 for IPv6), or undefined if it is not one. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

/**
 * Parses "a.b.c.d/n" (or an address alone, as a host prefix). `strict` refuses host bits set, as Neutron
 * does for subnet CIDRs; allowed address pairs and remote prefixes are normalised to their network instead.
 */
export function parseCidr(text: string, { strict = false } = {}): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const bits = BITS[ip.version];
  let prefixLength: number = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefixLength = Number(p);
    if (prefixLength > bits) return undefined;
  }
  const network = ip.value & netmask(ip.version, prefixLength);
  if (strict && network !== ip.value) return undefined;
  return { version: ip.version, network, prefixLength };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ version: c.version, value: c.network })}/${c.prefixLength}`;
}

export function netmask(version: 4 | 6, prefixLength: number): bigint {
  const bits = BigInt(BITS[version]);
  const all = (1n << bits) - 1n;
  return (all >> (bits - BigInt(prefixLength))) << (bits - BigInt(prefixLength)) & all;
}

export function firstIp(c: Cidr): bigint {
  return c.network;
}

export function lastIp(c: Cidr): bigint {
  return c.network | (~netmask(c.version, c.prefixLength) & ((1n << BigInt(BITS[c.version])) - 1n));
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  return c.version === ip.version && (ip.value & netmask(c.version, c.prefixLength)) === c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.version !== b.version) return false;
  return firstIp(a) <= lastIp(b) && firstIp(b) <= lastIp(a);
}
