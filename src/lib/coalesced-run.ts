/**
 * A level-triggered catch-up: `work` never overlaps itself, and calls that arrive while it runs cause exactly one
 * more run after it (which sees everything they were about), instead of one run each. A failure is handed to
 * `onError` and ends the round; the next call starts afresh.
 */
export function coalescedRun(work: () => Promise<void>, onError: (err: unknown) => void): () => Promise<void> {
  let running = false;
  let again = false;
  return async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await work();
      } while (again);
    } catch (err) {
      onError(err);
    } finally {
      running = false;
    }
  };
}
