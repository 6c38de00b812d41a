import { formatCidr, formatIp, lastIp, parseCidr, type Cidr } from '../../lib/ip.js';

/**
 * Address lists as nftables interval elements: canonical, one family, with every prefix that lies inside
 * another dropped (interval sets refuse overlapping elements), single addresses without their /32 or /128
 * (the form `nft` lists them in, so that live and target compare as text).
 */
export function intervalElements(addresses: Iterable<string>, version: 4 | 6): string[] {
  const cidrs: Cidr[] = [];
  for (const text of addresses) {
    const c = parseCidr(text);
    if (c && c.version === version) cidrs.push(c);
  }
  // CIDR blocks are either nested or disjoint: sorted by start (widest first on a tie), a block is inside
  // another exactly when it starts before the end of the last one kept. One pass, O(n log n).
  cidrs.sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : a.prefixLength - b.prefixLength));
  const full = version === 4 ? 32 : 128;
  const out: string[] = [];
  let end = -1n;
  for (const c of cidrs) {
    if (c.network <= end) continue;
    end = lastIp(c);
    out.push(c.prefixLength === full ? formatIp({ version, value: c.network }) : formatCidr(c));
  }
  return out;
}
