import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPayload, sealPayload } from '../../../../src/server/key-manager/crypto.js';
import { keyEncryptionKey, readKeyEncryptionKeyFile, readOrCreateKeyEncryptionKeyFile } from '../../../../src/server/key-manager/index.js';
import { startServerProcess } from '../../../support/server.js';

const kek = keyEncryptionKey(randomBytes(32));

test('sealing: a round trip of any bytes, a fresh IV each time, bound to the secret id and the key', () => {
  for (const plaintext of [Buffer.from('x'), randomBytes(20000), Buffer.from([0, 255, 0])]) {
    const sealed = sealPayload(kek, 's1', plaintext);
    assert.deepEqual(openPayload(kek, kek.id, 's1', sealed), plaintext);
    assert.notEqual(sealPayload(kek, 's1', plaintext), sealed, 'a fresh IV per seal');
  }
  const sealed = sealPayload(kek, 's1', Buffer.from('secret'));
  assert.throws(() => openPayload(kek, kek.id, 's2', sealed), /payload of secret s2 does not authenticate/, 'another secret id');
  const flipped = Buffer.from(sealed, 'base64');
  flipped[flipped.length - 1]! ^= 1;
  assert.throws(() => openPayload(kek, kek.id, 's1', flipped.toString('base64')), /payload of secret s1 does not authenticate/, 'a changed ciphertext');
  const other = keyEncryptionKey(randomBytes(32));
  assert.throws(() => openPayload(other, kek.id, 's1', sealed), new RegExp(`sealed with key-encryption key ${kek.id}, but this server holds ${other.id}`));
  assert.throws(() => keyEncryptionKey(randomBytes(16)), /32 bytes, not 16/);
});

test('KEK files: made once with mode 0600 and read back; a malformed file is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cn-km-kek-'));
  try {
    const path = join(dir, 'sub', 'key-manager-kek');
    const made = readOrCreateKeyEncryptionKeyFile(path);
    assert.equal(made.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const again = readOrCreateKeyEncryptionKeyFile(path);
    assert.deepEqual([again.created, again.kek.id], [false, made.kek.id]);
    assert.equal(readKeyEncryptionKeyFile(path).id, made.kek.id);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['key-manager-kek'], 'no draft is left behind');
    for (const bad of ['', 'c2hvcnQ=', `${randomBytes(32).toString('base64')}junk`]) {
      writeFileSync(join(dir, 'bad'), bad);
      assert.throws(() => readKeyEncryptionKeyFile(join(dir, 'bad')), /must hold a 32-byte key-encryption key in base64/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cloudnet server keeps its generated KEK beside the database, opens payloads after a restart, and refuses another key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cn-km-server-'));
  const args = ['--listen', '127.0.0.1:0', '--db', `sqlite:${join(dir, 'cloudnet.db')}`, '--admin-password', 'pw'];
  try {
    const first = await startServerProcess(args);
    const file = join(dir, 'key-manager-kek');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const token = await adminToken(first.url);
    const stored = await fetch(`${first.url}/key-manager/v1/secrets`, {
      method: 'POST',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kept', payload: 'the payload', payload_content_type: 'text/plain' }),
    });
    assert.equal(stored.status, 201);
    const ref = ((await stored.json()) as { secret_ref: string }).secret_ref;
    assert.ok(!first.logs.join('\n').includes('the payload'), 'payloads are never logged');
    assert.equal(await first.stop(), 0);

    const second = await startServerProcess(args);
    const read = await fetch(ref.replace(first.url, second.url) + '/payload', { headers: { 'x-auth-token': await adminToken(second.url), accept: 'text/plain' } });
    assert.equal(await read.text(), 'the payload');
    assert.equal(await second.stop(), 0);

    const otherKey = join(dir, 'other-kek');
    writeFileSync(otherKey, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    await assert.rejects(startServerProcess([...args, '--key-manager-kek-file', otherKey]), /secrets are sealed with key-encryption key [0-9a-f]{16}, not with [0-9a-f]{16}/);
    const sameKey = await startServerProcess([...args, '--key-manager-kek-file', file]);
    assert.equal(await sameKey.stop(), 0, 'the same key given explicitly is accepted');
    assert.equal(readFileSync(file, 'utf8').trim().length, 44);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function adminToken(url: string): Promise<string> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'pw' } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  return response.headers.get('x-subject-token')!;
}
