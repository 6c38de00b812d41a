import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../../../../src/kube/apiserver/selectors.js';

const labels = { app: 'web', tier: 'front', 'example.com/zone': 'a', n: '5' };

test('label selectors match as the API server matches them', () => {
  const cases: Array<[string, Record<string, string> | undefined, boolean]> = [
    ['', labels, true],
    ['app=web', labels, true],
    ['app==web', labels, true],
    ['app=db', labels, false],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    ['missing!=x', labels, true],
    ['app in (web,db)', labels, true],
    ['app in (db)', labels, false],
    ['app notin (db, cache)', labels, true],
    ['app notin (web)', labels, false],
    ['missing notin (web)', labels, true],
    ['tier', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!tier', labels, false],
    ['app=web,tier in (front,back),!missing', labels, true],
    ['app=web,tier=back', labels, false],
    ['example.com/zone=a', labels, true],
    ['n>4', labels, true],
    ['n<4', labels, false],
    ['app=web', undefined, false],
    ['!app', undefined, true],
    ['app=', { app: '' }, true],
  ];
  for (const [selector, l, expected] of cases) {
    assert.equal(matchesLabels(parseLabelSelector(selector), l), expected, `${selector} on ${JSON.stringify(l)}`);
  }
});

test('malformed label selectors are rejected', () => {
  for (const bad of ['app=we b', 'app in (a b)', ',', '-app=x', 'a/b/=c', 'n>x']) {
    assert.throws(() => parseLabelSelector(bad), SelectorError, bad);
  }
});

const FIELDS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.hostNetwork'];
const pod = { metadata: { name: 'p1', namespace: 'ns1' }, spec: { nodeName: 'n1', hostNetwork: true } };

test('field selectors compare the string form of a field', () => {
  const cases: Array<[string, boolean]> = [
    ['metadata.name=p1', true],
    ['metadata.name==p1', true],
    ['metadata.name!=p1', false],
    ['metadata.name=p2', false],
    ['metadata.namespace=ns1,spec.nodeName=n1', true],
    ['spec.nodeName=', false],
    ['spec.hostNetwork=true', true],
    ['metadata.namespace!=other', true],
  ];
  for (const [selector, expected] of cases) {
    assert.equal(matchesFields(parseFieldSelector(selector, FIELDS), pod), expected, selector);
  }
  assert.equal(matchesFields(parseFieldSelector('spec.nodeName=', FIELDS), { metadata: {}, spec: {} }), true);
});

test('field selector values may escape separators', () => {
  assert.deepEqual(parseFieldSelector('metadata.name=a\\,b', FIELDS), [{ field: 'metadata.name', op: '=', value: 'a,b' }]);
});

test('an unknown field is rejected with the list of known ones', () => {
  assert.throws(() => parseFieldSelector('spec.foo=x', ['metadata.name']), /"spec.foo" is not a known field selector: only "metadata.name"/);
  assert.throws(() => parseFieldSelector('metadata.name', FIELDS), SelectorError);
});
