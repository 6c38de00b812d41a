import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateAddresses, checkPools, defaultAllocationPools, defaultGateway, eui64Address, poolSize } from '../../../../src/server/network/ipam.js';

test('default gateway and pools', () => {
  const cases: [string, string | null, { start: string; end: string }[]][] = [
    ['198.18.0.0/24', '198.18.0.1', [{ start: '198.18.0.2', end: '198.18.0.254' }]],
    ['198.18.0.0/30', '198.18.0.1', [{ start: '198.18.0.2', end: '198.18.0.2' }]],
    ['fd00:1::/64', 'fd00:1::1', [{ start: 'fd00:1::2', end: 'fd00:1::ffff:ffff:ffff:ffff' }]],
  ];
  for (const [cidr, gateway, pools] of cases) {
    assert.equal(defaultGateway(cidr), gateway, cidr);
    assert.deepEqual(defaultAllocationPools(cidr, gateway), pools, cidr);
  }
  assert.deepEqual(defaultAllocationPools('198.18.0.0/24', '198.18.0.100'), [
    { start: '198.18.0.1', end: '198.18.0.99' },
    { start: '198.18.0.101', end: '198.18.0.254' },
  ]);
  assert.deepEqual(defaultAllocationPools('198.18.0.0/24', null), [{ start: '198.18.0.1', end: '198.18.0.254' }]);
});

test('pool checks', () => {
  assert.equal(checkPools('198.18.0.0/24', [{ start: '198.18.0.10', end: '198.18.0.20' }]), undefined);
  assert.match(checkPools('198.18.0.0/24', [{ start: '198.18.0.10', end: '198.18.1.20' }])!, /larger than subnet/);
  assert.match(checkPools('198.18.0.0/24', [{ start: '198.18.0.20', end: '198.18.0.10' }])!, /invalid IP address in pool/);
  assert.match(
    checkPools('198.18.0.0/24', [
      { start: '198.18.0.10', end: '198.18.0.20' },
      { start: '198.18.0.15', end: '198.18.0.30' },
    ])!,
    /overlapping allocation pools/,
  );
  assert.match(checkPools('198.18.0.0/24', [{ start: 'fd00::1', end: 'fd00::2' }])!, /larger than subnet/);
});

test('candidates cover every pool address exactly once, from any start', () => {
  const pools = [
    { start: '198.18.0.2', end: '198.18.0.4' },
    { start: '198.18.0.10', end: '198.18.0.11' },
  ];
  for (const r of [0, 0.3, 0.99]) {
    const seen = [...candidateAddresses(pools, () => r)].map(Number).sort((a, b) => a - b);
    const base = 198 * 2 ** 24 + 18 * 2 ** 16;
    assert.deepEqual(seen.map((v) => v - base), [2, 3, 4, 10, 11]);
  }
  assert.equal(poolSize(pools), 5n);
  assert.deepEqual([...candidateAddresses([])], []);
});

test('SLAAC address from a MAC (modified EUI-64)', () => {
  assert.equal(eui64Address('fd00:1::/64', 'fa:16:3e:12:34:56'), 'fd00:1::f816:3eff:fe12:3456');
});
