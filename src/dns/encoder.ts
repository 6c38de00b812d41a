// Encodes replies with name compression (RFC 1035 4.1.4), as CoreDNS does: smaller answers,
// fewer truncations. Covers the record types the server synthesises and common upstream ones;
// returns null for anything else so the caller can fall back to dns-packet.
import { isIPv4 } from 'node:net';
import type { Packet } from 'dns-packet';
import { expandIPv6 } from './corefile/address.js';

const TYPE_CODES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41 };
const CLASS_IN = 1;
const MAX_POINTER = 0x3fff;

class Writer {
  buf: Buffer;
  pos = 0;
  // Name suffix -> offset of its first occurrence. Case-sensitive, so every name keeps the case
  // it was written with (the question's case is the client's).
  private readonly names = new Map<string, number>();

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  // Writes a name, pointing at an earlier copy of its longest known suffix.
  name(name: string, compress = true): void {
    const trimmed = name === '.' ? '' : name.endsWith('.') ? name.slice(0, -1) : name;
    const labels = trimmed === '' ? [] : trimmed.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const at = compress ? this.names.get(suffix) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.pos <= MAX_POINTER && !this.names.has(suffix)) this.names.set(suffix, this.pos);
      const label = Buffer.from(labels[i], 'utf8');
      if (label.length === 0 || label.length > 63) throw new Error(`invalid label in '${name}'`);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }
}

type WireRecord = NonNullable<Packet['answers']>[number];

function writeRecord(w: Writer, rr: WireRecord): boolean {
  const type = TYPE_CODES[rr.type];
  if (type === undefined) return false;
  if (rr.type === 'OPT') {
    const opt = rr as { udpPayloadSize?: number; extendedRcode?: number; ednsVersion?: number; flags?: number; options?: unknown[] };
    if (opt.options && opt.options.length) return false;
    w.u8(0);
    w.u16(41);
    w.u16(opt.udpPayloadSize ?? 4096);
    w.u8(opt.extendedRcode ?? 0);
    w.u8(opt.ednsVersion ?? 0);
    w.u16(opt.flags ?? 0);
    w.u16(0);
    return true;
  }
  const klass = (rr as { class?: string }).class;
  if (klass !== undefined && klass !== 'IN') return false;
  w.name(rr.name);
  w.u16(type);
  w.u16(CLASS_IN);
  w.u32((rr as { ttl?: number }).ttl ?? 0);
  const lengthAt = w.pos;
  w.u16(0);
  const start = w.pos;
  const data = (rr as { data: unknown }).data;
  switch (rr.type) {
    case 'A': {
      const text = data as string;
      if (!isIPv4(text)) return false;
      for (const o of text.split('.')) w.u8(Number(o));
      break;
    }
    case 'AAAA': {
      const hex = expandIPv6(data as string);
      w.bytes(Buffer.from(hex, 'hex'));
      break;
    }
    case 'NS':
    case 'CNAME':
    case 'PTR':
      w.name(data as string);
      break;
    case 'MX': {
      const mx = data as { preference?: number; exchange: string };
      w.u16(mx.preference ?? 0);
      w.name(mx.exchange);
      break;
    }
    case 'SRV': {
      const srv = data as { priority?: number; weight?: number; port?: number; target: string };
      w.u16(srv.priority ?? 0);
      w.u16(srv.weight ?? 0);
      w.u16(srv.port ?? 0);
      // RFC 2782: the target is not compressed.
      w.name(srv.target, false);
      break;
    }
    case 'SOA': {
      const soa = data as { mname: string; rname: string; serial?: number; refresh?: number; retry?: number; expire?: number; minimum?: number };
      w.name(soa.mname);
      w.name(soa.rname);
      w.u32(soa.serial ?? 0);
      w.u32(soa.refresh ?? 0);
      w.u32(soa.retry ?? 0);
      w.u32(soa.expire ?? 0);
      w.u32(soa.minimum ?? 0);
      break;
    }
    case 'TXT': {
      const parts = Array.isArray(data) ? data : [data];
      for (const p of parts) {
        const b = Buffer.isBuffer(p) ? p : Buffer.from(String(p), 'utf8');
        if (b.length > 255) return false;
        w.u8(b.length);
        w.bytes(b);
      }
      break;
    }
    default:
      return false;
  }
  w.buf.writeUInt16BE(w.pos - start, lengthAt);
  return true;
}

export function encodeCompressed(p: Packet): Buffer | null {
  const w = new Writer(512);
  const questions = p.questions ?? [];
  const answers = p.answers ?? [];
  const authorities = p.authorities ?? [];
  const additionals = p.additionals ?? [];
  w.u16(p.id ?? 0);
  w.u16(((p.flags ?? 0) & 0x7fff) | (p.type === 'response' ? 0x8000 : 0));
  w.u16(questions.length);
  w.u16(answers.length);
  w.u16(authorities.length);
  w.u16(additionals.length);
  for (const q of questions) {
    const type = TYPE_CODES[q.type] ?? null;
    if (type === null || (q.class !== undefined && q.class !== 'IN')) return null;
    w.name(q.name);
    w.u16(type);
    w.u16(CLASS_IN);
  }
  try {
    for (const rr of answers) if (!writeRecord(w, rr)) return null;
    for (const rr of authorities) if (!writeRecord(w, rr)) return null;
    for (const rr of additionals) if (!writeRecord(w, rr)) return null;
  } catch {
    return null;
  }
  return w.buf.subarray(0, w.pos);
}
