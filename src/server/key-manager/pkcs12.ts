import { execTool } from '../../lib/exec.js';

/** The PEM parts of a PKCS#12 bundle without a password, as Octavia reads a TLS secret that is one. */
export interface Pkcs12Parts {
  certificate: string;
  privateKey: string;
  intermediates: string | null;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----\n?/g;

/**
 * Splits a PKCS#12 bundle with `openssl pkcs12` (Node has no parser of its own): the leaf certificate, the key
 * and the other certificates. Bundles made with OpenSSL 1.x ciphers (RC2, 3DES) need the legacy provider, so a
 * refusal is retried with `-legacy`. Throws when the bytes are not such a bundle.
 */
export async function splitPkcs12(bytes: Buffer): Promise<Pkcs12Parts> {
  const part = async (selection: string[]) => {
    const args = ['pkcs12', '-passin', 'pass:', ...selection];
    const run = (extra: string[]) => execTool('openssl', [...args, ...extra], { input: bytes, timeoutMs: 10_000 });
    const { stdout } = await run([]).catch(() => run(['-legacy']));
    return (stdout.match(PEM_BLOCK) ?? []).map((block) => block.trimEnd() + '\n');
  };
  const [leaf, others, keys] = [await part(['-nokeys', '-clcerts']), await part(['-nokeys', '-cacerts']), await part(['-nocerts', '-nodes'])];
  if (leaf.length !== 1 || keys.length !== 1) throw new Error(`a PKCS#12 bundle holds one certificate with its key, not ${leaf.length} and ${keys.length}`);
  return { certificate: leaf[0]!, privateKey: keys[0]!, intermediates: others.length ? others.join('') : null };
}
