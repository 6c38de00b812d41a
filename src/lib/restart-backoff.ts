/**
 * When to start a crashed process again: after `minMs`, doubling (up to `maxMs`) while it keeps dying within
 * `resetMs` of its start, so a daemon that crashes at once is not restarted in a tight loop and one that ran for a
 * while comes back quickly.
 */
export interface RestartBackoff {
  minMs: number;
  maxMs: number;
  resetMs: number;
}

/** The exits in a row (this one included) and the delay before the next start. */
export function nextRestart(backoff: RestartBackoff, previousFailures: number, ranMs: number): { failures: number; delayMs: number } {
  const failures = ranMs > backoff.resetMs ? 1 : previousFailures + 1;
  return { failures, delayMs: Math.min(backoff.maxMs, backoff.minMs * 2 ** (failures - 1)) };
}
