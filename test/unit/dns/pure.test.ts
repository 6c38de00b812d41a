// Tables for the small pure pieces: durations, reverse names, hosts files, label selectors,
// cache policy, forward options and upstream order, loadbalance.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../../src/dns/plugins/args.js';
import { addressOfReverseName, canonicalIPv6, reverseName } from '../../../src/dns/reverse.js';
import { parseHosts } from '../../../src/dns/plugins/hosts/hosts-file.js';
import { matchesLabels, parseLabelSelector } from '../../../src/kube/label-selector.js';
import { cacheTtl, classifyReply, type CachePolicy } from '../../../src/dns/plugins/cache/policy.js';
import { parseForwardOptions, upstreamOrder } from '../../../src/dns/plugins/forward/index.js';
import { parseResolvConfNameservers } from '../../../src/dns/plugins/forward/resolv-conf.js';
import { shuffleAddressRecords } from '../../../src/dns/plugins/loadbalance/index.js';
import { isSubdomain, matchZone, trimZone } from '../../../src/dns/names.js';
import type { DnsReply } from '../../../src/dns/message.js';

describe('durations (Go syntax)', () => {
  const cases: [string, number | null][] = [['5s', 5000], ['1m30s', 90000], ['500ms', 500], ['1h', 3600000], ['0', 0], ['5', null], ['abc', null]];
  for (const [text, ms] of cases) it(text, () => assert.equal(parseDuration(text), ms));
});

describe('names', () => {
  it('matches zones', () => {
    assert.equal(isSubdomain('a.cluster.local', 'cluster.local'), true);
    assert.equal(isSubdomain('acluster.local', 'cluster.local'), false);
    assert.equal(isSubdomain('anything', ''), true);
    assert.equal(matchZone('a.b.cluster.local', ['', 'cluster.local', 'b.cluster.local']), 'b.cluster.local');
    assert.equal(trimZone('web.default.svc.cluster.local', 'cluster.local'), 'web.default.svc');
  });
});

describe('reverse names', () => {
  const cases: [string, string][] = [
    ['10.96.0.10', '10.0.96.10.in-addr.arpa'],
    ['fd00::a', 'a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa'],
  ];
  for (const [ip, name] of cases) {
    it(`${ip} <-> ${name}`, () => {
      assert.equal(reverseName(ip), name);
      assert.equal(addressOfReverseName(name), ip);
    });
  }
  it('rejects partial names and canonicalises IPv6', () => {
    assert.equal(addressOfReverseName('96.10.in-addr.arpa'), null);
    assert.equal(canonicalIPv6('FD00:0:0:0:0:0:0:A'), 'fd00::a');
    assert.equal(canonicalIPv6('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
  });
});

describe('hosts file', () => {
  it('parses addresses, aliases and comments', () => {
    const t = parseHosts('# c\n10.0.0.1 a.test b.test # inline\nfd00::1 a.test\nbogus line\n');
    assert.deepEqual(t.v4.get('a.test'), ['10.0.0.1']);
    assert.deepEqual(t.v4.get('b.test'), ['10.0.0.1']);
    assert.deepEqual(t.v6.get('a.test'), ['fd00::1']);
    assert.deepEqual(t.reverse.get('1.0.0.10.in-addr.arpa'), ['a.test', 'b.test']);
  });
});

describe('label selectors', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['app=web', { app: 'web' }, true],
    ['app=web', { app: 'db' }, false],
    ['app!=web', {}, true],
    ['app in (web, db),tier', { app: 'db', tier: 'x' }, true],
    ['app notin (web)', { app: 'web' }, false],
    ['!canary', { canary: '1' }, false],
  ];
  for (const [sel, labels, want] of cases) it(`${sel} on ${JSON.stringify(labels)}`, () => assert.equal(matchesLabels(parseLabelSelector(sel), labels), want));
});

