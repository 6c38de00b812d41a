/**
 * A reader of subunit v2 streams (what stestr keeps in `.stestr/<run>` and `tempest run --subunit` prints), and the
 * fold of its events into one result per test with the skip reason or failure traceback. Pure: bytes in, results out.
 *
 * Packet layout (python-subunit's v2.py): 0xB3, 16-bit flags, a length (a varint of at most 3 bytes, counting the
 * whole packet), then the optional fields in this order: timestamp, test id, tags, MIME type, file (name, length,
 * bytes), route code; then a CRC32 of everything before it.
 */

const SIGNATURE = 0xb3;
const FLAG_TEST_ID = 0x0800;
const FLAG_ROUTE_CODE = 0x0400;
const FLAG_TIMESTAMP = 0x0200;
const FLAG_TAGS = 0x0080;
const FLAG_FILE_CONTENT = 0x0040;
const FLAG_MIME_TYPE = 0x0020;

export type SubunitStatus = 'exists' | 'inprogress' | 'success' | 'uxsuccess' | 'skip' | 'fail' | 'xfail';
const STATUSES: (SubunitStatus | undefined)[] = [undefined, 'exists', 'inprogress', 'success', 'uxsuccess', 'skip', 'fail', 'xfail'];

export interface SubunitEvent {
  testId?: string;
  status?: SubunitStatus;
  timestamp?: Date;
  tags?: string[];
  fileName?: string;
  mimeType?: string;
  fileBytes?: Buffer;
  routeCode?: string;
}

export class SubunitParseError extends Error {}

function readVarint(buf: Buffer, pos: number): [value: number, consumed: number] {
  if (pos >= buf.length) throw new SubunitParseError(`varint past the end of the stream at ${pos}`);
  const first = buf[pos]!;
  const value0 = first & 0x3f;
  switch (first & 0xc0) {
    case 0x00:
      return [value0, 1];
    case 0x40:
      return [(value0 << 8) | buf.readUInt8(pos + 1), 2];
    case 0x80:
      return [(value0 << 16) | buf.readUInt16BE(pos + 1), 3];
    default:
      return [value0 * 2 ** 24 + buf.readUIntBE(pos + 1, 3), 4];
  }
}

function readString(buf: Buffer, pos: number, end: number): [value: string, next: number] {
  const [length, consumed] = readVarint(buf, pos);
  const start = pos + consumed;
  if (start + length > end) throw new SubunitParseError(`string at ${pos} runs past its packet`);
  return [buf.toString('utf8', start, start + length), start + length];
}

/** Every packet of a subunit v2 stream, in order. Throws on a torn or foreign stream. */
export function parseSubunitV2(buf: Buffer): SubunitEvent[] {
  const events: SubunitEvent[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== SIGNATURE) throw new SubunitParseError(`no subunit v2 signature at offset ${pos}`);
    const flags = buf.readUInt16BE(pos + 1);
    if (flags >> 12 !== 0x2) throw new SubunitParseError(`unsupported subunit version ${flags >> 12} at offset ${pos}`);
    const [length, lengthBytes] = readVarint(buf, pos + 3);
    const end = pos + length - 4; // the CRC32 is not checked: the file is local and whole
    if (length < 4 + lengthBytes || pos + length > buf.length) throw new SubunitParseError(`packet at ${pos} runs past the end`);
    let at = pos + 3 + lengthBytes;
    const event: SubunitEvent = {};
    if (flags & FLAG_TIMESTAMP) {
      const seconds = buf.readUInt32BE(at);
      const [nanoseconds, consumed] = readVarint(buf, at + 4);
      event.timestamp = new Date(seconds * 1000 + Math.floor(nanoseconds / 1e6));
      at += 4 + consumed;
    }
    if (flags & FLAG_TEST_ID) [event.testId, at] = readString(buf, at, end);
    if (flags & FLAG_TAGS) {
      const [count, consumed] = readVarint(buf, at);
      at += consumed;
      event.tags = [];
      for (let i = 0; i < count; i++) {
        let tag: string;
        [tag, at] = readString(buf, at, end);
        event.tags.push(tag);
      }
    }
    if (flags & FLAG_MIME_TYPE) [event.mimeType, at] = readString(buf, at, end);
    if (flags & FLAG_FILE_CONTENT) {
      [event.fileName, at] = readString(buf, at, end);
      const [size, consumed] = readVarint(buf, at);
      at += consumed;
      if (at + size > end) throw new SubunitParseError(`file content at ${at} runs past its packet`);
      event.fileBytes = buf.subarray(at, at + size);
      at += size;
    }
    if (flags & FLAG_ROUTE_CODE) [event.routeCode, at] = readString(buf, at, end);
    const status = STATUSES[flags & 0x7];
    if (status) event.status = status;
    events.push(event);
    pos += length;
  }
  return events;
}

