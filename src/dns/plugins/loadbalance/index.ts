// loadbalance: shuffles A, AAAA and MX records of an answer (round_robin), leaving CNAMEs first.
import type { PluginDefinition } from '../../plugin.js';
import type { DnsRecord } from '../../message.js';
import { directiveError, expectArgs, unsupported } from '../args.js';

const SHUFFLED = new Set(['A', 'AAAA', 'MX']);

export function shuffleAddressRecords(answers: DnsRecord[], random: () => number = Math.random): DnsRecord[] {
  const fixed: DnsRecord[] = [];
  const shuffled: DnsRecord[] = [];
  for (const rr of answers) (SHUFFLED.has(rr.type) ? shuffled : fixed).push(rr);
  if (shuffled.length < 2) return answers;
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return [...fixed, ...shuffled];
}

export const loadbalancePlugin: PluginDefinition = {
  name: 'loadbalance',
  setup(d) {
    expectArgs(d, 0, 1);
    if (d.args[0] !== undefined && d.args[0] !== 'round_robin') throw directiveError(d, `policy '${d.args[0]}' is not supported (only round_robin)`);
    for (const sub of d.block ?? []) throw unsupported(sub, 'loadbalance');
    return {
      handler: {
        name: 'loadbalance',
        onCacheHit: 'passes',
        async serveDNS(req, next) {
          const r = await next(req);
          const answers = shuffleAddressRecords(r.answers);
          // The reply itself when nothing moved, so a cache answer can still be replayed.
          return answers === r.answers ? r : { ...r, answers };
        },
      },
    };
  },
};
