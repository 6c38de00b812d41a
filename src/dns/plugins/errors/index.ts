// errors: logs a plugin's failure and answers SERVFAIL, as CoreDNS's errors plugin does.
// `consolidate` is not supported.
import type { PluginDefinition } from '../../plugin.js';
import { expectArgs, unsupported } from '../args.js';
import { Rcode, reply } from '../../message.js';

export const errorsPlugin: PluginDefinition = {
  name: 'errors',
  setup(d, ctx) {
    expectArgs(d, 0, 1);
    if (d.args[0] !== undefined && d.args[0] !== 'stdout') throw unsupported({ ...d, name: d.args[0] }, 'errors');
    for (const sub of d.block ?? []) throw unsupported(sub, 'errors');
    const logger = ctx.logger.child({ plugin: 'errors' });
    return {
      handler: {
        name: 'errors',
        onCacheHit: 'passes',
        async serveDNS(req, next) {
          try {
            return await next(req);
          } catch (err) {
            logger.error({ err: err instanceof Error ? err.message : String(err), name: req.name, type: req.qtype }, `${req.clientAddress}:${req.clientPort} - ${req.packet.id} "${req.qtype} ${req.name}." failed`);
            return reply('', Rcode.SERVFAIL, [], [], [], false);
          }
        },
      },
    };
  },
};
