import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The key-encryption key (KEK) the server holds, as Barbican's simple_crypto backend holds its master KEK: payloads
 * are sealed with it before they reach the database, so a copy of the database alone reveals no secret.
 * `id` names the key without revealing it; each sealed payload records it.
 */
export interface KeyEncryptionKey {
  id: string;
  key: Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function keyEncryptionKey(key: Buffer): KeyEncryptionKey {
  if (key.length !== KEY_BYTES) throw new Error(`a key-encryption key is ${KEY_BYTES} bytes, not ${key.length}`);
  const id = createHash('sha256').update('cloudnet key-manager kek\0').update(key).digest('hex').slice(0, 16);
  return { id, key: Buffer.from(key) };
}

/**
 * AES-256-GCM with a fresh 96-bit IV per payload; the secret's id is the additional authenticated data, so a sealed
 * payload copied onto another secret's row fails to open instead of answering for it. Text form: base64 of
 * IV ‖ tag ‖ ciphertext.
 */
export function sealPayload(kek: KeyEncryptionKey, secretId: string, plaintext: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek.key, iv);
  cipher.setAAD(Buffer.from(secretId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

export function openPayload(kek: KeyEncryptionKey, kekId: string, secretId: string, sealed: string): Buffer {
  if (kekId !== kek.id) {
    throw new Error(`secret ${secretId} was sealed with key-encryption key ${kekId}, but this server holds ${kek.id}`);
  }
  const bytes = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', kek.key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(secretId, 'utf8'));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error(`the sealed payload of secret ${secretId} does not authenticate: it was altered, or sealed for another secret`);
  }
}

/** Reads a KEK file: the key's 32 bytes in base64 on one line. */
export function readKeyEncryptionKeyFile(path: string): KeyEncryptionKey {
  const text = readFileSync(path, 'utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    throw new Error(`${path} must hold a ${KEY_BYTES}-byte key-encryption key in base64 (e.g. from: openssl rand -base64 32)`);
  }
  return keyEncryptionKey(key);
}

/**
 * The KEK in `path`, made (mode 0600) when there is none yet. The key is written to a private temporary file and
 * then hard-linked into place, which fails if the file exists: two servers starting at once beside one file end
 * up holding the same key, and neither can read a half-written one.
 */
export function readOrCreateKeyEncryptionKeyFile(path: string): { kek: KeyEncryptionKey; created: boolean } {
  mkdirSync(dirname(path), { recursive: true });
  const draft = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(draft, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(draft, path);
    return { kek: readKeyEncryptionKeyFile(path), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { kek: readKeyEncryptionKeyFile(path), created: false };
  } finally {
    rmSync(draft, { force: true });
  }
}
