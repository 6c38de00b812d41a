// forward and cache against scriptable local upstreams and dnsmasq; loopback only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { dig, query } from './support/dns-client.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { cleanupsAfterFile } from './support/cleanups.js';
import { startTestDns, type TestDns } from './support/server.js';

const defer = cleanupsAfterFile();

async function upstream(address?: string): Promise<FakeUpstream> {
  const u = await startFakeUpstream(address);
  defer(() => u.close());
  return u;
}

async function dns(corefile: string): Promise<TestDns> {
  const s = await startTestDns(corefile);
  defer(() => s.close());
  return s;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  s.close();
  return port;
}

async function startDnsmasq(port: number): Promise<ChildProcess> {
  const child = spawn('dnsmasq', ['--no-daemon', '--port', String(port), '--listen-address', '127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--user=root', '--address=/wild.masq.test/10.8.0.1', '--host-record=h.masq.test,10.8.0.2'], { stdio: 'ignore' });
  defer(() => void child.kill());
  for (let i = 0; i < 50; i++) {
    const r = await query(port, 'h.masq.test', 'A', { timeoutMs: 100 }).catch(() => null);
    if (r) return child;
  }
  throw new Error('dnsmasq did not start');
}

describe('forward', { timeout: 90_000 }, () => {
  it('relays to dnsmasq and returns its answer', async () => {
    const port = await freeUdpPort();
    await startDnsmasq(port);
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${port}\n}`);
    assert.deepEqual((await dig(s.port, 'h.masq.test')).answer, ['h.masq.test. 0 IN A 10.8.0.2']);
    assert.deepEqual((await dig(s.port, 'x.wild.masq.test')).answer, ['x.wild.masq.test. 0 IN A 10.8.0.1']);
  });

  it('skips an upstream that does not answer, then health checks keep it out', async () => {
    const dead = await upstream();
    dead.silent = true;
    const live = await upstream('10.6.6.7');
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${dead.port} 127.0.0.1:${live.port} {\n    policy sequential\n    max_fails 1\n    health_check 100ms\n  }\n}`);
    const first = await dig(s.port, 'a.example');
    assert.deepEqual(first.answer, ['a.example. 30 IN A 10.6.6.7']);
    await dig(s.port, 'b.example');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    assert.deepEqual((await dig(s.port, 'c.example')).answer, ['c.example. 30 IN A 10.6.6.7']);
    assert.ok(Date.now() - t0 < 1000, 'a down upstream is skipped without waiting for its timeout');
    assert.ok(dead.seen.some((q) => q.type === 'NS' && (q.name === '.' || q.name === '')), 'health checks probe ". IN NS"');
  });

  it('force_tcp sends queries over TCP; a truncated UDP reply is retried over TCP', async () => {
    const u = await upstream();
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${u.port} {\n    force_tcp\n  }\n}`);
    await dig(s.port, 'tcp.example');
    assert.deepEqual(u.seen.map((q) => q.proto), ['tcp']);
    const t = await upstream();
    t.truncateUdp = true;
    const s2 = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${t.port}\n}`);
    assert.deepEqual((await dig(s2.port, 'big.example')).answer, ['big.example. 30 IN A 10.6.6.6']);
    assert.deepEqual(t.seen.map((q) => q.proto), ['udp', 'tcp']);
  });

  it('prefer_udp keeps UDP even for TCP clients', async () => {
    const u = await upstream();
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${u.port} {\n    prefer_udp\n  }\n}`);
    await dig(s.port, 'x.example', 'A', ['+tcp']);
    assert.deepEqual(u.seen.map((q) => q.proto), ['udp']);
  });

  it('except: listed zones are not forwarded', async () => {
    const u = await upstream();
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${u.port} {\n    except internal.example\n  }\n}`);
    assert.equal((await dig(s.port, 'a.internal.example')).status, 'SERVFAIL');
    assert.equal((await dig(s.port, 'a.public.example')).status, 'NOERROR');
    assert.deepEqual(u.seen.map((q) => q.name), ['a.public.example']);
  });

  it('max_concurrent: queries beyond the limit are refused', async () => {
    const u = await upstream();
    u.delayMs = 300;
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${u.port} {\n    max_concurrent 2\n  }\n}`);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => query(s.port, `q${i}.example`, 'A')));
    const codes = results.map((r) => r.rcode);
    assert.equal(codes.filter((c) => c === 'NOERROR').length, 2);
    assert.equal(codes.filter((c) => c === 'REFUSED').length, 4);
  });

  it('round_robin spreads queries over upstreams', async () => {
    const a = await upstream();
    const b = await upstream();
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  forward . 127.0.0.1:${a.port} 127.0.0.1:${b.port} {\n    policy round_robin\n  }\n}`);
    for (let i = 0; i < 4; i++) await query(s.port, `rr${i}.example`, 'A');
    assert.equal(a.seen.length, 2);
    assert.equal(b.seen.length, 2);
  });
});

