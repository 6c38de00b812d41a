import type { Registry } from 'prom-client';
import type { AuthContext, TokenValidator } from '../auth.js';
import type { Store } from '../../store/store.js';
import type { TokenRecord } from './model.js';
import { createValidatorMetrics } from './metrics.js';
import { lookupToken } from './repository.js';
import { hashTokenId, keystoneTime, tokenProblem } from './tokens.js';

export interface TokenValidatorOptions {
  /**
   * How long a token's validation is reused before the database is asked again. This bounds how late another
   * server notices a revocation, a role removal or a disabled user; this server forgets a token it revokes at once.
   */
  cacheMilliseconds?: number;
  /** At most this many tokens are remembered. */
  cacheSize?: number;
  clock?: () => Date;
  /** Where to count cache hits and database reads. */
  registry?: Registry;
}

/** One database read of a token, shared by every request that asks while it runs. */
interface Load {
  promise: Promise<TokenRecord | undefined>;
}

interface CacheEntry {
  record: TokenRecord | undefined;
  checkedAt: number;
}

/** What the other APIs see of a token: only project-scoped tokens act on project resources. */
export function toAuthContext(record: TokenRecord): AuthContext | undefined {
  if (!record.project) return undefined;
  const roles = record.roles.map((r) => r.name);
  return {
    userId: record.user.id,
    userName: record.user.name,
    userDomainId: record.user.domain.id,
    projectId: record.project.id,
    projectName: record.project.name,
    projectDomainId: record.project.domain.id,
    roles,
    isAdmin: roles.includes('admin'),
    expiresAt: record.expiresAt,
  };
}

/**
 * Validates `X-Auth-Token`s for the service APIs. Every request carries a token, so answers are cached for a
 * second, and concurrent first requests with one token share a single database read.
 */
export function createTokenValidator(store: Store, options: TokenValidatorOptions = {}): Required<TokenValidator> {
  const ttl = options.cacheMilliseconds ?? 1000;
  const maxSize = options.cacheSize ?? 10_000;
  const clock = options.clock ?? (() => new Date());
  const cache = new Map<string, CacheEntry>();
  const inflight = new Map<string, Load>();
  const lookups = options.registry ? createValidatorMetrics(options.registry) : undefined;

  // A read that a `forget` overtook must not put its (possibly pre-revocation) answer back into the cache.
  function load(idHash: string): Promise<TokenRecord | undefined> {
    const entry = {} as Load;
    entry.promise = (async () => {
      try {
        const record = await store.read((db) => lookupToken(db, idHash));
        if (inflight.get(idHash) === entry) {
          if (cache.size >= maxSize) cache.clear();
          cache.set(idHash, { record, checkedAt: Date.now() });
        }
        return record;
      } finally {
        if (inflight.get(idHash) === entry) inflight.delete(idHash);
      }
    })();
    inflight.set(idHash, entry);
    return entry.promise;
  }

  function recordOf(idHash: string): Promise<TokenRecord | undefined> {
    const hit = cache.get(idHash);
    if (hit && Date.now() - hit.checkedAt < ttl) {
      lookups?.inc({ source: 'cache' });
      return Promise.resolve(hit.record);
    }
    const running = inflight.get(idHash);
    lookups?.inc({ source: running ? 'cache' : 'database' });
    return running?.promise ?? load(idHash);
  }

  return {
    async validate(token) {
      const record = await recordOf(hashTokenId(token));
      // Expiry is checked on every use, cached or not.
      if (!record || tokenProblem(record, keystoneTime(clock())) !== undefined) return undefined;
      return toAuthContext(record);
    },
    forget(token) {
      const idHash = hashTokenId(token);
      cache.delete(idHash);
      inflight.delete(idHash);
    },
  };
}
