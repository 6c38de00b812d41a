import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, applyMergePatch, PatchError, type Json } from '../../../../src/kube/apiserver/patch.js';
import { applyStrategicMergePatch } from '../../../../src/kube/apiserver/strategic-merge-patch.js';

test('JSON merge patch follows the RFC 7386 examples', () => {
  const cases: Array<[Json, Json, Json]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of cases) {
    assert.deepEqual(applyMergePatch(target, patch), expected, JSON.stringify(patch));
  }
});

test('JSON patch applies operations in order and all or nothing', () => {
  const doc = { metadata: { labels: { a: '1' } }, spec: { ports: [{ port: 80 }] } };
  const patched = applyJsonPatch(doc, [
    { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
    { op: 'replace', path: '/spec/ports/0/port', value: 81 },
    { op: 'add', path: '/spec/ports/-', value: { port: 443 } },
    { op: 'test', path: '/metadata/labels/a', value: '1' },
    { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/d' },
    { op: 'move', from: '/metadata/labels/d', path: '/metadata/labels/e' },
    { op: 'remove', path: '/metadata/labels/a' },
  ]);
  assert.deepEqual(patched, { metadata: { labels: { 'b/c': '2', e: '1' } }, spec: { ports: [{ port: 81 }, { port: 443 }] } });
  assert.deepEqual(doc.metadata.labels, { a: '1' }, 'the input is untouched');
  assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }]), PatchError);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'replace', path: '/spec/ports/3', value: 1 }]), PatchError);
  assert.throws(
    () => applyJsonPatch(doc, [{ op: 'test', path: '/metadata/labels/a', value: '2' }]),
    (e: unknown) => e instanceof PatchError && e.code === 422,
  );
  assert.throws(() => applyJsonPatch(doc, { op: 'add' }), PatchError);
});

test('strategic merge patch merges keyed lists and honours the directives kubectl sends', () => {
  const service = {
    metadata: { name: 's', finalizers: ['a'] },
    spec: {
      selector: { app: 'x', tier: 'y' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'https', port: 443, targetPort: 8443 },
      ],
    },
  };
  const cases: Array<[string, Record<string, Json>, unknown]> = [
    ['a keyed element merges in place', { spec: { ports: [{ port: 443, targetPort: 9443 }] } }, [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'https', port: 443, targetPort: 9443 },
    ]],
    ['$patch: delete removes an element', { spec: { ports: [{ port: 80, $patch: 'delete' }] } }, [{ name: 'https', port: 443, targetPort: 8443 }]],
    ['$patch: replace replaces the list', { spec: { ports: [{ $patch: 'replace' }, { port: 53 }] } }, [{ port: 53 }]],
    ['$setElementOrder orders the result', { spec: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }], ports: [{ port: 80, name: 'web' }] } }, [
      { name: 'https', port: 443, targetPort: 8443 },
      { name: 'web', port: 80, targetPort: 8080 },
    ]],
  ];
  for (const [name, patch, ports] of cases) {
    assert.deepEqual((applyStrategicMergePatch(service, patch).spec as { ports: unknown }).ports, ports, name);
  }
  assert.deepEqual(applyStrategicMergePatch(service, { metadata: { finalizers: ['b'] } }).metadata, { name: 's', finalizers: ['a', 'b'] });
  assert.deepEqual(
    applyStrategicMergePatch(service, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }).metadata,
    { name: 's', finalizers: [] },
  );
  assert.deepEqual((applyStrategicMergePatch(service, { spec: { selector: { $patch: 'replace', app: 'z' } } }).spec as { selector: unknown }).selector, { app: 'z' });
  assert.deepEqual((applyStrategicMergePatch(service, { spec: { selector: { tier: null } } }).spec as { selector: unknown }).selector, { app: 'x' });
  assert.deepEqual(
    Object.keys(applyStrategicMergePatch(service, { spec: { $retainKeys: ['ports'], ports: [] } }).spec as object),
    ['ports'],
  );
  assert.throws(() => applyStrategicMergePatch(service, { spec: { ports: [{ name: 'no-key' }] } }), /merge key: port/);
});
