import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp, IpAllocator, parseCidr, parseIp, PortAllocator } from '../../../../src/kube/apiserver/service-allocator.js';

test('IPv6 addresses format canonically (RFC 5952)', () => {
  const cases: Array<[string, string]> = [
    ['fd00:10:96:0:0:0:0:a', 'fd00:10:96::a'],
    ['fd00:0:0:1:0:0:0:1', 'fd00:0:0:1::1'],
    ['fd00:0:0:1:1:0:0:1', 'fd00::1:1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['FD00::0A', 'fd00::a'],
  ];
  for (const [input, expected] of cases) {
    const ip = parseIp(input)!;
    assert.equal(formatIp(ip.family, ip.value), expected, input);
  }
  assert.equal(parseIp('198.19.0.1')!.value, (198n << 24n) | (19n << 16n) | 1n);
  assert.equal(parseIp('not-an-ip'), undefined);
});

test('CIDRs are normalized to their network address', () => {
  assert.equal(parseCidr('198.19.3.4/16').text, '198.19.0.0/16');
  assert.equal(parseCidr('fd00:10:96::5/108').text, 'fd00:10:96::/108');
  assert.throws(() => parseCidr('198.19.0.0/33'));
  assert.throws(() => parseCidr('198.19.0.0'));
});

test('an IPv4 range hands out neither its network nor its broadcast address', () => {
  const a = new IpAllocator(parseCidr('198.18.0.0/29'));
  const got = new Set<string>();
  for (let i = 0; i < 6; i++) got.add(a.allocate() as string);
  assert.deepEqual([...got].sort(), ['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4', '198.18.0.5', '198.18.0.6']);
  assert.equal(a.allocate(), 'full');
  a.release('198.18.0.3');
  assert.equal(a.allocate(), '198.18.0.3');
});

test('explicit addresses: in range and free, compared canonically', () => {
  const a = new IpAllocator(parseCidr('fd00:10:96::/120'));
  assert.equal(a.allocate('fd00:10:96::a'), 'fd00:10:96::a');
  assert.equal(a.allocate('fd00:10:96:0::000a'), 'already-allocated');
  assert.equal(a.allocate('fd00:10:97::a'), 'out-of-range');
  assert.equal(a.allocate('fd00:10:96::'), 'out-of-range');
  assert.equal(a.allocate('198.18.0.1'), 'out-of-range');
  assert.equal(a.firstAddress(), 'fd00:10:96::1');
});

test('node ports: the range, duplicates, release', () => {
  const p = new PortAllocator(30000, 30002);
  assert.equal(p.allocate(30001), 30001);
  assert.equal(p.allocate(30001), 'already-allocated');
  assert.equal(p.allocate(80), 'out-of-range');
  const rest = [p.allocate(), p.allocate()].sort();
  assert.deepEqual(rest, [30000, 30002]);
  assert.equal(p.allocate(), 'full');
  p.release(30000);
  assert.equal(p.allocate(), 30000);
});
