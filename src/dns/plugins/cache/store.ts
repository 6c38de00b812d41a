// A bounded map of cached replies. Eviction drops the oldest inserted entry; CoreDNS drops a
// random one, and neither tracks recency on the hot path.
import type { DnsReply } from '../../message.js';

export interface CacheEntry {
  reply: DnsReply;
  storedAt: number;
  ttl: number;
  // Prefetch bookkeeping: hits inside the current window.
  hits: number;
  windowStart: number;
  refreshing: boolean;
}

export class BoundedCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  // Returns true when an older entry had to be evicted to make room.
  set(key: string, entry: CacheEntry): boolean {
    if (this.capacity <= 0) return false;
    let evicted = false;
    if (this.entries.has(key)) {
      this.entries.delete(key);
    } else if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      evicted = true;
    }
    this.entries.set(key, entry);
    return evicted;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
