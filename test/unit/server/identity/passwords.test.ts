import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../../../src/server/identity/passwords.js';

test('a password verifies against its own hash only', async () => {
  const hash = await hashPassword('s3cret');
  assert.match(hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.equal(await verifyPassword('s3cret', hash), true);
  assert.equal(await verifyPassword('s3cret ', hash), false);
  assert.equal(await verifyPassword('', hash), false);
});

test('each hash has its own salt', async () => {
  const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same', b), true);
});

test('unicode passwords compare in normal form', async () => {
  const hash = await hashPassword('caf\u00e9');
  assert.equal(await verifyPassword('cafe\u0301', hash), true);
});

for (const [name, stored] of [
  ['no hash (a user who cannot log in)', null],
  ['another scheme', 'bcrypt$2b$12$abc'],
  ['broken parameters', 'scrypt$x$8$1$c2FsdA==$a2V5'],
  ['missing parts', 'scrypt$32768$8$1$c2FsdA=='],
] as const) {
  test(`nothing verifies against ${name}`, async () => {
    assert.equal(await verifyPassword('anything', stored), false);
  });
}
