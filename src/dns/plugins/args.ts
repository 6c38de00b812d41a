// Small helpers plugins use to validate their Corefile arguments with line-numbered errors.
import { CorefileError } from '../corefile/lexer.js';
import type { Directive } from '../corefile/parser.js';
import { normalizeName } from '../names.js';
import { parseServerKey } from '../corefile/address.js';

export function directiveError(d: Directive, message: string): CorefileError {
  return new CorefileError(d.file, d.line, `${d.name}: ${message}`);
}

export function unsupported(d: Directive, plugin: string): CorefileError {
  return new CorefileError(d.file, d.line, `${plugin}: option '${d.name}' is not supported`);
}

export function expectArgs(d: Directive, min: number, max: number): void {
  if (d.args.length < min || d.args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw directiveError(d, `expected ${want} argument(s), got ${d.args.length}`);
  }
}

export function noBlock(d: Directive): void {
  if (d.block) throw directiveError(d, 'takes no block');
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// Go's time.ParseDuration syntax ("1m30s", "500ms"), in milliseconds.
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos > 0 ? total : null;
}

export function durationArg(d: Directive, text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw directiveError(d, `invalid duration '${text}'`);
  return ms;
}

export function intArg(d: Directive, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text)) throw directiveError(d, `'${text}' is not an integer`);
  const v = Number(text);
  if (v < min || v > max) throw directiveError(d, `${v} is outside ${min}..${max}`);
  return v;
}

// Zone arguments narrow a plugin to names under them; without any the block's zones apply.
export function zonesArg(d: Directive, args: string[], blockZones: string[]): string[] {
  if (args.length === 0) return blockZones;
  const zones: string[] = [];
  for (const a of args) {
    try {
      for (const addr of parseServerKey(a, 0)) zones.push(addr.zone);
    } catch (err) {
      throw directiveError(d, (err as Error).message);
    }
  }
  return zones.map(normalizeName);
}
