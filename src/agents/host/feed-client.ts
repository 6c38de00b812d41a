import type { FeedMessage } from '../../feed/target-state.js';
import type { Logger } from '../../lib/logger.js';
import { followNdjsonStream, type AuthenticatedFetch } from '../ndjson-stream.js';

export type { AuthenticatedFetch };

export interface FeedClientOptions {
  server: string;
  host: string;
  session: AuthenticatedFetch;
  logger: Logger;
  /** The revision to resume from on each (re)connect: the last consistent point the agent holds. */
  since(): number;
  onMessage(message: FeedMessage): void;
  onConnect?(): void;
  /** No byte for this long (the server sends heartbeats) means a dead stream: reconnect. */
  idleTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Follows `GET /cloudnet/v1/hosts/{host}/target?since=R` for as long as `signal` is not aborted; after any drop
 * it resumes from the revision the agent holds.
 */
export function followFeed(options: FeedClientOptions, signal: AbortSignal): Promise<void> {
  const base = `${options.server.replace(/\/+$/, '')}/cloudnet/v1/hosts/${encodeURIComponent(options.host)}/target`;
  return followNdjsonStream(
    {
      ...options,
      url: () => `${base}?since=${options.since()}`,
      onMessage: (m) => options.onMessage(m as FeedMessage),
    },
    signal,
  );
}
