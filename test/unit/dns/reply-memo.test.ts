// The reply memo's two parsers: which queries it may answer, and where the TTLs of a reply are.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type Packet } from 'dns-packet';
import { replayKey, ttlOffsets } from '../../../src/dns/server/reply-memo.js';

type Additional = NonNullable<Packet['additionals']>[number];

function queryWire(o: { id?: number; flags?: number; name?: string; questions?: number; opt?: Record<string, unknown> | null } = {}): Buffer {
  const q = { name: o.name ?? 'svc.default.svc.cluster.local', type: 'A' as const, class: 'IN' as const };
  return dnsPacket.encode({
    id: o.id ?? 7,
    type: 'query',
    flags: o.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: Array.from({ length: o.questions ?? 1 }, () => q),
    additionals: o.opt === null || o.opt === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [], ...o.opt } as unknown as Additional],
  });
}

describe('reply memo: replayKey', () => {
  it('is the bytes after the header, whatever the id and RD bit', () => {
    const a = queryWire({ id: 1 });
    assert.equal(replayKey(a), a.toString('latin1', 12));
    assert.equal(replayKey(queryWire({ id: 2, flags: 0 })), replayKey(a));
  });

  it('tells spellings, EDNS sizes and the DO bit apart', () => {
    const keys = [
      queryWire(),
      queryWire({ name: 'SVC.default.svc.cluster.local' }),
      queryWire({ opt: {} }),
      queryWire({ opt: { udpPayloadSize: 4096 } }),
      queryWire({ opt: { flags: dnsPacket.DNSSEC_OK } }),
    ].map(replayKey);
    assert.ok(keys.every((k) => k !== null));
    assert.equal(new Set(keys).size, keys.length);
  });

  const refused: [string, () => Buffer][] = [
    ['an OPT record with options', () => queryWire({ opt: { options: [{ code: 'PADDING', length: 4 }] } })],
    ['two questions', () => queryWire({ questions: 2 })],
    ['a response', () => {
      const wire = queryWire();
      wire[2] |= 0x80;
      return wire;
    }],
    ['opcode NOTIFY', () => queryWire({ flags: 4 << 11 })],
    ['trailing bytes', () => Buffer.concat([queryWire(), Buffer.from([0])])],
    ['a cut question', () => queryWire().subarray(0, 20)],
    ['a compressed question name', () => {
      const wire = queryWire();
      return Buffer.concat([wire.subarray(0, 12), Buffer.from([0xc0, 0x0c]), wire.subarray(wire.length - 4)]);
    }],
    ['an answer record in the query', () => {
      const wire = queryWire();
      wire.writeUInt16BE(1, 6);
      return wire;
    }],
  ];
  for (const [what, wire] of refused) {
    it(`is null for ${what}`, () => assert.equal(replayKey(wire()), null));
  }
});

describe('reply memo: ttlOffsets', () => {
  it('finds the TTL of every record but OPT, through compressed names', () => {
    const wire = dnsPacket.encode({
      id: 1,
      type: 'response',
      questions: [{ name: 'web.default.svc.cluster.local', type: 'SRV', class: 'IN' }],
      answers: [{ name: 'web.default.svc.cluster.local', type: 'SRV', ttl: 11, data: { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' } }],
      authorities: [{ name: 'cluster.local', type: 'SOA', ttl: 22, data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } }],
      additionals: [
        { name: 'web.default.svc.cluster.local', type: 'A', ttl: 33, data: '198.19.0.10' },
        { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Additional,
      ],
    });
    const offsets = ttlOffsets(wire);
    assert.deepEqual(offsets?.map((at) => wire.readUInt32BE(at)), [11, 22, 33]);
  });

  it('is null for a message that does not parse to its end', () => {
    const wire = dnsPacket.encode({ id: 1, type: 'response', questions: [{ name: 'a.test', type: 'A', class: 'IN' }], answers: [{ name: 'a.test', type: 'A', ttl: 5, data: '198.18.0.1' }] });
    assert.equal(ttlOffsets(wire.subarray(0, wire.length - 2)), null);
    assert.equal(ttlOffsets(Buffer.concat([wire, Buffer.from([0])])), null);
  });
});
