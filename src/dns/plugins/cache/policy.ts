// Which replies the cache keeps and for how long: CoreDNS's classification into success and
// denial, TTLs clamped to each class's bounds.
import { Rcode, type DnsReply } from '../../message.js';

export type CacheClass = 'success' | 'denial' | 'servfail';

export interface TtlBounds {
  maxTtl: number;
  minTtl: number;
}

export interface CachePolicy {
  success: TtlBounds;
  denial: TtlBounds;
  // Seconds a SERVFAIL is remembered (0 disables), CoreDNS's `servfail` option.
  servfailTtl: number;
}

export function classifyReply(r: DnsReply): CacheClass | null {
  if (r.truncated) return null;
  if (r.rcode === Rcode.NXDOMAIN) return 'denial';
  if (r.rcode === Rcode.NOERROR) return r.answers.length > 0 || r.authorities.some((rr) => rr.type === 'NS') ? 'success' : 'denial';
  if (r.rcode === Rcode.SERVFAIL) return 'servfail';
  return null;
}

function soaMinimum(r: DnsReply): number | null {
  for (const rr of r.authorities) {
    if (rr.type === 'SOA') {
      const data = rr.data as { minimum?: number };
      return Math.min(rr.ttl ?? 0, data.minimum ?? 0);
    }
  }
  return null;
}

// Seconds to keep r, or 0 when it must not be cached.
export function cacheTtl(r: DnsReply, cls: CacheClass, policy: CachePolicy): number {
  if (cls === 'servfail') return policy.servfailTtl;
  const bounds = cls === 'success' ? policy.success : policy.denial;
  let ttl: number | null;
  if (cls === 'denial') {
    ttl = soaMinimum(r);
  } else {
    ttl = null;
    for (const rr of [...r.answers, ...r.authorities]) {
      if (rr.type === 'OPT') continue;
      ttl = ttl === null ? (rr.ttl ?? 0) : Math.min(ttl, rr.ttl ?? 0);
    }
  }
  if (ttl === null) ttl = Math.min(bounds.minTtl, bounds.maxTtl);
  // A minimum above the maximum gives way to the maximum.
  return Math.max(Math.min(bounds.minTtl, bounds.maxTtl), Math.min(bounds.maxTtl, ttl));
}
