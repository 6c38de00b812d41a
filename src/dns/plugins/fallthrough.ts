// `fallthrough [ZONES...]`: pass a query a plugin cannot answer to the next plugin, for names in
// ZONES (all names when none are given).
import type { Directive } from '../corefile/parser.js';
import { isSubdomain } from '../names.js';
import { zonesArg } from './args.js';

export interface Fallthrough {
  through(qname: string): boolean;
}

export const NO_FALLTHROUGH: Fallthrough = { through: () => false };

export function parseFallthrough(d: Directive): Fallthrough {
  if (d.args.length === 0) return { through: () => true };
  const zones = zonesArg(d, d.args, []);
  return { through: (qname) => zones.some((z) => isSubdomain(qname, z)) };
}
