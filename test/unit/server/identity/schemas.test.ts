import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProjectCreate, parseUserCreate, parseUserUpdate, queryBoolean, queryFlag } from '../../../../src/server/identity/schemas.js';

for (const [value, expected] of [
  [undefined, false],
  ['', true],
  ['True', true],
  ['1', true],
  ['0', false],
  ['false', false],
  ['FALSE', false],
] as const) {
  test(`queryFlag(${JSON.stringify(value)}) is ${expected}`, () => assert.equal(queryFlag(value), expected));
}

test('queryBoolean reads true/false and refuses anything else, naming the parameter', () => {
  assert.equal(queryBoolean(undefined, 'enabled'), undefined);
  assert.equal(queryBoolean('False', 'enabled'), false);
  assert.equal(queryBoolean('true', 'enabled'), true);
  assert.throws(() => queryBoolean('maybe', 'enabled'), /'enabled': must be true or false/);
});

test('unknown project attributes are kept as extra; a parent must be the domain', () => {
  assert.deepEqual(parseProjectCreate({ project: { name: 'p', owner: 'me', tags: ['x'] } }), {
    name: 'p',
    description: undefined,
    enabled: undefined,
    domainId: undefined,
    extra: { owner: 'me', tags: ['x'] },
  });
  assert.equal(parseProjectCreate({ project: { name: 'p', parent_id: 'default' } }).domainId, 'default');
  assert.throws(() => parseProjectCreate({ project: { name: 'p', domain_id: 'default', parent_id: 'other' } }), /nested projects/);
});

test('a user password may be removed with null; the domain cannot move', () => {
  assert.equal(parseUserCreate({ user: { name: 'u', password: null } }).password, null);
  assert.equal(parseUserUpdate({ user: { password: 'x' } }, 'u1').password, 'x');
  assert.equal(parseUserUpdate({ user: {} }, 'u1').password, undefined);
  assert.throws(() => parseUserUpdate({ user: { domain_id: 'other' } }, 'u1'), /'user.domain_id': cannot be changed/);
  assert.throws(() => parseUserCreate({ user: { name: 'u', options: { lock_password: true } } }), /'user.options'/);
});

test('an update may repeat the id in its path, never another; a create may not name one', () => {
  assert.deepEqual(parseUserUpdate({ user: { id: 'u1', enabled: false } }, 'u1').extra, {}, 'the id is not an extra attribute');
  assert.throws(() => parseUserUpdate({ user: { id: 'u2' } }, 'u1'), /'user.id': cannot be changed/);
  assert.throws(() => parseUserCreate({ user: { id: 'mine', name: 'u' } }), /'user.id': is read-only/);
  assert.throws(() => parseProjectCreate({ project: { id: 'mine', name: 'p' } }), /'project.id': is read-only/);
});
