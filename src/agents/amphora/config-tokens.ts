import { isIP } from 'node:net';

/**
 * Guards for values the renderers put into HAProxy and keepalived configs. Both parse a line into words, so
 * a value with whitespace, a quote or a comment sign could add options of its own: every value is either
 * checked to be one safe word or quoted, and anything else throws rather than being rendered.
 */

export class AmphoraConfigError extends Error {
  override name = 'AmphoraConfigError';
}

const TOKEN = /^[A-Za-z0-9_.:-]+$/;

/** An id or name used as a config word (frontend, backend, server, ACL, VRRP instance). */
export function token(what: string, value: string): string {
  if (!TOKEN.test(value)) throw new AmphoraConfigError(`${what} ${JSON.stringify(value)} is not a plain token ([A-Za-z0-9_.:-]+)`);
  return value;
}

/** A value with no whitespace, quotes, backslashes or `#`: a path, URL path, host name, cipher string. */
export function word(what: string, value: string): string {
  if (value === '' || /[\s'"\\#]/.test(value)) throw new AmphoraConfigError(`${what} ${JSON.stringify(value)} must be one word without quotes, backslashes or '#'`);
  return value;
}

/**
 * An arbitrary string as HAProxy's single-quoted word: no escapes and no environment expansion inside, so the
 * only character it cannot carry is the single quote itself.
 */
export function singleQuoted(what: string, value: string): string {
  if (value.includes("'") || /[\r\n]/.test(value)) throw new AmphoraConfigError(`${what} ${JSON.stringify(value)} cannot contain a single quote or a line break`);
  return `'${value}'`;
}

export function absolutePath(what: string, value: string): string {
  if (!value.startsWith('/')) throw new AmphoraConfigError(`${what} ${JSON.stringify(value)} must be an absolute path`);
  return word(what, value);
}

export function ipAddress(what: string, value: string): { address: string; family: 4 | 6 } {
  const family = isIP(value);
  if (family === 0) throw new AmphoraConfigError(`${what} ${JSON.stringify(value)} is not an IP address`);
  return { address: value, family: family as 4 | 6 };
}

export function cidr(what: string, value: string): string {
  const [address, length, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  const bits = Number(length);
  if (family === 0 || rest.length > 0 || (length !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128)))) {
    throw new AmphoraConfigError(`${what} ${JSON.stringify(value)} is not a CIDR`);
  }
  return value;
}

export function port(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new AmphoraConfigError(`${what} ${value} is not a port (1-65535)`);
  return value;
}

export function integerIn(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new AmphoraConfigError(`${what} ${value} must be an integer in ${min}..${max}`);
  return value;
}
