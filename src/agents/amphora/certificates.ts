import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AmphoraConfigError } from './config-tokens.js';
import type { LoadBalancer } from './types.js';

export interface PlacedCertificates {
  /** The tree with each certificate name replaced by the path of its file. */
  loadBalancer: LoadBalancer;
  /** The files to write (mode 0600) before HAProxy reads the config: path → PEM bundle. */
  files: Map<string, string>;
}

/**
 * Where the target's PEM files (listener and pool certificates, CA bundles, revocation lists) go on disk, and the tree that names them by path. Files are named by a digest
 * of their content, so a changed certificate is a new file: the config HAProxy runs (and reloads or restarts
 * with) keeps its own files until a new config that no longer names them has been accepted.
 */
export function placeCertificates(lb: LoadBalancer, certificates: Record<string, string>, certDir: string): PlacedCertificates {
  const files = new Map<string, string>();
  const place = (name: string): string => {
    const pem = certificates[name];
    if (pem === undefined) throw new AmphoraConfigError(`certificate ${JSON.stringify(name)} is named by the tree but not in the target's certificates`);
    const path = join(certDir, `${createHash('sha256').update(pem).digest('hex').slice(0, 32)}.pem`);
    files.set(path, pem);
    return path;
  };
  const placeOrNull = (name: string | null) => (name === null ? null : place(name));
  const listeners = lb.listeners.map((l) =>
    l.tls
      ? {
          ...l,
          tls: {
            ...l.tls,
            defaultCertificatePath: place(l.tls.defaultCertificatePath),
            sniCertificatePaths: l.tls.sniCertificatePaths.map(place),
            clientCaPath: placeOrNull(l.tls.clientCaPath),
            clientCrlPath: placeOrNull(l.tls.clientCrlPath),
          },
        }
      : l,
  );
  const pools = lb.pools.map((p) =>
    p.tls
      ? { ...p, tls: { ...p.tls, clientCertificatePath: placeOrNull(p.tls.clientCertificatePath), caPath: placeOrNull(p.tls.caPath), crlPath: placeOrNull(p.tls.crlPath) } }
      : p,
  );
  return { loadBalancer: { ...lb, listeners, pools }, files };
}
