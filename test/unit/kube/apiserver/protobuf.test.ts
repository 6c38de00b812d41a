import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufObject } from '../../../../src/kube/apiserver/protobuf.js';

// Length-delimited fields only: all the envelope and metadata need.
function field(n: number, value: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
}
const message = (...fields: Buffer[]) => Buffer.concat(fields);
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0'), field(1, message(field(1, apiVersion), field(2, kind))), field(2, raw)]);

test('a protobuf Namespace from kubectl create namespace is read', () => {
  const meta = message(field(1, 'team'), field(11, message(field(1, 'a'), field(2, 'b'))), field(12, message(field(1, 'note'), field(2, 'x'))));
  assert.deepEqual(decodeProtobufObject(envelope('v1', 'Namespace', message(field(1, meta)))), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'team', labels: { a: 'b' }, annotations: { note: 'x' } },
  });
});

test('other kinds and malformed bodies are refused', () => {
  assert.throws(() => decodeProtobufObject(envelope('v1', 'Service', Buffer.alloc(0))), /only for v1 Namespace/);
  assert.throws(() => decodeProtobufObject(Buffer.from('{"kind":"Namespace"}')), /envelope/);
  assert.throws(() => decodeProtobufObject(Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, 0x20, 0x01])])), /truncated/);
});