export type Outcome = 'pass' | 'fail' | 'skip';

export interface TestResult {
  /** The test id without its `[id-…,smoke]` attributes, e.g. `tempest.api.network.test_ports.PortsTestJSON.test_show_port`. */
  id: string;
  /** As reported, attributes included. */
  rawId: string;
  outcome: Outcome;
  /** Why it was skipped (the `reason` attachment). */
  reason?: string;
  /** The traceback of a failure (or what stands in for one). */
  traceback?: string;
  /** A failure's other attachments by name (captured logging: tempest's requests and responses). */
  attachments?: Record<string, string>;
  /** Wall time in seconds, when the stream has both timestamps. */
  seconds?: number;
}

const OUTCOME: Record<SubunitStatus, Outcome | undefined> = {
  exists: undefined,
  inprogress: undefined,
  success: 'pass',
  xfail: 'pass',
  skip: 'skip',
  fail: 'fail',
  uxsuccess: 'fail',
};

/** `test_x[id-…,smoke]` → `test_x`. */
export function stripAttributes(testId: string): string {
  return testId.replace(/\[[^\]]*\]$/, '');
}

/**
 * One result per test that reached a final status, in the order they finished. Attachments (`reason`, `traceback`,
 * captured logs) arrive in packets of their own, possibly split across several: they are joined per test and file.
 */
export function collectResults(events: SubunitEvent[]): TestResult[] {
  const files = new Map<string, Map<string, Buffer[]>>();
  const started = new Map<string, Date>();
  const results: TestResult[] = [];
  for (const e of events) {
    if (!e.testId) continue;
    if (e.fileName && e.fileBytes) {
      const perTest = files.get(e.testId) ?? new Map<string, Buffer[]>();
      files.set(e.testId, perTest);
      const chunks = perTest.get(e.fileName) ?? [];
      perTest.set(e.fileName, chunks);
      chunks.push(e.fileBytes);
    }
    if (e.status === 'inprogress' && e.timestamp) started.set(e.testId, e.timestamp);
    const outcome = e.status ? OUTCOME[e.status] : undefined;
    if (!outcome) continue;
    const attachments = new Map([...(files.get(e.testId) ?? new Map<string, Buffer[]>())].map(([k, v]) => [k, Buffer.concat(v).toString('utf8')]));
    const result: TestResult = { id: stripAttributes(e.testId), rawId: e.testId, outcome };
    const start = started.get(e.testId);
    if (start && e.timestamp) result.seconds = (e.timestamp.getTime() - start.getTime()) / 1000;
    if (outcome === 'skip') result.reason = (attachments.get('reason') ?? '').trim() || 'no reason given';
    if (outcome === 'fail') {
      result.traceback = (attachments.get('traceback') ?? (e.status === 'uxsuccess' ? 'unexpected success' : 'failed without a traceback')).trim();
      attachments.delete('traceback');
      attachments.delete('reason');
      if (attachments.size) result.attachments = Object.fromEntries(attachments);
    }
    results.push(result);
    files.delete(e.testId);
  }
  return results;
}
