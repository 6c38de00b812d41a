import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, cidrsOverlap, formatCidr, parseCidr } from '../../../src/lib/ip.js';

test('canonical addresses', () => {
  const cases: [string, string | undefined][] = [
    ['198.18.0.1', '198.18.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['fd00:0:0:1::', 'fd00:0:0:1::'],
    ['10', undefined],
    ['1.2.3', undefined],
    ['256.1.1.1', undefined],
    ['fe80::1%eth0', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of cases) assert.equal(canonicalIp(input), expected, input);
});

test('CIDRs: strict parsing refuses host bits, loose parsing clears them', () => {
  assert.equal(parseCidr('198.18.0.1/24', { strict: true }), undefined);
  assert.equal(formatCidr(parseCidr('198.18.0.1/24')!), '198.18.0.0/24');
  assert.equal(formatCidr(parseCidr('fd00::1:2/64')!), 'fd00::/64');
  assert.equal(formatCidr(parseCidr('198.18.5.5')!), '198.18.5.5/32');
  assert.equal(parseCidr('198.18.0.0/33'), undefined);
  assert.equal(parseCidr('198.18.0.0/x'), undefined);
});

test('overlap', () => {
  const c = (t: string) => parseCidr(t)!;
  assert.equal(cidrsOverlap(c('198.18.0.0/16'), c('198.18.4.0/24')), true);
  assert.equal(cidrsOverlap(c('198.18.0.0/24'), c('198.18.1.0/24')), false);
  assert.equal(cidrsOverlap(c('198.18.0.0/24'), c('fd00::/64')), false);
});