describe('cache policy', () => {
  const policy: CachePolicy = { success: { maxTtl: 3600, minTtl: 5 }, denial: { maxTtl: 1800, minTtl: 5 }, servfailTtl: 5 };
  const r = (rcode: number, answerTtls: number[], soa?: { ttl: number; minimum: number }): DnsReply => ({
    rcode,
    authoritative: true,
    answers: answerTtls.map((ttl) => ({ name: 'x', type: 'A', ttl, data: '1.2.3.4' })),
    authorities: soa ? [{ name: 'z', type: 'SOA', ttl: soa.ttl, data: { mname: 'a', rname: 'b', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: soa.minimum } }] : [],
    additionals: [],
    plugin: 'x',
  });
  const cases: [string, DnsReply, string | null, number][] = [
    ['success: smallest answer TTL', r(0, [300, 60]), 'success', 60],
    ['success: clamped up to the minimum', r(0, [1]), 'success', 5],
    ['success: clamped down to the maximum', r(0, [86400]), 'success', 3600],
    ['NXDOMAIN: SOA minimum', r(3, [], { ttl: 600, minimum: 30 }), 'denial', 30],
    ['NODATA: min of SOA TTL and minimum', r(0, [], { ttl: 20, minimum: 30 }), 'denial', 20],
    ['SERVFAIL: servfail TTL', r(2, []), 'servfail', 5],
  ];
  for (const [name, reply, cls, ttl] of cases) {
    it(name, () => {
      const c = classifyReply(reply);
      assert.equal(c, cls);
      assert.equal(cacheTtl(reply, c!, policy), ttl);
    });
  }
  it('does not cache truncated or REFUSED replies', () => {
    assert.equal(classifyReply({ ...r(0, [60]), truncated: true }), null);
    assert.equal(classifyReply(r(5, [])), null);
  });
});

describe('forward', () => {
  const d = (args: string[], block: { name: string; args: string[] }[] = []) => ({ name: 'forward', args, file: 'Corefile', line: 1, block: block.map((b) => ({ ...b, file: 'Corefile', line: 2, block: null })) });
  it('parses upstreams, resolv.conf files and options', () => {
    const o = parseForwardOptions(d(['.', '127.0.0.1:5300', 'dns://[::1]:53', '/etc/resolv.conf'], [{ name: 'policy', args: ['sequential'] }, { name: 'max_concurrent', args: ['100'] }, { name: 'except', args: ['internal.example'] }]), [''], () => 'search x\nnameserver 10.0.0.53\nnameserver fd00::53\n');
    assert.deepEqual(o.upstreams, [{ host: '127.0.0.1', port: 5300 }, { host: '::1', port: 53 }, { host: '10.0.0.53', port: 53 }, { host: 'fd00::53', port: 53 }]);
    assert.equal(o.policy, 'sequential');
    assert.equal(o.maxConcurrent, 100);
    assert.deepEqual(o.except, ['internal.example']);
  });
  it('rejects tls upstreams, host names and force_tcp with prefer_udp', () => {
    assert.throws(() => parseForwardOptions(d(['.', 'tls://1.1.1.1']), ['']), /not supported/);
    assert.throws(() => parseForwardOptions(d(['.', 'dns.example']), ['']), /not an IP address/);
    assert.throws(() => parseForwardOptions(d(['.', '127.0.0.1'], [{ name: 'force_tcp', args: [] }, { name: 'prefer_udp', args: [] }]), ['']), /mutually exclusive/);
  });
  it('orders upstreams by policy', () => {
    assert.deepEqual(upstreamOrder(3, 'sequential', 5), [0, 1, 2]);
    assert.deepEqual(upstreamOrder(3, 'round_robin', 4), [1, 2, 0]);
    assert.deepEqual(upstreamOrder(3, 'random', 0, () => 0), [1, 2, 0]);
  });
  it('reads nameservers from resolv.conf text', () => {
    assert.deepEqual(parseResolvConfNameservers('# x\nnameserver 1.2.3.4\noptions ndots:5\n nameserver ::1\n'), ['1.2.3.4', '::1']);
  });
});

describe('loadbalance', () => {
  it('keeps CNAMEs first and shuffles address records', () => {
    const rr = (type: string, data: string) => ({ name: 'x', type, ttl: 1, data }) as never;
    const out = shuffleAddressRecords([rr('CNAME', 'y'), rr('A', '1'), rr('A', '2'), rr('A', '3')], () => 0);
    assert.deepEqual(out.map((r) => (r as { data: string }).data), ['y', '2', '3', '1']);
  });
});
