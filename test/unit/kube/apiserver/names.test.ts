import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateName, validateAnnotations, validateLabels, validateName } from '../../../../src/kube/apiserver/names.js';
import type { NameRule } from '../../../../src/kube/apiserver/resources.js';

test('object names follow their kind’s rule', () => {
  const cases: Array<[NameRule, string, boolean]> = [
    ['dns1035-label', 'web', true],
    ['dns1035-label', 'web-1', true],
    ['dns1035-label', '1web', false],
    ['dns1035-label', 'web.x', false],
    ['dns1035-label', 'a'.repeat(64), false],
    ['dns1123-label', '1team', true],
    ['dns1123-label', 'Team', false],
    ['dns1123-subdomain', 'node-1.example.com', true],
    ['dns1123-subdomain', 'node_1', false],
    ['dns1123-subdomain', '-node', false],
  ];
  for (const [rule, name, ok] of cases) assert.equal(validateName(rule, name).length === 0, ok, `${rule} ${name}`);
  assert.deepEqual(validateName('dns1035-label', '1web')[0].detail.split(' (')[0], "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character");
});

test('label keys and values are checked, annotation keys too', () => {
  assert.deepEqual(validateLabels({ app: 'web', 'kubernetes.io/service-name': 'web', empty: '' }), []);
  for (const bad of [{ 'bad key': 'x' }, { app: 'bad value' }, { '/x': 'y' }, { 'Example.com/x': 'y' }, { app: 'v'.repeat(64) }, { app: 5 }]) {
    assert.equal(validateLabels(bad).length > 0, true, JSON.stringify(bad));
  }
  assert.deepEqual(validateAnnotations({ 'kubectl.kubernetes.io/last-applied-configuration': '{"a": "b c"}' }), []);
  assert.equal(validateAnnotations({ 'a b': 'x' }).length, 1);
});

test('generateName appends five characters of the Kubernetes alphabet', () => {
  assert.match(generateName('web-'), /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.equal(generateName('x'.repeat(70)).length, 63);
});
