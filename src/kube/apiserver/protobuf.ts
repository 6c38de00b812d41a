// The Kubernetes protobuf encoding, read for the one body kubectl sends that way and that
// a lab uses all the time: `kubectl create namespace NAME` (kubectl's typed clients post
// protobuf and do not fall back to JSON on 415). Only a Namespace's identifying metadata is
// read; any other kind is refused so the client sees a clear 415, never a silently partial object.
// Field numbers are those of k8s.io/api and k8s.io/apimachinery generated.proto.

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type Fields = Map<number, Array<Buffer | bigint>>;

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

/** One message's fields: length-delimited ones as bytes, varints as numbers, fixed ones skipped. */
function readFields(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let value: Buffer | bigint | undefined;
    if (wire === 0) [value, pos] = readVarint(buf, pos);
    else if (wire === 2) {
      const [length, afterLength] = readVarint(buf, pos);
      value = buf.subarray(afterLength, afterLength + Number(length));
      if (value.length !== Number(length)) throw new Error('truncated field');
      pos = afterLength + Number(length);
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (value !== undefined) fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

function text(fields: Fields, n: number): string | undefined {
  const v = fields.get(n)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

function stringMap(fields: Fields, n: number): Record<string, string> | undefined {
  const entries = fields.get(n);
  if (!entries) return undefined;
  return Object.fromEntries(
    entries.filter(Buffer.isBuffer).map((entry) => {
      const kv = readFields(entry);
      return [text(kv, 1) ?? '', text(kv, 2) ?? ''];
    }),
  );
}

/** A protobuf-encoded object as JSON; throws for anything but a Namespace. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error('missing the k8s protobuf envelope');
  const unknown = readFields(body.subarray(4));
  const typeMeta = readFields((unknown.get(1)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
  const apiVersion = text(typeMeta, 1);
  const kind = text(typeMeta, 2);
  if (apiVersion !== 'v1' || kind !== 'Namespace') throw new Error(`protobuf bodies are read only for v1 Namespace, not ${apiVersion ?? ''} ${kind ?? ''}`);
  const object = readFields((unknown.get(2)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
  const meta = readFields((object.get(1)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
  const metadata: Record<string, unknown> = {};
  const name = text(meta, 1);
  const generateName = text(meta, 2);
  if (name) metadata.name = name;
  if (generateName) metadata.generateName = generateName;
  const labels = stringMap(meta, 11);
  const annotations = stringMap(meta, 12);
  if (labels) metadata.labels = labels;
  if (annotations) metadata.annotations = annotations;
  return { apiVersion, kind, metadata };
}
