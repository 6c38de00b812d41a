// ClusterIP and NodePort allocation for Services, as the real API server's allocators
// behave: random free addresses inside --service-cidr (one range per IP family), the
// network address (and for IPv4 the broadcast address) never handed out, explicit
// requests honoured when free and inside the range.
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 'IPv4' | 'IPv6';

export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { family: 'IPv4', value };
  }
  if (isIPv6(text) && !text.includes('.')) {
    const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const headGroups = head ? head.split(':') : [];
    const tailGroups = tail ? tail.split(':') : [];
    const zeros = tail === undefined ? [] : new Array(8 - headGroups.length - tailGroups.length).fill('0');
    const groups = [...headGroups, ...zeros, ...tailGroups];
    const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    return { family: 'IPv6', value };
  }
  return undefined;
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export interface Cidr {
  family: IpFamily;
  text: string;
  base: bigint;
  prefixLength: number;
  size: bigint;
}

export function parseCidr(text: string): Cidr {
  const [address, prefix] = text.split('/');
  const ip = parseIp(address ?? '');
  const bits = ip?.family === 'IPv6' ? 128 : 32;
  const prefixLength = Number(prefix);
  if (!ip || prefix === undefined || !/^\d+$/.test(prefix) || prefixLength > bits) {
    throw new Error(`invalid CIDR address: ${text}`);
  }
  const size = 1n << BigInt(bits - prefixLength);
  const base = ip.value & ~(size - 1n);
  return { family: ip.family, text: `${formatIp(ip.family, base)}/${prefixLength}`, base, prefixLength, size };
}

function cidrContains(cidr: Cidr, family: IpFamily, value: bigint): boolean {
  return family === cidr.family && value >= cidr.base && value < cidr.base + cidr.size;
}

export type AllocationFailure = 'out-of-range' | 'already-allocated' | 'full';

/** Addresses of one family's range; keys are canonical text so "fd00::0a" and "fd00::a" collide. */
export class IpAllocator {
  private readonly used = new Set<string>();
  private readonly first: bigint;
  private readonly last: bigint;

  constructor(
    readonly cidr: Cidr,
    private readonly random: () => number = Math.random,
  ) {
    this.first = cidr.base + 1n;
    this.last = cidr.family === 'IPv4' && cidr.size > 2n ? cidr.base + cidr.size - 2n : cidr.base + cidr.size - 1n;
  }

  /** The first usable address: the real API server gives it to the `kubernetes` Service. */
  firstAddress(): string {
    return formatIp(this.cidr.family, this.first);
  }

  canonical(text: string): string | undefined {
    const ip = parseIp(text);
    return ip ? formatIp(ip.family, ip.value) : undefined;
  }

  allocate(requested?: string): string | AllocationFailure {
    if (requested !== undefined) {
      const ip = parseIp(requested);
      if (!ip || !cidrContains(this.cidr, ip.family, ip.value) || ip.value < this.first || ip.value > this.last) {
        return 'out-of-range';
      }
      const key = formatIp(ip.family, ip.value);
      if (this.used.has(key)) return 'already-allocated';
      this.used.add(key);
      return requested;
    }
    const count = this.last - this.first + 1n;
    if (BigInt(this.used.size) >= count) return 'full';
    // Random picks, like the real allocator; a nearly full range falls back to a scan
    // from a random start, which terminates because at least one address is free.
    const span = Number(count > 2n ** 52n ? 2n ** 52n : count);
    for (let attempt = 0; attempt < 32; attempt++) {
      const key = formatIp(this.cidr.family, this.first + BigInt(Math.floor(this.random() * span)));
      if (!this.used.has(key)) {
        this.used.add(key);
        return key;
      }
    }
    const start = BigInt(Math.floor(this.random() * span));
    for (let i = 0n; i < count; i++) {
      const key = formatIp(this.cidr.family, this.first + ((start + i) % count));
      if (!this.used.has(key)) {
        this.used.add(key);
        return key;
      }
    }
    return 'full';
  }

  release(text: string): void {
    const key = this.canonical(text);
    if (key) this.used.delete(key);
  }
}

export const NODE_PORT_RANGE = { first: 30000, last: 32767 } as const;

export class PortAllocator {
  private readonly used = new Set<number>();

  constructor(
    readonly first: number = NODE_PORT_RANGE.first,
    readonly last: number = NODE_PORT_RANGE.last,
    private readonly random: () => number = Math.random,
  ) {}

  allocate(requested?: number): number | AllocationFailure {
    if (requested !== undefined) {
      if (requested < this.first || requested > this.last) return 'out-of-range';
      if (this.used.has(requested)) return 'already-allocated';
      this.used.add(requested);
      return requested;
    }
    const count = this.last - this.first + 1;
    if (this.used.size >= count) return 'full';
    const start = Math.floor(this.random() * count);
    for (let i = 0; i < count; i++) {
      const port = this.first + ((start + i) % count);
      if (!this.used.has(port)) {
        this.used.add(port);
        return port;
      }
    }
    return 'full';
  }

  release(port: number): void {
    this.used.delete(port);
  }
}
