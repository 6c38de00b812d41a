// Decoding queries and encoding replies: EDNS0, truncation to the client's buffer, and the
// question echoed exactly as asked.
import dnsPacket, { type Packet } from 'dns-packet';
import { Rcode, type DnsReply, type DnsRecord } from './message.js';
import { encodeCompressed } from './encoder.js';

const QR = 1 << 15;
const AA = 1 << 10;
const TC = 1 << 9;
const RD = 1 << 8;
const RA = 1 << 7;
const DO = 1 << 15;

export const MIN_UDP_SIZE = 512;
// Larger EDNS0 sizes are clamped: fragments are where UDP DNS goes to die.
export const MAX_UDP_SIZE = 4096;
export const MAX_TCP_SIZE = 65535;

export type DecodedQuery =
  | { kind: 'query'; packet: Packet; ednsSize: number | null; dnssecOk: boolean }
  // The header parsed but the rest did not: answer FORMERR with the client's id.
  | { kind: 'formerr'; id: number; flags: number }
  // Not even a header: count and drop.
  | { kind: 'drop'; reason: string };

export function decodeQuery(buf: Buffer): DecodedQuery {
  if (buf.length < 12) return { kind: 'drop', reason: 'short' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & QR) return { kind: 'drop', reason: 'response' };
  let packet: Packet;
  try {
    packet = dnsPacket.decode(buf);
  } catch {
    return { kind: 'formerr', id, flags };
  }
  const questions = packet.questions ?? [];
  if (questions.length !== 1 || ((flags >> 11) & 0xf) !== 0) return { kind: 'formerr', id, flags };
  let ednsSize: number | null = null;
  let dnssecOk = false;
  for (const rr of packet.additionals ?? []) {
    if (rr.type === 'OPT') {
      ednsSize = Math.max(MIN_UDP_SIZE, (rr as { udpPayloadSize?: number }).udpPayloadSize ?? MIN_UDP_SIZE);
      dnssecOk = (((rr as { flags?: number }).flags ?? 0) & DO) !== 0;
    }
  }
  return { kind: 'query', packet, ednsSize, dnssecOk };
}

export function encodeFormErr(id: number, queryFlags: number): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(QR | (queryFlags & RD) | RA | Rcode.FORMERR, 2);
  return buf;
}

export interface EncodeContext {
  id: number;
  question: Packet['questions'] extends (infer Q)[] | undefined ? Q : never;
  recursionDesired: boolean;
  ednsSize: number | null;
  dnssecOk: boolean;
  maxSize: number;
}

function buildPacket(ctx: EncodeContext, r: DnsReply, answers: DnsRecord[], authorities: DnsRecord[], additionals: DnsRecord[], truncated: boolean): Packet {
  let flags = (r.rcode & 0xf);
  if (r.authoritative) flags |= AA;
  if (ctx.recursionDesired) flags |= RD;
  if (r.recursionAvailable !== false) flags |= RA;
  if (truncated) flags |= TC;
  const extra: DnsRecord[] = additionals.filter((rr) => rr.type !== 'OPT');
  if (ctx.ednsSize !== null) {
    extra.push({ type: 'OPT', name: '.', udpPayloadSize: ctx.ednsSize, flags: ctx.dnssecOk ? DO : 0, options: [] } as unknown as DnsRecord);
  }
  return { id: ctx.id, type: 'response', flags, questions: [ctx.question], answers, authorities, additionals: extra };
}

// Compressed where every record type allows it, dns-packet's uncompressed encoding otherwise.
function encodePacket(p: Packet): Buffer {
  return encodeCompressed(p) ?? dnsPacket.encode(p);
}

// Encodes a reply that fits maxSize: first without additionals, then with as many answers as
// fit and TC set, which tells the client to retry over TCP.
export function encodeReply(ctx: EncodeContext, r: DnsReply): { wire: Buffer; truncated: boolean } {
  const full = encodePacket(buildPacket(ctx, r, r.answers, r.authorities, r.additionals, r.truncated === true));
  if (full.length <= ctx.maxSize) return { wire: full, truncated: r.truncated === true };
  const noExtra = encodePacket(buildPacket(ctx, r, r.answers, r.authorities, [], r.truncated === true));
  if (noExtra.length <= ctx.maxSize) return { wire: noExtra, truncated: r.truncated === true };
  let lo = 0;
  let hi = r.answers.length;
  let best = encodePacket(buildPacket(ctx, r, [], [], [], true));
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const wire = encodePacket(buildPacket(ctx, r, r.answers.slice(0, mid), [], [], true));
    if (wire.length <= ctx.maxSize) {
      best = wire;
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return { wire: best, truncated: true };
}

export function maxReplySize(transport: 'udp' | 'tcp', ednsSize: number | null): number {
  if (transport === 'tcp') return MAX_TCP_SIZE;
  return ednsSize === null ? MIN_UDP_SIZE : Math.min(ednsSize, MAX_UDP_SIZE);
}