describe('cache', { timeout: 90_000 }, () => {
  it('answers repeats from the success cache with a decreasing TTL', async () => {
    const u = await upstream();
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  cache\n  forward . 127.0.0.1:${u.port}\n}`);
    await dig(s.port, 'c.example');
    await new Promise((r) => setTimeout(r, 1100));
    const again = await dig(s.port, 'C.EXAMPLE');
    assert.equal(u.seen.length, 1);
    assert.match(again.answer[0], /^C\.EXAMPLE\. (2[0-9]) IN A 10\.6\.6\.6$/);
  });

  it('caches denials for the SOA minimum, bounded by the denial TTL', async () => {
    const u = await upstream();
    u.nxdomain.add('no.example');
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  cache {\n    denial 100 3\n  }\n  forward . 127.0.0.1:${u.port}\n}`);
    assert.equal((await dig(s.port, 'no.example')).status, 'NXDOMAIN');
    const cached = await dig(s.port, 'no.example');
    assert.equal(cached.status, 'NXDOMAIN');
    assert.match(cached.authority[0], /^test\. [0-3] IN SOA/);
    assert.equal(u.seen.length, 1);
  });

  it('bounds the success cache by capacity', async () => {
    const u = await upstream();
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  cache {\n    success 1\n  }\n  forward . 127.0.0.1:${u.port}\n}`);
    await query(s.port, 'one.example', 'A');
    await query(s.port, 'two.example', 'A');
    await query(s.port, 'one.example', 'A');
    assert.equal(u.seen.length, 3);
  });

  it('disable success ZONE keeps those answers out of the cache', async () => {
    const u = await upstream();
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  cache {\n    disable success live.example\n  }\n  forward . 127.0.0.1:${u.port}\n}`);
    await query(s.port, 'a.live.example', 'A');
    await query(s.port, 'a.live.example', 'A');
    await query(s.port, 'a.other.example', 'A');
    await query(s.port, 'a.other.example', 'A');
    assert.deepEqual(u.seen.map((q) => q.name), ['a.live.example', 'a.live.example', 'a.other.example']);
  });

  it('prefetch refreshes a popular entry before it expires', async () => {
    const u = await upstream();
    u.ttl = 6;
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  cache {\n    prefetch 1 1m 90%\n  }\n  forward . 127.0.0.1:${u.port}\n}`);
    await query(s.port, 'p.example', 'A');
    await new Promise((r) => setTimeout(r, 1100));
    await query(s.port, 'p.example', 'A');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(u.seen.length, 2, 'the second hit triggered a background refresh');
  });

  it('serve_stale answers from an expired entry when the upstream is gone', async () => {
    const u = await upstream();
    u.ttl = 1;
    const s = await dns(`.:0 {\n  bind 127.0.0.1\n  cache {\n    success 100 1 1\n    serve_stale 1h\n  }\n  forward . 127.0.0.1:${u.port}\n}`);
    await query(s.port, 'stale.example', 'A');
    u.silent = true;
    await new Promise((r) => setTimeout(r, 1200));
    const r = await dig(s.port, 'stale.example');
    assert.deepEqual(r.answer, ['stale.example. 0 IN A 10.6.6.6']);
  });
});
