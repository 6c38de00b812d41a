// Replays of cache answers without the plugin chain. When the cache answers a query and nothing in
// front of it changed the reply, the server keeps the encoded reply under the query's exact bytes
// after the header (the question as spelled, and an OPT record without options). The same query
// later gets those bytes back with its own id and RD bit and every TTL set to the entry's remaining
// seconds, and is counted as the full path counts it (cache's and prometheus's series). Anything
// else (another shape of query, an entry replaced or expired, a prefetch due) takes the full path,
// so a replay is always the reply the full path would have sent.
import type { CachedAnswer } from '../message.js';
import type { CacheHitRecorder, CacheHitShape } from '../plugin.js';
import type { CounterSeries } from '../fast-metrics.js';

const HEADER = 12;
const OPT = 41;
const MAX_NAME = 255;
export const REPLY_MEMO_CAPACITY = 10_000;

// The query's bytes after the header when it has the one shape the memo serves: opcode QUERY, one
// uncompressed question, no answer or authority records, at most an OPT record with no options,
// and nothing after it. Null otherwise. latin1 maps each byte to one char, so the key is exact.
export function replayKey(msg: Buffer): string | null {
  const len = msg.length;
  if (len < HEADER + 5) return null;
  // QR and opcode must be zero; QDCOUNT 1, ANCOUNT and NSCOUNT 0, ARCOUNT 0 or 1.
  if ((msg[2] & 0xf8) !== 0 || msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || msg[11] > 1) return null;
  let pos = HEADER;
  for (;;) {
    const label = msg[pos];
    if (label === 0) break;
    if (label > 63) return null;
    pos += label + 1;
    if (pos >= len || pos - HEADER >= MAX_NAME) return null;
  }
  pos += 5;
  if (msg[11] === 0) return pos === len ? msg.toString('latin1', HEADER, len) : null;
  // OPT: root owner, type 41, class (payload size), TTL (extended rcode, version, flags), RDLENGTH 0.
  if (pos + 11 !== len || msg[pos] !== 0 || msg.readUInt16BE(pos + 1) !== OPT || msg[pos + 9] !== 0 || msg[pos + 10] !== 0) return null;
  return msg.toString('latin1', HEADER, len);
}

// Offset just past the name at pos, or -1 when it runs off the message.
function skipName(wire: Buffer, pos: number): number {
  for (;;) {
    if (pos >= wire.length) return -1;
    const b = wire[pos];
    if (b === 0) return pos + 1;
    if ((b & 0xc0) === 0xc0) return pos + 2 <= wire.length ? pos + 2 : -1;
    if (b & 0xc0) return -1;
    pos += b + 1;
  }
}

// Where the TTL of every record but OPT sits in an encoded message, or null if it does not parse.
export function ttlOffsets(wire: Buffer): number[] | null {
  if (wire.length < HEADER) return null;
  const questions = wire.readUInt16BE(4);
  const records = wire.readUInt16BE(6) + wire.readUInt16BE(8) + wire.readUInt16BE(10);
  let pos = HEADER;
  for (let i = 0; i < questions; i++) {
    pos = skipName(wire, pos);
    if (pos < 0) return null;
    pos += 4;
  }
  const offsets: number[] = [];
  for (let i = 0; i < records; i++) {
    pos = skipName(wire, pos);
    if (pos < 0 || pos + 10 > wire.length) return null;
    if (wire.readUInt16BE(pos) !== OPT) offsets.push(pos + 4);
    pos += 10 + wire.readUInt16BE(pos + 8);
  }
  return pos === wire.length ? offsets : null;
}

type Record = (querySize: number, replySize: number, seconds: number) => void;

interface Memo {
  wire: Buffer;
  ttls: number[];
  cached: CachedAnswer;
  recorders: CacheHitRecorder[];
  shape: Omit<CacheHitShape, 'family'>;
  // Prepared on first replay to a client of each family.
  record4: Record | null;
  record6: Record | null;
}

function prepare(m: Memo, family: 4 | 6): Record {
  const records = m.recorders.map((r) => r({ ...m.shape, family }));
  return (querySize, replySize, seconds) => {
    for (const r of records) r(querySize, replySize, seconds);
  };
}

export class ReplyMemo {
  private readonly memos = new Map<string, Memo>();

  constructor(
    private readonly replayed: CounterSeries,
    private readonly capacity = REPLY_MEMO_CAPACITY,
  ) {}

  get size(): number {
    return this.memos.size;
  }

  // Keeps wire, the full path's reply to msg, which cache answered and nothing changed after.
  remember(msg: Buffer, wire: Buffer, cached: CachedAnswer, recorders: CacheHitRecorder[], shape: Omit<CacheHitShape, 'family'>): void {
    const key = replayKey(msg);
    if (key === null) return;
    const ttls = ttlOffsets(wire);
    if (ttls === null) return;
    if (!this.memos.has(key) && this.memos.size >= this.capacity) this.memos.delete(this.memos.keys().next().value as string);
    this.memos.set(key, { wire: Buffer.from(wire), ttls: cached.ttlFromEntry ? ttls : [], cached, recorders, shape, record4: null, record6: null });
  }

  // The reply to msg from a remembered answer, counted as the full path would count it, or null
  // when msg must take the full path.
  answer(msg: Buffer, family: 4 | 6): Buffer | null {
    if (this.memos.size === 0) return null;
    const started = performance.now();
    const key = replayKey(msg);
    if (key === null) return null;
    const m = this.memos.get(key);
    if (!m) return null;
    const remaining = m.cached.replay(Date.now());
    if (remaining < 0) {
      this.memos.delete(key);
      return null;
    }
    const out = Buffer.allocUnsafe(m.wire.length);
    m.wire.copy(out);
    out[0] = msg[0];
    out[1] = msg[1];
    out[2] = (out[2] & 0xfe) | (msg[2] & 0x01);
    for (const at of m.ttls) out.writeUInt32BE(remaining, at);
    const record = family === 4 ? (m.record4 ??= prepare(m, 4)) : (m.record6 ??= prepare(m, 6));
    record(msg.length, out.length, (performance.now() - started) / 1000);
    this.replayed.value++;
    return out;
  }
}
