import { after } from 'node:test';

/**
 * A test file's list of things to close. Every cleanup runs at the end of the file, newest first, even when one
 * fails, so no socket or child outlives the file; the first failure is reported.
 */
export function cleanupsAfterFile(): (cleanup: () => Promise<void> | void) => void {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    const failures: unknown[] = [];
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch((err: unknown) => failures.push(err));
    if (failures.length) throw failures[0];
  }, { timeout: 30_000 });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}
