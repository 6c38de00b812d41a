import { cidrContains, firstIp, formatIp, lastIp, parseCidr, parseIp, type Cidr } from '../../lib/ip.js';

/** An allocation pool as stored on a subnet (canonical text, inclusive). */
export interface Pool {
  start: string;
  end: string;
}

export interface Range {
  start: bigint;
  end: bigint;
}

export function poolRange(pool: Pool): Range {
  return { start: parseIp(pool.start)!.value, end: parseIp(pool.end)!.value };
}

/** Usable host addresses: IPv4 loses its network and broadcast addresses, IPv6 its subnet-router anycast. */
export function hostRange(cidr: Cidr): Range | undefined {
  const first = firstIp(cidr);
  const last = lastIp(cidr);
  if (cidr.version === 4) {
    if (cidr.prefixLength >= 31) return { start: first, end: last };
    return first + 1n <= last - 1n ? { start: first + 1n, end: last - 1n } : undefined;
  }
  if (cidr.prefixLength === 128) return { start: first, end: last };
  return { start: first + 1n, end: last };
}

/** Neutron's default pools: every host address but the gateway, which splits the range in two. */
export function defaultAllocationPools(cidrText: string, gatewayText: string | null): Pool[] {
  const cidr = parseCidr(cidrText)!;
  const hosts = hostRange(cidr);
  if (!hosts) return [];
  const gw = gatewayText ? parseIp(gatewayText)!.value : undefined;
  const ranges: Range[] = [];
  if (gw !== undefined && gw >= hosts.start && gw <= hosts.end) {
    if (gw > hosts.start) ranges.push({ start: hosts.start, end: gw - 1n });
    if (gw < hosts.end) ranges.push({ start: gw + 1n, end: hosts.end });
  } else {
    ranges.push(hosts);
  }
  return ranges.map((r) => toPool(cidr.version, r));
}

export function toPool(version: 4 | 6, r: Range): Pool {
  return { start: formatIp({ version, value: r.start }), end: formatIp({ version, value: r.end }) };
}

/** The subnet's first host address: Neutron's default gateway. */
export function defaultGateway(cidrText: string): string | null {
  const cidr = parseCidr(cidrText)!;
  const hosts = hostRange(cidr);
  return hosts ? formatIp({ version: cidr.version, value: hosts.start }) : null;
}

/**
 * Checks requested pools against the subnet; returns the reason a pool is refused, as Neutron words it,
 * or undefined when they are all good.
 */
export function checkPools(cidrText: string, pools: Pool[]): string | undefined {
  const cidr = parseCidr(cidrText)!;
  const ranges: Range[] = [];
  for (const pool of pools) {
    const start = parseIp(pool.start);
    const end = parseIp(pool.end);
    if (!start || !end || start.version !== cidr.version || end.version !== cidr.version) {
      return `Found pool larger than subnet CIDR:${pool.start} - ${pool.end}`;
    }
    if (!cidrContains(cidr, start) || !cidrContains(cidr, end)) return `Found pool larger than subnet CIDR:${pool.start} - ${pool.end}`;
    if (start.value > end.value) return `Found invalid IP address in pool: ${pool.start} - ${pool.end}:`;
    ranges.push({ start: start.value, end: end.value });
  }
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start <= sorted[i - 1].end) {
      const v = cidr.version;
      return `Found overlapping allocation pools: ${formatPool(v, sorted[i - 1])} and ${formatPool(v, sorted[i])}`;
    }
  }
  return undefined;
}

function formatPool(version: 4 | 6, r: Range): string {
  const p = toPool(version, r);
  return `${p.start}-${p.end}`;
}

export function poolsContain(pools: Pool[], ip: bigint): boolean {
  return pools.some((p) => {
    const r = poolRange(p);
    return ip >= r.start && ip <= r.end;
  });
}

export function poolSize(pools: Pool[]): bigint {
  return pools.reduce((sum, p) => {
    const r = poolRange(p);
    return sum + (r.end - r.start + 1n);
  }, 0n);
}

/**
 * The order in which to try addresses: a pseudo-random start inside the pools (so that concurrent writers on
 * different servers rarely want the same address), then onwards, wrapping around.
 */
export function* candidateAddresses(pools: Pool[], random: () => number = Math.random): Generator<bigint> {
  const ranges = pools.map(poolRange);
  const total = ranges.reduce((s, r) => s + (r.end - r.start + 1n), 0n);
  if (total === 0n) return;
  let offset = BigInt(Math.floor(random() * Number(total > 1_000_000n ? 1_000_000n : total)));
  for (let n = 0n; n < total; n++, offset++) {
    let o = offset % total;
    for (const r of ranges) {
      const size = r.end - r.start + 1n;
      if (o < size) {
        yield r.start + o;
        break;
      }
      o -= size;
    }
  }
}

/** The IPv6 SLAAC address of a MAC in a /64 (modified EUI-64, RFC 4291 appendix A). */
export function eui64Address(cidrText: string, mac: string): string {
  const cidr = parseCidr(cidrText)!;
  const bytes = mac.split(':').map((b) => Number.parseInt(b, 16));
  const eui = [bytes[0] ^ 0x02, bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5]];
  let iid = 0n;
  for (const b of eui) iid = (iid << 8n) | BigInt(b);
  return formatIp({ version: 6, value: cidr.network | iid });
}
