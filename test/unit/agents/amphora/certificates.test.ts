import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeCertificates } from '../../../../src/agents/amphora/certificates.js';
import { AmphoraConfigError } from '../../../../src/agents/amphora/config-tokens.js';
import type { ListenerTls } from '../../../../src/agents/amphora/types.js';
import { balancer, listener } from './fixtures.js';

const tls = (t: Partial<ListenerTls>): ListenerTls => ({ defaultCertificatePath: 'c1', sniCertificatePaths: [], alpnProtocols: [], tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: null, clientAuthentication: 'NONE', clientCaPath: null, clientCrlPath: null, ...t });

test('certificate names become content-addressed files under the certificate directory', () => {
  const lb = balancer({
    listeners: [
      listener({ id: 'l1', protocol: 'TERMINATED_HTTPS', protocolPort: 443, tls: tls({ defaultCertificatePath: 'c1', sniCertificatePaths: ['c2', 'c1'] }) }),
      listener({ id: 'l2', protocolPort: 80 }),
    ],
  });
  const placed = placeCertificates(lb, { c1: 'PEM ONE', c2: 'PEM TWO', unused: 'PEM THREE' }, '/state/certs');
  const l1 = placed.loadBalancer.listeners[0]!.tls!;
  assert.match(l1.defaultCertificatePath, /^\/state\/certs\/[0-9a-f]{32}\.pem$/);
  const pathOf = (pem: string) => [...placed.files].find(([, content]) => content === pem)?.[0];
  assert.equal(placed.files.size, 2, 'only the certificates a listener names are written');
  assert.equal(l1.defaultCertificatePath, pathOf('PEM ONE'));
  assert.deepEqual(l1.sniCertificatePaths, [pathOf('PEM TWO'), pathOf('PEM ONE')]);
  assert.equal(placed.loadBalancer.listeners[1]!.tls, null);
  // The input tree is left as it was.
  assert.equal(lb.listeners[0]!.tls!.defaultCertificatePath, 'c1');
  // Same content, same file; new content, a new file.
  assert.equal(placeCertificates(lb, { c1: 'PEM ONE', c2: 'PEM TWO' }, '/state/certs').loadBalancer.listeners[0]!.tls!.defaultCertificatePath, l1.defaultCertificatePath);
  assert.notEqual(placeCertificates(lb, { c1: 'PEM ONE v2', c2: 'PEM TWO' }, '/state/certs').loadBalancer.listeners[0]!.tls!.defaultCertificatePath, l1.defaultCertificatePath);
});

test('a listener naming a certificate the target does not carry is refused', () => {
  const lb = balancer({ listeners: [listener({ protocol: 'TERMINATED_HTTPS', protocolPort: 443, tls: tls({ sniCertificatePaths: ['missing'] }) })] });
  assert.throws(() => placeCertificates(lb, { c1: 'PEM' }, '/state/certs'), (e: unknown) => e instanceof AmphoraConfigError && /"missing"/.test(e.message));
});
