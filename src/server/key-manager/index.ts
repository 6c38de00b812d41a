import type { ApiModule } from '../app.js';
import { renderBarbicanFault, useFaultFormat } from '../faults.js';
import type { Store } from '../../store/store.js';
import type { KeyEncryptionKey } from './crypto.js';
import { recordedKekId } from './repository.js';
import { registerKeyManagerRoutes } from './routes.js';

export interface KeyManagerApiOptions {
  /** Seals and opens every payload; the same key on every server of one database. */
  kek: KeyEncryptionKey;
}

/** The Key Manager API (a Barbican v1 subset: secrets, containers, ACLs) under /key-manager. */
export function createKeyManagerApi(options: KeyManagerApiOptions): ApiModule {
  return {
    prefix: '/key-manager',
    register: async (app, ctx) => {
      useFaultFormat(app, renderBarbicanFault);
      registerKeyManagerRoutes(app, ctx, { store: ctx.store, kek: options.kek, baseUrl: () => `${ctx.publicUrl}/key-manager` });
    },
  };
}

/**
 * Refuses a KEK other than the one this database's payloads are sealed with (the first server to start records
 * its key's id), so that a server given the wrong key fails at start rather than on every read.
 */
export async function checkKeyEncryptionKey(store: Store, kek: KeyEncryptionKey): Promise<void> {
  const recorded = await store.write((tx) => recordedKekId(tx.db, kek.id));
  if (recorded !== kek.id) {
    throw new Error(`this database's secrets are sealed with key-encryption key ${recorded}, not with ${kek.id} (the one given): start the server with --key-manager-kek-file pointing at that key`);
  }
}

export { readCertificateBundle, readPemSecret, CertificateBundleError, type CertificateBundle, type CertificateBundleOptions } from './certificates.js';
export { keyEncryptionKey, readKeyEncryptionKeyFile, readOrCreateKeyEncryptionKeyFile, type KeyEncryptionKey } from './crypto.js';
