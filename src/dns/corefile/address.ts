// Server block keys: `[dns://]ZONE[:PORT]`, where ZONE may be a CIDR that stands for reverse zones.
import { isIP } from 'node:net';
import { normalizeName } from '../names.js';

export interface ServerAddress {
  zone: string;
  port: number;
}

export function parseServerKey(key: string, defaultPort: number): ServerAddress[] {
  let rest = key;
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(rest);
  if (scheme) {
    if (scheme[1].toLowerCase() !== 'dns') throw new Error(`transport '${scheme[1]}://' is not supported; only dns:// (UDP and TCP)`);
    rest = rest.slice(scheme[0].length);
  }
  let port = defaultPort;
  const colon = rest.lastIndexOf(':');
  // A colon inside a CIDR or IPv6 address is not a port separator; a port follows the last '/len' or zone.
  if (colon >= 0 && !rest.includes('/') || (rest.includes('/') && colon > rest.indexOf('/'))) {
    const portText = rest.slice(colon + 1);
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new Error(`invalid port '${portText}' in '${key}'`);
    port = Number(portText);
    rest = rest.slice(0, colon);
  }
  if (rest.includes('/')) return reverseZonesOfCidr(rest).map((zone) => ({ zone, port }));
  if (rest === '' ) throw new Error(`empty zone in '${key}'`);
  return [{ zone: normalizeName(rest === '.' ? '' : rest), port }];
}

// CIDRs on octet (IPv4) or nibble (IPv6) boundaries map to exactly one reverse zone.
export function reverseZonesOfCidr(cidr: string): string[] {
  const [address, lengthText] = cidr.split('/');
  const length = Number(lengthText);
  const family = isIP(address);
  if (!family || !/^\d+$/.test(lengthText)) throw new Error(`invalid CIDR '${cidr}'`);
  if (family === 4) {
    if (length > 32 || length % 8 !== 0) throw new Error(`CIDR '${cidr}': only prefix lengths that are multiples of 8 are supported`);
    const octets = address.split('.').slice(0, length / 8);
    return [[...octets.reverse(), 'in-addr', 'arpa'].join('.')];
  }
  if (length > 128 || length % 4 !== 0) throw new Error(`CIDR '${cidr}': only prefix lengths that are multiples of 4 are supported`);
  const nibbles = expandIPv6(address).slice(0, length / 4).split('');
  return [[...nibbles.reverse(), 'ip6', 'arpa'].join('.')];
}

// The 32 hex digits of an IPv6 address.
export function expandIPv6(address: string): string {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + ((o[0] << 8) | o[1]).toString(16) + ':' + ((o[2] << 8) | o[3]).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...tailGroups];
  return groups.map((g) => g.padStart(4, '0')).join('').toLowerCase();
}
