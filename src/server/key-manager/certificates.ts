import type { Db } from '../../store/database.js';
import { openPayload, type KeyEncryptionKey } from './crypto.js';
import { splitPkcs12 } from './pkcs12.js';
import * as repo from './repository.js';
import { targetOf } from './service.js';
import type { Target } from './policy.js';

/** What a TLS listener needs from a certificate container, as PEM text. */
export interface CertificateBundle {
  certificate: string;
  privateKey: string;
  /** The chain between the certificate and its root, PEM blocks one after another. */
  intermediates: string | null;
  /** The private key's passphrase, when the key is encrypted. */
  passphrase: string | null;
}

export interface CertificateBundleOptions {
  /** The project the bundle is read for (the load balancer's). */
  projectId: string;
  /** The user acting, if any: a container or secret whose read ACL names this user is readable from any project. */
  userId?: string;
  kek: KeyEncryptionKey;
}

/** Why a container reference cannot give a certificate bundle; the message says which and for what. */
export class CertificateBundleError extends Error {
  constructor(
    readonly reason: 'invalid_ref' | 'not_found' | 'forbidden' | 'not_certificate' | 'incomplete' | 'not_pem' | 'not_pkcs12',
    message: string,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The certificate, private key, intermediates and passphrase a TLS reference names, decrypted, for the load
 * balancer side (the provisioning controller renders them for amphorae). The reference is either a certificate
 * container (href or bare id) or, as Octavia also takes, a secret holding a PKCS#12 bundle without a password
 * (the Octavia cookbook's `openssl pkcs12 -export` + `openstack secret store`). In process, no HTTP and no token:
 * `projectId` reads what that project may read by project access (its own non-private objects), and `userId` adds
 * what read ACLs grant that user, which is how a service user is let in on another project's certificate. The
 * container and each of its secrets must be readable, as Barbican checks each secret on its own. Throws
 * `CertificateBundleError` otherwise.
 */
export async function readCertificateBundle(db: Db, containerRef: string, options: CertificateBundleOptions): Promise<CertificateBundle> {
  const { id, kind } = parseRef(containerRef);
  const readable = readableBy(options);
  if (kind === 'secrets') {
    const bytes = await openSecret(db, id, options, readable);
    try {
      return { ...(await splitPkcs12(bytes)), passphrase: null };
    } catch (err) {
      throw new CertificateBundleError('not_pkcs12', `secret ${id} is not a PKCS#12 bundle without a password (${(err as Error).message.split('\n')[0]})`);
    }
  }

  const container = await repo.getContainer(db, id);
  if (!container) throw new CertificateBundleError('not_found', `container ${id} does not exist`);
  if (!readable(targetOf(container, await repo.getReadAcl(db, 'container', id)))) {
    throw new CertificateBundleError('forbidden', `container ${id} may not be read by project ${options.projectId}`);
  }
  if (container.type !== 'certificate') {
    throw new CertificateBundleError('not_certificate', `container ${id} is a ${container.type} container, not a certificate container`);
  }

  const named = (await repo.containerSecrets(db, [id])).get(id)!;
  const secrets = new Map((await repo.getSecrets(db, named.map((n) => n.secret_id))).map((s) => [s.id, s]));
  const acls = await repo.getReadAcls(db, 'secret', [...secrets.keys()]);
  const now = new Date().toISOString();
  const text = (name: string): string | null => {
    const entry = named.find((n) => n.name === name);
    if (!entry) return null;
    const secret = secrets.get(entry.secret_id);
    if (!secret || (secret.expiration !== null && secret.expiration <= now)) {
      throw new CertificateBundleError('incomplete', `the ${name} secret ${entry.secret_id} of container ${id} no longer exists`);
    }
    if (!readable(targetOf(secret, acls.get(secret.id)))) {
      throw new CertificateBundleError('forbidden', `the ${name} secret ${secret.id} of container ${id} may not be read by project ${options.projectId}`);
    }
    if (!secret.sealed_payload) throw new CertificateBundleError('incomplete', `the ${name} secret ${secret.id} of container ${id} has no payload`);
    const bytes = openPayload(options.kek, secret.kek_id!, secret.id, secret.sealed_payload);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new CertificateBundleError('not_pem', `the ${name} secret ${secret.id} of container ${id} is not PEM text`);
    }
  };

  const certificate = text('certificate');
  const privateKey = text('private_key');
  if (!certificate) throw new CertificateBundleError('incomplete', `container ${id} names no certificate`);
  if (!privateKey) throw new CertificateBundleError('incomplete', `container ${id} names no private_key, which a TLS listener needs`);
  for (const [name, pem] of [['certificate', certificate], ['private_key', privateKey]] as const) {
    if (!pem.includes('-----BEGIN ')) throw new CertificateBundleError('not_pem', `the ${name} of container ${id} is not PEM text`);
  }
  return { certificate, privateKey, intermediates: text('intermediates'), passphrase: text('private_key_passphrase') };
}

/**
 * The PEM text a secret holds, for the references Octavia reads as one secret's payload: CA bundles
 * (`ca_tls_container_ref`, `client_ca_tls_container_ref`) and revocation lists (`crl_container_ref`,
 * `client_crl_container_ref`). `expect` is the PEM block the payload must hold (`CERTIFICATE`, `X509 CRL`).
 * Readable under the same rules as `readCertificateBundle`.
 */
export async function readPemSecret(db: Db, secretRef: string, expect: 'CERTIFICATE' | 'X509 CRL', options: CertificateBundleOptions): Promise<string> {
  const { id, kind } = parseRef(secretRef);
  if (kind !== 'secrets') throw new CertificateBundleError('invalid_ref', `'${secretRef}' is not a key-manager secret reference`);
  const bytes = await openSecret(db, id, options, readableBy(options));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CertificateBundleError('not_pem', `secret ${id} is not PEM text`);
  }
  if (!text.includes(`-----BEGIN ${expect}-----`)) throw new CertificateBundleError('not_pem', `secret ${id} holds no PEM ${expect}`);
  return text;
}

function parseRef(ref: string): { id: string; kind: string } {
  const id = ref.replace(/\/+$/, '').split('/').pop()!;
  const kind = !ref.includes('/') ? 'containers' : /\/(containers|secrets)\/[^/]+\/?$/.exec(ref)?.[1];
  if (!UUID.test(id) || !kind) throw new CertificateBundleError('invalid_ref', `'${ref}' is not a key-manager container or secret reference`);
  return { id, kind };
}

function readableBy(options: CertificateBundleOptions): (target: Target) => boolean {
  return (target) =>
    (target.projectId === options.projectId && (target.readProjectAccess || target.creatorId === options.userId)) ||
    (options.userId !== undefined && target.readUsers.includes(options.userId));
}

/** A secret's decrypted payload, when the options may read it. */
async function openSecret(db: Db, id: string, options: CertificateBundleOptions, readable: (target: Target) => boolean): Promise<Buffer> {
  const secret = await repo.getSecret(db, id, new Date().toISOString());
  if (!secret) throw new CertificateBundleError('not_found', `secret ${id} does not exist`);
  if (!readable(targetOf(secret, await repo.getReadAcl(db, 'secret', id)))) {
    throw new CertificateBundleError('forbidden', `secret ${id} may not be read by project ${options.projectId}`);
  }
  if (!secret.sealed_payload) throw new CertificateBundleError('incomplete', `secret ${id} has no payload`);
  return openPayload(options.kek, secret.kek_id!, secret.id, secret.sealed_payload);
}
