// cache: answers repeated questions from memory, with separate success and denial caches,
// prefetch of popular entries before they expire, and serve_stale.
import type { PluginDefinition } from '../../plugin.js';
import type { Directive } from '../../corefile/parser.js';
import type { CachedAnswer, DnsReply, DnsRecord, DnsRequest } from '../../message.js';
import { fqdn, isSubdomain } from '../../names.js';
import { directiveError, durationArg, expectArgs, intArg, unsupported, zonesArg } from '../args.js';
import { cacheTtl, classifyReply, type CachePolicy } from './policy.js';
import { BoundedCache, type CacheEntry } from './store.js';

const DEFAULT_CAPACITY = 9984;

interface CacheOptions {
  zones: string[];
  successCapacity: number;
  denialCapacity: number;
  policy: CachePolicy;
  prefetch: { amount: number; windowMs: number; percentage: number } | null;
  serveStaleMs: number;
  staleVerify: boolean;
  disabledSuccess: string[] | null;
  disabledDenial: string[] | null;
  keepTtl: boolean;
}

function capacityAndTtls(sub: Directive, o: { capacity: number; maxTtl: number; minTtl: number }): void {
  expectArgs(sub, 1, 3);
  o.capacity = intArg(sub, sub.args[0], 0, 2 ** 31 - 1);
  if (sub.args[1] !== undefined) o.maxTtl = intArg(sub, sub.args[1], 0, 2 ** 31 - 1);
  if (sub.args[2] !== undefined) o.minTtl = intArg(sub, sub.args[2], 0, 2 ** 31 - 1);
}

export function parseCacheOptions(d: Directive, blockZones: string[]): CacheOptions {
  let maxTtlArg: number | null = null;
  let zoneArgs = d.args;
  if (d.args[0] !== undefined && /^\d+$/.test(d.args[0])) {
    maxTtlArg = intArg(d, d.args[0], 0, 2 ** 31 - 1);
    zoneArgs = d.args.slice(1);
  }
  const success = { capacity: DEFAULT_CAPACITY, maxTtl: maxTtlArg ?? 3600, minTtl: 5 };
  const denial = { capacity: DEFAULT_CAPACITY, maxTtl: maxTtlArg ?? 1800, minTtl: 5 };
  const o: CacheOptions = {
    zones: zonesArg(d, zoneArgs, blockZones),
    successCapacity: 0,
    denialCapacity: 0,
    policy: { success, denial, servfailTtl: 5 },
    prefetch: null,
    serveStaleMs: 0,
    staleVerify: false,
    disabledSuccess: null,
    disabledDenial: null,
    keepTtl: false,
  };
  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'success':
        capacityAndTtls(sub, success);
        break;
      case 'denial':
        capacityAndTtls(sub, denial);
        break;
      case 'prefetch': {
        expectArgs(sub, 0, 3);
        const amount = sub.args[0] !== undefined ? intArg(sub, sub.args[0], 1, 2 ** 31 - 1) : 1;
        let windowMs = 60_000;
        let percentage = 10;
        for (const a of sub.args.slice(1)) {
          if (a.endsWith('%')) percentage = intArg(sub, a.slice(0, -1), 0, 100);
          else windowMs = durationArg(sub, a);
        }
        o.prefetch = { amount, windowMs, percentage };
        break;
      }
      case 'serve_stale':
        expectArgs(sub, 0, 2);
        o.serveStaleMs = sub.args[0] !== undefined ? durationArg(sub, sub.args[0]) : 3_600_000;
        if (sub.args[1] !== undefined) {
          if (sub.args[1] !== 'immediate' && sub.args[1] !== 'verify') throw directiveError(sub, `refresh mode '${sub.args[1]}' must be immediate or verify`);
          o.staleVerify = sub.args[1] === 'verify';
        }
        break;
      case 'servfail': {
        expectArgs(sub, 1, 1);
        const ms = durationArg(sub, sub.args[0]);
        if (ms > 300_000) throw directiveError(sub, 'servfail TTL must be at most 5m');
        o.policy.servfailTtl = Math.floor(ms / 1000);
        break;
      }
      case 'disable': {
        expectArgs(sub, 1, Infinity);
        const zones = zonesArg(sub, sub.args.slice(1), o.zones);
        if (sub.args[0] === 'success') o.disabledSuccess = zones;
        else if (sub.args[0] === 'denial') o.disabledDenial = zones;
        else throw directiveError(sub, `'${sub.args[0]}' must be success or denial`);
        break;
      }
      case 'keepttl':
        expectArgs(sub, 0, 0);
        o.keepTtl = true;
        break;
      default:
        throw unsupported(sub, 'cache');
    }
  }
  o.successCapacity = success.capacity;
  o.denialCapacity = denial.capacity;
  return o;
}

