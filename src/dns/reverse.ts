// Reverse-lookup names for addresses, and back.
import { isIP } from 'node:net';
import { expandIPv6 } from './corefile/address.js';

export function reverseName(address: string): string {
  if (isIP(address) === 4) return address.split('.').reverse().join('.') + '.in-addr.arpa';
  return expandIPv6(address).split('').reverse().join('.') + '.ip6.arpa';
}

// The address a full reverse name stands for, or null for partial or malformed names.
export function addressOfReverseName(name: string): string | null {
  if (name.endsWith('.in-addr.arpa')) {
    const labels = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.length !== 4 || !labels.every((l) => /^\d{1,3}$/.test(l) && Number(l) < 256)) return null;
    return labels.reverse().map(Number).join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const labels = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return null;
    const hex = labels.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4).replace(/^0+(?=.)/, ''));
    return canonicalIPv6(groups.join(':'));
  }
  return null;
}

// RFC 5952 text of an IPv6 address, so addresses from different sources compare equal.
export function canonicalIPv6(address: string): string {
  const hex = expandIPv6(address);
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4).replace(/^0+(?=.)/, ''));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return groups.slice(0, bestStart).join(':') + '::' + groups.slice(bestStart + bestLen).join(':');
}

// The address itself when already canonical (as the API sends them), so no second copy is kept.
export function canonicalIP(address: string): string {
  if (isIP(address) !== 6) return address;
  const canonical = canonicalIPv6(address);
  return canonical === address ? address : canonical;
}
