// log: one line per query in CoreDNS's common log format, for the named zones and reply classes.
import type { PluginDefinition } from '../../plugin.js';
import { directiveError, unsupported, zonesArg } from '../args.js';
import { Rcode, type DnsReply } from '../../message.js';
import { isSubdomain } from '../../names.js';
import { COMBINED_FORMAT, COMMON_FORMAT, formatQueryLog } from './format.js';

type ReplyClass = 'success' | 'denial' | 'error';

export function classify(r: DnsReply): ReplyClass {
  if (r.rcode === Rcode.NOERROR && r.answers.length > 0) return 'success';
  if (r.rcode === Rcode.NXDOMAIN || r.rcode === Rcode.NOERROR) return 'denial';
  return 'error';
}

export const logPlugin: PluginDefinition = {
  name: 'log',
  setup(d, ctx) {
    let format = COMMON_FORMAT;
    const names: string[] = [];
    for (const a of d.args) {
      if (a.includes('{')) format = a === '{common}' ? COMMON_FORMAT : a === '{combined}' ? COMBINED_FORMAT : a;
      else names.push(a);
    }
    const zones = zonesArg(d, names, ctx.zones);
    let classes = new Set<ReplyClass>(['success', 'denial', 'error']);
    for (const sub of d.block ?? []) {
      if (sub.name !== 'class') throw unsupported(sub, 'log');
      if (sub.args.length === 0) throw directiveError(sub, 'expected at least one class');
      classes = new Set();
      for (const c of sub.args) {
        if (c === 'all') classes = new Set(['success', 'denial', 'error']);
        else if (c === 'success' || c === 'denial' || c === 'error') classes.add(c);
        else throw directiveError(sub, `unknown class '${c}'`);
      }
    }
    const logger = ctx.logger.child({ plugin: 'log' });
    return {
      handler: {
        name: 'log',
        serveDNS(req, next) {
          if (zones.some((z) => isSubdomain(req.qname, z))) {
            req.observers.push((rq, r, size, seconds) => {
              if (classes.has(classify(r))) logger.info(formatQueryLog(format, rq, r, size, seconds));
            });
          }
          return next(req);
        },
      },
    };
  },
};
