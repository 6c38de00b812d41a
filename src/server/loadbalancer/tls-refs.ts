import { ApiError } from '../../lib/errors.js';
import type { Db } from '../../store/database.js';
import { CertificateBundleError, readCertificateBundle, readPemSecret, type KeyEncryptionKey } from '../key-manager/index.js';
import type { WireObject } from '../network/attributes.js';

/** The PEM block a CA or CRL reference's secret must hold. */
export const PEM_BLOCK = { ca: 'CERTIFICATE', crl: 'X509 CRL' } as const;

/** How the amphora reads each reference (see tree.ts): a certificate bundle, or a secret of PEM CAs or of a CRL. */
const REFS: Readonly<Record<string, 'bundle' | 'ca' | 'crl'>> = {
  default_tls_container_ref: 'bundle',
  sni_container_refs: 'bundle',
  client_ca_tls_container_ref: 'ca',
  client_crl_container_ref: 'crl',
  tls_container_ref: 'bundle',
  ca_tls_container_ref: 'ca',
  crl_container_ref: 'crl',
};

/**
 * Octavia loads the certificate, SNI, client-authentication and re-encryption references it is given before it
 * stores them, so a reference the balancer's project may not read, or whose payload is not what the field needs,
 * is refused (400) rather than failing the balancer later. Only the fields in `values` are read: an update checks what it
 * changes. Without a key manager there is nothing to read them from; the balancer's change then fails instead.
 */
export async function checkTlsRefs(db: Db, kek: KeyEncryptionKey | undefined, reader: { projectId: string; userId: string }, values: WireObject): Promise<void> {
  if (!kek) return;
  for (const [field, kind] of Object.entries(REFS)) {
    const given = values[field];
    const refs = Array.isArray(given) ? (given as string[]) : typeof given === 'string' ? [given] : [];
    for (const ref of refs) await checkTlsRef(db, { ...reader, kek }, field, kind, ref);
  }
}

async function checkTlsRef(db: Db, options: { projectId: string; userId: string; kek: KeyEncryptionKey }, field: string, kind: 'bundle' | 'ca' | 'crl', ref: string): Promise<void> {
  try {
    if (kind === 'bundle') await readCertificateBundle(db, ref, options);
    else await readPemSecret(db, ref, PEM_BLOCK[kind], options);
  } catch (err) {
    if (!(err instanceof CertificateBundleError)) throw err;
    if (err.reason === 'not_found' || err.reason === 'forbidden' || err.reason === 'invalid_ref') {
      throw new ApiError(400, 'CertificateRetrievalException', `Could not retrieve certificate: ${ref}`);
    }
    throw new ApiError(400, 'ValidationException', `Validation failure: ${field} ${ref}: ${err.message}`);
  }
}
