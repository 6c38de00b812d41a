// The server's wire behaviour: UDP and TCP, EDNS0 sizes, truncation and TCP fallback, case,
// malformed input, zone routing, and Corefile errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { dig, encodeQuery, query, sendRaw } from './support/dns-client.js';
import { startTestDns, type TestDns } from './support/server.js';

const MANY = Array.from({ length: 80 }, (_, i) => `10.9.${Math.floor(i / 250)}.${(i % 250) + 1} many.test`).join('\n    ');

describe('dns server wire behaviour', { timeout: 90_000 }, () => {
  let dns: TestDns;
  before(async () => {
    dns = await startTestDns(`
test:0 {
  bind 127.0.0.1
  hosts {
    ${MANY}
    10.0.0.1 one.test
    fallthrough
  }
}
other.test:0 {
  bind 127.0.0.1
  hosts {
    10.0.0.2 x.other.test
  }
}`);
  }, { timeout: 30_000 });
  after(() => dns.close(), { timeout: 30_000 });

  it('answers over UDP and TCP', async () => {
    assert.deepEqual((await dig(dns.port, 'one.test')).answer, ['one.test. 3600 IN A 10.0.0.1']);
    assert.deepEqual((await dig(dns.port, 'one.test', 'A', ['+tcp'])).answer, ['one.test. 3600 IN A 10.0.0.1']);
  });

  it('routes a query to the most specific server block on the port', async () => {
    assert.deepEqual((await dig(dns.port, 'x.other.test')).answer, ['x.other.test. 3600 IN A 10.0.0.2']);
  });

  it('refuses names outside every zone', async () => {
    assert.equal((await dig(dns.port, 'example.com')).status, 'REFUSED');
  });

  it('echoes the EDNS0 OPT record with the client buffer size, and none without EDNS', async () => {
    const withEdns = await query(dns.port, 'one.test', 'A', { ednsSize: 1400 });
    const opt = withEdns.additionals?.find((r) => r.type === 'OPT') as { udpPayloadSize: number } | undefined;
    assert.equal(opt?.udpPayloadSize, 1400);
    const without = await query(dns.port, 'one.test', 'A', { ednsSize: null });
    assert.equal(without.additionals?.length ?? 0, 0);
  });

  it('truncates over UDP to 512 bytes without EDNS, setting TC; TCP carries the whole answer', async () => {
    const udpWire = await sendRaw(dns.port, encodeQuery('many.test', 'A', null));
    assert.ok(udpWire.length <= 512, `udp reply is ${udpWire.length} bytes`);
    const udp = dnsPacket.decode(udpWire) as unknown as { flag_tc: boolean; answers: unknown[] };
    assert.equal(udp.flag_tc, true);
    assert.ok(udp.answers.length > 20, 'as many answers as fit, compressed');
    const tcp = await query(dns.port, 'many.test', 'A', { tcp: true, ednsSize: null });
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers?.length, 80);
    const bigBuffer = await query(dns.port, 'many.test', 'A', { ednsSize: 4096 });
    assert.equal(bigBuffer.flag_tc, false);
    assert.equal(bigBuffer.answers?.length, 80);
  });

  it('dig falls back to TCP on a truncated UDP answer', async () => {
    const r = await dig(dns.port, 'many.test', 'A', ['+noedns']);
    assert.equal(r.answer.length, 80);
    assert.match(r.raw, /Truncated, retrying in TCP mode/);
  });

  it('preserves the question case', async () => {
    assert.deepEqual((await dig(dns.port, 'ONE.Test')).answer, ['ONE.Test. 3600 IN A 10.0.0.1']);
  });

  it('drops garbage and answers FORMERR to an undecodable query, and keeps serving', async () => {
    await assert.rejects(sendRaw(dns.port, Buffer.from([1, 2, 3]), false, 300), /timeout/);
    const broken = encodeQuery('one.test', 'A', null).subarray(0, 20);
    const formerr = dnsPacket.decode(await sendRaw(dns.port, broken)) as unknown as { rcode: string; id: number };
    assert.equal(formerr.rcode, 'FORMERR');
    assert.equal(formerr.id, broken.readUInt16BE(0));
    const twoQuestions = dnsPacket.encode({ id: 7, type: 'query', questions: [{ name: 'a.test', type: 'A' }, { name: 'b.test', type: 'A' }] });
    assert.equal((dnsPacket.decode(await sendRaw(dns.port, twoQuestions)) as unknown as { rcode: string }).rcode, 'FORMERR');
    const tcpGarbage = await sendRaw(dns.port, Buffer.from('not dns at all'), true).catch(() => null);
    assert.ok(tcpGarbage === null || (dnsPacket.decode(tcpGarbage) as unknown as { rcode: string }).rcode === 'FORMERR');
    assert.deepEqual((await dig(dns.port, 'one.test')).answer, ['one.test. 3600 IN A 10.0.0.1']);
  });
});

describe('Corefile errors', { timeout: 90_000 }, () => {
  const cases: [string, string, RegExp][] = [
    ['unknown directive', '.:0 {\n  bind 127.0.0.1\n  frobnicate\n}', /Corefile:3 .*unknown directive 'frobnicate'/],
    ['unsupported CoreDNS plugin', '.:0 {\n  rewrite name a b\n}', /Corefile:2 .*plugin 'rewrite' is not supported/],
    ['unsupported option', '.:0 {\n  cache {\n    frob 1\n  }\n}', /Corefile:3 .*cache: option 'frob' is not supported/],
    ['bad argument', '.:0 {\n  kubernetes {\n    ttl 99999\n  }\n}', /Corefile:3 .*ttl: 99999 is outside 0\.\.3600/],
    ['duplicate zone', '.:0 {\n}\n.:0 {\n}', /Corefile:3 .*already defined/],
    ['forward without upstream', '.:0 {\n  forward .\n}', /Corefile:2 .*forward: expected at least 2 argument/],
  ];
  for (const [name, corefile, re] of cases) {
    it(`rejects ${name} with its line number`, async () => {
      await assert.rejects(startTestDns(corefile), re);
    });
  }
});
