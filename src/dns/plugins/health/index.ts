// health: HTTP 200 "OK" on ADDRESS/health while the process runs; with lameduck, shutdown waits
// DURATION first so load balancers stop sending queries before the sockets close.
import type { PluginDefinition } from '../../plugin.js';
import { durationArg, expectArgs, unsupported } from '../args.js';

export const healthPlugin: PluginDefinition = {
  name: 'health',
  setup(d, ctx) {
    expectArgs(d, 0, 1);
    const address = d.args[0] ?? ':8080';
    let lameduckMs = 0;
    for (const sub of d.block ?? []) {
      if (sub.name !== 'lameduck') throw unsupported(sub, 'health');
      expectArgs(sub, 1, 1);
      lameduckMs = durationArg(sub, sub.args[0]);
    }
    let unroute: (() => void) | null = null;
    return {
      async start() {
        unroute = ctx.http.route(address, '/health', (_req, res) => {
          const started = process.hrtime.bigint();
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('OK');
          ctx.metrics.healthRequestDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
        });
        await ctx.http.listen();
      },
      async stop() {
        if (lameduckMs > 0) {
          ctx.logger.info({ plugin: 'health', lameduckMs }, 'going into lameduck mode');
          await new Promise((resolve) => setTimeout(resolve, lameduckMs));
        }
        unroute?.();
      },
    };
  },
};
