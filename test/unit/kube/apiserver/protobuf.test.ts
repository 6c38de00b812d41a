import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufObject } from '../../../../src/kube/apiserver/protobuf.js';

// A little encoder for the test bodies: length-delimited and varint fields.
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.from(out);
}
const field = (n: number, value: Buffer | string): Buffer => {
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([varint((n << 3) | 2), varint(b.length), b]);
};
const number = (n: number, value: number): Buffer => Buffer.concat([varint(n << 3), varint(value)]);
const message = (...fields: Buffer[]) => Buffer.concat(fields);
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0'), field(1, message(field(1, apiVersion), field(2, kind))), field(2, raw), field(3, ''), field(4, '')]);
const entry = (k: string, v: string) => message(field(1, k), field(2, v));

test('a protobuf Namespace from kubectl create namespace is read', () => {
  // Go's proto2 encoder also writes the unset fields, empty: generateName, creationTimestamp...
  const meta = message(field(1, 'team'), field(2, ''), field(8, Buffer.alloc(0)), number(7, 0), field(11, entry('a', 'b')), field(12, entry('note', 'x')));
  assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', message(field(1, meta), field(2, Buffer.alloc(0))))), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'team', labels: { a: 'b' }, annotations: { note: 'x' } },
  });
});

test('a protobuf Service from kubectl create service is read, ports and all', () => {
  const port = (name: string, p: number, target: Buffer, nodePort: number) =>
    message(field(1, name), field(2, 'TCP'), number(3, p), field(4, target), number(5, nodePort));
  const intTarget = message(number(1, 0), number(2, 8080), field(3, ''));
  const namedTarget = message(number(1, 1), number(2, 0), field(3, 'web'));
  const spec = message(
    field(1, port('http', 80, intTarget, 30080)),
    field(1, port('https', 443, namedTarget, 0)),
    field(2, entry('app', 's')),
    field(3, ''),
    field(4, 'NodePort'),
    field(7, ''),
    number(12, 0),
  );
  const body = envelope('v1', 'Service', message(field(1, message(field(1, 's'))), field(2, spec), field(3, message(field(1, Buffer.alloc(0))))));
  assert.deepEqual(decodeProtobufObject(body), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 },
        { name: 'https', protocol: 'TCP', port: 443, targetPort: 'web' },
      ],
      selector: { app: 's' },
      type: 'NodePort',
    },
  });
});

test('other kinds, unread fields with values and malformed bodies are refused', () => {
  assert.throws(() => decodeProtobufObject(envelope('v1', 'Pod', Buffer.alloc(0))), /only for v1 Namespace and Service/);
  const withSessionAffinity = envelope('v1', 'Service', message(field(2, message(field(7, 'ClientIP')))));
  assert.throws(() => decodeProtobufObject(withSessionAffinity), /field 7 of Service.spec is not read/);
  assert.throws(() => decodeProtobufObject(Buffer.from('{"kind":"Namespace"}')), /envelope/);
  assert.throws(() => decodeProtobufObject(Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, 0x20, 0x01])])), /truncated/);
});