function cacheKey(req: DnsRequest): string {
  return `${req.qname}\u0000${req.qtype}\u0000${req.dnssecOk ? 1 : 0}`;
}

// Copies the records with the TTL the client should see (null keeps the stored TTLs) and the
// owner spelled as the client asked.
function withTtl(records: DnsRecord[], ttl: number | null, qname: string, name: string): DnsRecord[] {
  return records.map((rr) => {
    if (rr.type === 'OPT') return rr;
    const owner = rr.name.length === qname.length && rr.name.toLowerCase() === qname ? name : rr.name;
    return { ...rr, name: owner, ttl: ttl ?? rr.ttl } as DnsRecord;
  });
}

export const cachePlugin: PluginDefinition = {
  name: 'cache',
  setup(d, ctx) {
    const o = parseCacheOptions(d, ctx.zones);
    const success = new BoundedCache(o.successCapacity);
    const denial = new BoundedCache(o.denialCapacity);
    const m = ctx.metrics;
    const zonesLabel = o.zones.map(fqdn).join(' ');
    const labels = { server: ctx.server, zones: zonesLabel, view: '' };
    const successLabels = { ...labels, type: 'success' };
    const denialLabels = { ...labels, type: 'denial' };
    const fastLabels = [ctx.server, zonesLabel, ''];
    const fastSuccess = [ctx.server, 'success', zonesLabel, ''];
    const fastDenial = [ctx.server, 'denial', zonesLabel, ''];
    const disabled = (list: string[] | null, qname: string): boolean => list !== null && list.some((z) => isSubdomain(qname, z));

    const store = (req: DnsRequest, key: string, r: DnsReply, now: number): void => {
      const cls = classifyReply(r);
      if (cls === null) return;
      if (r.rcode !== 0 && r.rcode !== 3 && cls !== 'servfail') {
        m.cacheDrops.inc(labels);
        return;
      }
      const target = cls === 'success' ? success : denial;
      if (cls === 'success' && disabled(o.disabledSuccess, req.qname)) return;
      if (cls !== 'success' && disabled(o.disabledDenial, req.qname)) return;
      const ttl = cacheTtl(r, cls, o.policy);
      if (ttl <= 0) return;
      const previous = target.get(key);
      const entry: CacheEntry = { reply: r, storedAt: now, ttl, hits: previous?.hits ?? 0, windowStart: previous?.windowStart ?? now, refreshing: false };
      if (target.set(key, entry)) m.cacheEvictions.inc(cls === 'success' ? successLabels : denialLabels);
      m.cacheEntries.set(successLabels, success.size);
      m.cacheEntries.set(denialLabels, denial.size);
    };

    const refresh = (req: DnsRequest, key: string, entry: CacheEntry, next: (r: DnsRequest) => Promise<DnsReply>): void => {
      if (entry.refreshing) return;
      entry.refreshing = true;
      const background: DnsRequest = { ...req, observers: [] };
      next(background).then(
        (r) => store(background, key, r, Date.now()),
        () => {
          entry.refreshing = false;
        },
      );
    };

    const answer = (req: DnsRequest, entry: CacheEntry, ttl: number): DnsReply => {
      const r = entry.reply;
      const shown = o.keepTtl ? null : ttl;
      const adjust = (records: DnsRecord[]): DnsRecord[] => withTtl(records, shown, req.qname, req.name);
      return { ...r, answers: adjust(r.answers), authorities: adjust(r.authorities), additionals: adjust(r.additionals), plugin: 'cache' };
    };

    // The entry serveDNS answers key from: success before denial.
    const lookup = (key: string): CacheEntry | undefined => success.get(key) ?? denial.get(key);
    const remainingSeconds = (entry: CacheEntry, now: number): number => Math.floor(entry.ttl - (now - entry.storedAt) / 1000);
    // Hits inside the prefetch window, counting one more at now.
    const windowHits = (entry: CacheEntry, now: number): number => (now - entry.windowStart > o.prefetch!.windowMs ? 0 : entry.hits) + 1;
    const prefetchDue = (entry: CacheEntry, hits: number, remaining: number): boolean => hits >= o.prefetch!.amount && remaining <= (entry.ttl * o.prefetch!.percentage) / 100;
    const countPrefetchHit = (entry: CacheEntry, now: number): void => {
      entry.hits = windowHits(entry, now);
      if (now - entry.windowStart > o.prefetch!.windowMs) entry.windowStart = now;
    };

    // For the server's replay of the encoded answer: the same counting as a fresh hit below.
    const replayer = (key: string, entry: CacheEntry, cls: 'success' | 'denial'): CachedAnswer['replay'] => {
      const requests = m.cacheRequests.handle(fastLabels);
      const hits = m.cacheHits.handle(cls === 'success' ? fastSuccess : fastDenial);
      return (now) => {
        if (lookup(key) !== entry) return -1;
        const remaining = remainingSeconds(entry, now);
        if (remaining <= 0) return -1;
        if (o.prefetch) {
          if (prefetchDue(entry, windowHits(entry, now), remaining)) return -1;
          countPrefetchHit(entry, now);
        }
        requests.value++;
        hits.value++;
        return remaining;
      };
    };

    return {
      handler: {
        name: 'cache',
        async serveDNS(req, next) {
          if (!o.zones.some((z) => isSubdomain(req.qname, z))) return next(req);
          m.cacheRequests.inc(fastLabels);
          const key = cacheKey(req);
          const now = Date.now();
          const entry = lookup(key);
          if (entry) {
            const cls = success.get(key) === entry ? 'success' : 'denial';
            const remaining = remainingSeconds(entry, now);
            if (remaining > 0) {
              m.cacheHits.inc(cls === 'success' ? fastSuccess : fastDenial);
              if (o.prefetch) {
                const due = prefetchDue(entry, windowHits(entry, now), remaining);
                countPrefetchHit(entry, now);
                if (due) {
                  m.cachePrefetch.inc(labels);
                  refresh(req, key, entry, next);
                }
              }
              const r = answer(req, entry, remaining);
              req.cached = { reply: r, ttlFromEntry: !o.keepTtl, replay: replayer(key, entry, cls) };
              return r;
            }
            const staleMs = now - entry.storedAt - entry.ttl * 1000;
            if (o.serveStaleMs > 0 && staleMs <= o.serveStaleMs) {
              if (!o.staleVerify) {
                m.cacheServedStale.inc(labels);
                refresh(req, key, entry, next);
                return answer(req, entry, 0);
              }
              // verify: ask upstream first and fall back to the stale entry only on failure.
              try {
                const fresh = await next(req);
                if (fresh.rcode !== 2) {
                  store(req, key, fresh, Date.now());
                  return fresh;
                }
              } catch {
                // fall back below
              }
              m.cacheServedStale.inc(labels);
              return answer(req, entry, 0);
            }
            (cls === 'success' ? success : denial).delete(key);
          }
          m.cacheMisses.inc(fastLabels);
          const r = await next(req);
          store(req, key, r, now);
          return r;
        },
      },
    };
  },
};
