import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throwaway CA made with openssl in `dir`: it issues certificates and revocation lists, all PEM. */
export interface TestCa {
  name: string;
  certificate: string;
  /** Certificate then key of a leaf signed by this CA (what HAProxy's `crt` and curl's `--cert` take). */
  issue(commonName: string, serial: number): { certificate: string; key: string; bundle: string; certificateFile: string; keyFile: string; bundleFile: string };
  /** A CRL revoking the given serials (none: an empty, valid CRL). */
  crl(revokedSerials: number[]): string;
  certificateFile: string;
}

export function testCa(dir: string, name: string): TestCa {
  const at = (file: string) => join(dir, `${name}-${file}`);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-days', '2', '-keyout', at('ca.key'), '-out', at('ca.pem')]);
  const issued = new Map<number, string>();
  const issue = (commonName: string, serial: number) => {
    const [key, csr, cert, bundle] = [at(`${serial}.key`), at(`${serial}.csr`), at(`${serial}.pem`), at(`${serial}-bundle.pem`)];
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${commonName}`, '-keyout', key, '-out', csr]);
    run(['x509', '-req', '-in', csr, '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-set_serial', String(serial), '-days', '2', '-out', cert]);
    issued.set(serial, cert);
    writeFileSync(bundle, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
    return { certificate: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), bundle: readFileSync(bundle, 'utf8'), certificateFile: cert, keyFile: key, bundleFile: bundle };
  };
  const crl = (revokedSerials: number[]) => {
    // `openssl ca` keeps its state in files; each CRL starts from a fresh database.
    const config = at('ca.cnf');
    writeFileSync(at('index.txt'), '');
    writeFileSync(at('crlnumber'), '01\n');
    writeFileSync(config, `[ca]\ndefault_ca = d\n[d]\ndatabase = ${at('index.txt')}\ncrlnumber = ${at('crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 1\n`);
    for (const serial of revokedSerials) {
      const cert = issued.get(serial);
      if (!cert) throw new Error(`serial ${serial} was not issued by ${name}`);
      run(['ca', '-config', config, '-keyfile', at('ca.key'), '-cert', at('ca.pem'), '-revoke', cert]);
    }
    run(['ca', '-config', config, '-keyfile', at('ca.key'), '-cert', at('ca.pem'), '-gencrl', '-out', at('crl.pem')]);
    return readFileSync(at('crl.pem'), 'utf8');
  };
  return { name, certificate: readFileSync(at('ca.pem'), 'utf8'), certificateFile: at('ca.pem'), issue, crl };
}
