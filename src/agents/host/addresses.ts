import { cidrContains, formatCidr, formatIp, parseCidr, type Cidr } from '../../lib/ip.js';

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
  // Widest first, so a prefix is only kept if no kept prefix already covers it.
  cidrs.sort((a, b) => a.prefixLength - b.prefixLength || (a.network < b.network ? -1 : a.network > b.network ? 1 : 0));
  const kept: Cidr[] = [];
  for (const c of cidrs) {
    if (!kept.some((k) => k.prefixLength <= c.prefixLength && cidrContains(k, { version, value: c.network }))) kept.push(c);
  }
  const full = version === 4 ? 32 : 128;
  return kept
    .sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : a.prefixLength - b.prefixLength))
    .map((c) => (c.prefixLength === full ? formatIp({ version, value: c.network }) : formatCidr(c)));
}
