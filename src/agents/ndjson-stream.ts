import type { Logger } from '../lib/logger.js';

/** What an agent needs from a Keystone session: a fetch that carries the token. */
export interface AuthenticatedFetch {
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

export interface NdjsonStreamOptions {
  session: AuthenticatedFetch;
  logger: Logger;
  /** The URL of each (re)connect, built then (so it can carry the revision the agent holds by then). */
  url(): string;
  onMessage(message: unknown): void;
  onConnect?(): void;
  /** No byte for this long (the server sends heartbeats) means a dead stream: reconnect. */
  idleTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Follows a long-lived NDJSON stream from the server (an agent's target) for as long as `signal` is not
 * aborted. After any drop it reconnects with exponential backoff and full jitter, so that a restarted server
 * is not hit by every agent at once.
 */
export async function followNdjsonStream(options: NdjsonStreamOptions, signal: AbortSignal): Promise<void> {
  const min = options.minBackoffMs ?? 200;
  const max = options.maxBackoffMs ?? 10_000;
  let failures = 0;
  while (!signal.aborted) {
    const received = await streamOnce(options, options.url(), signal);
    if (signal.aborted) return;
    failures = received ? 0 : failures + 1;
    const delay = Math.random() * Math.min(max, min * 2 ** failures);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

/** One connection, until the server ends it or it breaks (logged). Says whether any message arrived. */
async function streamOnce(options: NdjsonStreamOptions, url: string, outer: AbortSignal): Promise<boolean> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  outer.addEventListener('abort', abort, { once: true });
  const idleMs = options.idleTimeoutMs ?? 30_000;
  let idle = setTimeout(abort, idleMs);
  let received = false;
  try {
    const response = await options.session.fetch(url, { signal: controller.signal, headers: { accept: 'application/x-ndjson' } });
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      throw new Error(`stream answered HTTP ${response.status}`);
    }
    options.logger.info({ url }, 'stream connected');
    options.onConnect?.();
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(idle);
      idle = setTimeout(abort, idleMs);
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        options.onMessage(JSON.parse(line));
        received = true;
      }
    }
    options.logger.info({ url }, 'stream ended by the server');
    return received;
  } catch (err) {
    if (!outer.aborted) {
      const idleOut = controller.signal.aborted;
      options.logger.warn({ err: idleOut ? `no data for ${idleMs} ms` : (err as Error).message, url }, 'stream broke');
    }
    return received;
  } finally {
    clearTimeout(idle);
    outer.removeEventListener('abort', abort);
  }
}
