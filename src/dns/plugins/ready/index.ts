// ready: HTTP 200 "OK" on ADDRESS/ready once every plugin that reports readiness is ready;
// 503 with the names of those that are not.
import type { PluginDefinition } from '../../plugin.js';
import { expectArgs, unsupported } from '../args.js';

export const readyPlugin: PluginDefinition = {
  name: 'ready',
  setup(d, ctx) {
    expectArgs(d, 0, 1);
    for (const sub of d.block ?? []) throw unsupported(sub, 'ready');
    const address = d.args[0] ?? ':8181';
    let unroute: (() => void) | null = null;
    return {
      async start() {
        unroute = ctx.http.route(address, '/ready', (_req, res) => {
          const waiting = ctx.readiness.notReady();
          if (waiting.length === 0) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('OK');
          else res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(waiting.sort().join(', '));
        });
        await ctx.http.listen();
      },
      async stop() {
        unroute?.();
      },
    };
  },
};
