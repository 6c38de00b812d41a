// reload: checks the Corefile every INTERVAL (plus up to JITTER) and, when its content changed,
// rebuilds the server beside the running one and swaps it in; queries keep being answered.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PluginDefinition } from '../../plugin.js';
import { directiveError, durationArg, expectArgs, unsupported } from '../args.js';

function digest(path: string): string | null {
  try {
    return createHash('sha512').update(readFileSync(path)).digest('hex');
  } catch {
    return null;
  }
}

export const reloadPlugin: PluginDefinition = {
  name: 'reload',
  setup(d, ctx) {
    expectArgs(d, 0, 2);
    for (const sub of d.block ?? []) throw unsupported(sub, 'reload');
    const intervalMs = d.args[0] !== undefined ? durationArg(d, d.args[0]) : 30_000;
    const jitterMs = d.args[1] !== undefined ? durationArg(d, d.args[1]) : intervalMs / 2;
    if (intervalMs < 2000) throw directiveError(d, 'interval must be at least 2s');
    if (jitterMs > intervalMs / 2) throw directiveError(d, 'jitter must be at most half the interval');
    const path = ctx.corefilePath;
    let timer: NodeJS.Timeout | null = null;
    let stopped = false;
    return {
      async start() {
        if (!path) return;
        const initial = digest(path);
        const schedule = (): void => {
          if (stopped) return;
          timer = setTimeout(async () => {
            const now = digest(path);
            if (now !== null && now !== initial) {
              ctx.logger.info({ plugin: 'reload', path }, 'Corefile changed; reloading');
              stopped = true;
              try {
                await ctx.reload();
              } catch (err) {
                ctx.metrics.reloadFailed.inc();
                ctx.logger.error({ plugin: 'reload', err: (err as Error).message }, 'reload failed; keeping the running configuration');
                stopped = false;
              }
            }
            schedule();
          }, intervalMs + Math.random() * jitterMs);
          timer.unref();
        };
        schedule();
      },
      async stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
      },
    };
  },
};
