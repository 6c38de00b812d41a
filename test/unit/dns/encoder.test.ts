// The compressing encoder against dns-packet as the reference decoder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type Packet } from 'dns-packet';
import { encodeCompressed } from '../../../src/dns/encoder.js';

const packet: Packet = {
  id: 4242,
  type: 'response',
  flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | 3,
  questions: [{ name: '_HTTP._tcp.Web.default.svc.cluster.local', type: 'SRV', class: 'IN' }],
  answers: [
    { name: '_HTTP._tcp.Web.default.svc.cluster.local', type: 'SRV', class: 'IN', ttl: 5, data: { priority: 0, weight: 50, port: 80, target: 'web.default.svc.cluster.local' } },
    { name: 'web.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 5, data: 'other.default.svc.cluster.local' },
    { name: 'x.cluster.local', type: 'TXT', class: 'IN', ttl: 28800, data: '1.1.0' },
    { name: '1.0.0.10.in-addr.arpa', type: 'PTR', class: 'IN', ttl: 5, data: 'web.default.svc.cluster.local' },
    { name: 'mx.test', type: 'MX', class: 'IN', ttl: 5, data: { preference: 10, exchange: 'mail.test' } },
  ],
  authorities: [{ name: 'cluster.local', type: 'SOA', class: 'IN', ttl: 5, data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 17, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } }],
  additionals: [
    { name: 'web.default.svc.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.96.0.10' },
    { name: 'web.default.svc.cluster.local', type: 'AAAA', class: 'IN', ttl: 5, data: 'fd00:10:96::a' },
    { name: '.', type: 'OPT', udpPayloadSize: 1232, flags: 0x8000, options: [] } as never,
  ],
};

describe('compressing encoder', () => {
  it('decodes to the same message with dns-packet', () => {
    const wire = encodeCompressed(packet)!;
    const back = dnsPacket.decode(wire);
    assert.equal(back.id, 4242);
    assert.equal(back.flags, packet.flags);
    assert.equal(back.questions![0].name, '_HTTP._tcp.Web.default.svc.cluster.local');
    const strip = (rrs: Packet['answers']) => rrs!.map((r) => ({ name: r.name, type: r.type, ttl: (r as { ttl?: number }).ttl, data: JSON.stringify((r as { data?: unknown }).data) }));
    const txt = (back.answers![2] as { data: Buffer[] }).data.map((b) => b.toString());
    assert.deepEqual(txt, ['1.1.0']);
    assert.deepEqual(strip(back.answers!.filter((r) => r.type !== 'TXT')), strip(packet.answers!.filter((r) => r.type !== 'TXT')));
    assert.deepEqual(strip(back.authorities), strip(packet.authorities));
    assert.deepEqual(strip(back.additionals!.slice(0, 2)), strip(packet.additionals!.slice(0, 2)));
    const opt = back.additionals![2] as { udpPayloadSize: number; flags: number };
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.flags, 0x8000);
  });

  it('is smaller than the uncompressed encoding', () => {
    assert.ok(encodeCompressed(packet)!.length < dnsPacket.encode(packet).length - 60);
  });

  it('declines record types it does not know, for the caller to fall back', () => {
    assert.equal(encodeCompressed({ ...packet, answers: [{ name: 'x', type: 'CAA', ttl: 1, data: { flags: 0, tag: 'issue', value: 'ca' } }] }), null);
  });
});
