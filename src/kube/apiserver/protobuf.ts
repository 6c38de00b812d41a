// The Kubernetes protobuf encoding, read for the bodies kubectl's typed clients post and
// that a lab uses all the time: `kubectl create namespace` and `kubectl create service
// clusterip|nodeport|loadbalancer|externalname` (they do not fall back to JSON on 415).
// Each kind has a schema of the fields read; a field outside it that carries a value makes
// the body refused, so a client gets a clear 415, never a silently partial object. Field
// numbers are those of k8s.io/api and k8s.io/apimachinery generated.proto, checked against
// what kubectl 1.32 sends.

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type FieldKind = 'string' | 'int' | 'stringMap' | 'intOrString' | 'ignored';
interface FieldSpec {
  name: string;
  kind: FieldKind | Schema;
  repeated?: boolean;
}
interface Schema {
  [field: number]: FieldSpec;
}

const OBJECT_META: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'generateName', kind: 'string' },
  3: { name: 'namespace', kind: 'string' },
  11: { name: 'labels', kind: 'stringMap' },
  12: { name: 'annotations', kind: 'stringMap' },
};

const SERVICE_PORT: Schema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'protocol', kind: 'string' },
  3: { name: 'port', kind: 'int' },
  4: { name: 'targetPort', kind: 'intOrString' },
  5: { name: 'nodePort', kind: 'int' },
};

const SERVICE_SPEC: Schema = {
  1: { name: 'ports', kind: SERVICE_PORT, repeated: true },
  2: { name: 'selector', kind: 'stringMap' },
  3: { name: 'clusterIP', kind: 'string' },
  4: { name: 'type', kind: 'string' },
  10: { name: 'externalName', kind: 'string' },
};

// Status is ignored: create drops what the client sent for these kinds anyway.
const KINDS: Record<string, Schema> = {
  Namespace: { 1: { name: 'metadata', kind: OBJECT_META }, 2: { name: 'spec', kind: 'ignored' }, 3: { name: 'status', kind: 'ignored' } },
  Service: { 1: { name: 'metadata', kind: OBJECT_META }, 2: { name: 'spec', kind: SERVICE_SPEC }, 3: { name: 'status', kind: 'ignored' } },
};

type Value = Buffer | bigint;

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

/** Fields in order of appearance: length-delimited ones as bytes, varints as numbers. */
function readFields(buf: Buffer): Array<[number, Value]> {
  const fields: Array<[number, Value]> = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [value, next] = readVarint(buf, pos);
      fields.push([field, value]);
      pos = next;
    } else if (wire === 2) {
      const [length, afterLength] = readVarint(buf, pos);
      const value = buf.subarray(afterLength, afterLength + Number(length));
      if (value.length !== Number(length)) throw new Error('truncated field');
      fields.push([field, value]);
      pos = afterLength + Number(length);
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      fields.push([field, buf.subarray(pos, pos + size)]);
      pos += size;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}

const bytes = (v: Value): Buffer => (Buffer.isBuffer(v) ? v : Buffer.alloc(0));
const int = (v: Value): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : 0);

// Go's proto2 encoder writes every optional field, empty or zero ones included; those
// mean "unset", as omitempty does in JSON.
function isDefault(v: Value): boolean {
  return Buffer.isBuffer(v) ? v.length === 0 : v === 0n;
}

function decodeValue(spec: FieldSpec, v: Value, path: string): unknown {
  switch (spec.kind) {
    case 'string':
      return bytes(v).toString('utf8');
    case 'int':
      return int(v);
    case 'intOrString': {
      const f = new Map(readFields(bytes(v)));
      return f.get(1) === 1n ? bytes(f.get(3) ?? Buffer.alloc(0)).toString('utf8') : int(f.get(2) ?? 0n);
    }
    case 'stringMap': {
      const entry = new Map(readFields(bytes(v)));
      return [bytes(entry.get(1) ?? Buffer.alloc(0)).toString('utf8'), bytes(entry.get(2) ?? Buffer.alloc(0)).toString('utf8')];
    }
    case 'ignored':
      return undefined;
    default:
      return decodeMessage(bytes(v), spec.kind, path);
  }
}

function decodeMessage(buf: Buffer, schema: Schema, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of readFields(buf)) {
    const spec = schema[field];
    if (!spec) {
      if (!isDefault(value)) throw new Error(`field ${field} of ${path} is not read by this stand-in; send JSON`);
      continue;
    }
    if (spec.kind === 'ignored' || (isDefault(value) && !spec.repeated)) continue;
    const decoded = decodeValue(spec, value, `${path}.${spec.name}`);
    if (spec.kind === 'stringMap') {
      const [k, val] = decoded as [string, string];
      out[spec.name] = { ...((out[spec.name] as Record<string, string> | undefined) ?? {}), [k]: val };
    } else if (spec.repeated) out[spec.name] = [...((out[spec.name] as unknown[] | undefined) ?? []), decoded];
    else out[spec.name] = decoded;
  }
  return out;
}

/** A protobuf-encoded object as JSON; throws for kinds or fields it does not read. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error('missing the k8s protobuf envelope');
  const envelope = new Map(readFields(body.subarray(4)));
  const typeMeta = new Map(readFields(bytes(envelope.get(1) ?? Buffer.alloc(0))));
  const apiVersion = bytes(typeMeta.get(1) ?? Buffer.alloc(0)).toString('utf8');
  const kind = bytes(typeMeta.get(2) ?? Buffer.alloc(0)).toString('utf8');
  const schema = apiVersion === 'v1' ? KINDS[kind] : undefined;
  if (!schema) throw new Error(`protobuf bodies are read only for v1 ${Object.keys(KINDS).join(' and ')}, not ${apiVersion} ${kind}`);
  return { apiVersion, kind, ...decodeMessage(bytes(envelope.get(2) ?? Buffer.alloc(0)), schema, kind) };
}
