// The Load Balancer API reads the certificate, SNI, client-authentication and re-encryption references it is
// given from the key manager before storing them, as Octavia does: another project's secret, a missing one, or a payload that is
// not what the field needs is a 400.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyManagerApi, keyEncryptionKey } from '../../../../src/server/key-manager/index.js';
import { createLoadBalancerApi, defaultLoadBalancerConfig } from '../../../../src/server/loadbalancer/routes.js';
import { createNetworkApi } from '../../../../src/server/network/routes.js';
import { DIALECTS } from '../../../support/databases.js';
import { jsonClient } from '../../../support/http.js';
import { testCa } from '../../../support/pki.js';
import { startTestServer, type TestServer } from '../../../support/server.js';
import { assertFault, createActiveLb, createSettled, lbUser, type LbUser } from './support.js';

for (const dialect of DIALECTS) {
  describe(`TLS references checked against the key manager on ${dialect}`, () => {
    let server: TestServer;
    let alice: LbUser;
    let bob: LbUser;
    let dir: string;
    const refs: Record<string, string> = {};

    before(async () => {
      const kek = keyEncryptionKey(randomBytes(32));
      server = await startTestServer({ dialect, apis: [createNetworkApi(), createLoadBalancerApi({ ...defaultLoadBalancerConfig, kek }), createKeyManagerApi({ kek })] });
      alice = await lbUser(server, 'alice', '198.18.62.0/24');
      bob = await lbUser(server, 'bob', '198.18.63.0/24');
      dir = mkdtempSync(join(tmpdir(), 'cloudnet-tls-refs-'));
      const ca = testCa(dir, 'ca');
      const client = ca.issue('amphora-client', 7);
      const store = async (user: LbUser, name: string, payload: string) => {
        const r = await jsonClient(`${server.url}/key-manager`, user.token).post('/v1/secrets', { name, payload, payload_content_type: 'text/plain' });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        refs[name] = r.body.secret_ref as string;
      };
      await store(alice, 'ca', ca.certificate);
      await store(alice, 'crl', ca.crl([]));
      await store(bob, 'bob-ca', ca.certificate);
      const bundle = await jsonClient(`${server.url}/key-manager`, alice.token).post('/v1/containers', {
        name: 'client',
        type: 'certificate',
        secret_refs: await Promise.all(
          [['certificate', client.certificate], ['private_key', client.key]].map(async ([name, payload]) => {
            await store(alice, `client-${name}`, payload!);
            return { name, secret_ref: refs[`client-${name}`] };
          }),
        ),
      });
      assert.equal(bundle.status, 201, JSON.stringify(bundle.body));
      refs.client = bundle.body.container_ref as string;
      refs.missing = refs.ca!.replace(/[0-9a-f]{12}$/, '000000000000');
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a re-encrypting pool: its own project\'s client certificate, CA and CRL are taken; anything else is 400', async () => {
      const lbId = await createActiveLb(server, alice, { vip_address: '198.18.62.80' });
      const pool = (extra: Record<string, unknown>) => alice.lb.post('/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', tls_enabled: true, ...extra } });
      assertFault(await pool({ ca_tls_container_ref: refs['bob-ca'] }), 400, new RegExp(`Could not retrieve certificate: ${refs['bob-ca']}`));
      assertFault(await pool({ ca_tls_container_ref: refs.missing }), 400, /Could not retrieve certificate/);
      assertFault(await pool({ ca_tls_container_ref: refs.crl }), 400, /ca_tls_container_ref .* holds no PEM CERTIFICATE/);
      assertFault(await pool({ ca_tls_container_ref: refs.ca, crl_container_ref: refs.ca }), 400, /crl_container_ref .* holds no PEM X509 CRL/);
      assertFault(await pool({ tls_container_ref: refs.ca }), 400, /tls_container_ref .* not a PKCS#12 bundle/);
      assertFault(await pool({ crl_container_ref: refs.crl }), 400, /CA reference is required to specify a certificate revocation list/);
      const id = await createSettled(server, alice.lb, '/v2/lbaas/pools', {
        pool: { loadbalancer_id: lbId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', tls_enabled: true, tls_container_ref: refs.client, ca_tls_container_ref: refs.ca, crl_container_ref: refs.crl },
      }, lbId);
      const shown = (await alice.lb.get(`/v2/lbaas/pools/${id}`)).body.pool;
      assert.deepEqual([shown.tls_enabled, shown.tls_container_ref, shown.ca_tls_container_ref, shown.crl_container_ref], [true, refs.client, refs.ca, refs.crl]);
      // An update reads what it changes.
      assertFault(await alice.lb.put(`/v2/lbaas/pools/${id}`, { pool: { ca_tls_container_ref: refs['bob-ca'] } }), 400, /Could not retrieve certificate/);
      assert.equal((await alice.lb.put(`/v2/lbaas/pools/${id}`, { pool: { name: 'renamed' } })).status, 200);
    });

    test('a listener\'s certificate and SNI certificates: its own project\'s readable bundles only, on create and update', async () => {
      const lbId = await createActiveLb(server, alice, { vip_address: '198.18.62.82' });
      const listener = (port: number, extra: Record<string, unknown>) =>
        alice.lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: port, ...extra } });
      assertFault(await listener(443, { default_tls_container_ref: refs['bob-ca'] }), 400, new RegExp(`Could not retrieve certificate: ${refs['bob-ca']}`));
      assertFault(await listener(443, { default_tls_container_ref: refs.missing }), 400, /Could not retrieve certificate/);
      assertFault(await listener(443, { default_tls_container_ref: refs.ca }), 400, /default_tls_container_ref .* not a PKCS#12 bundle/);
      assertFault(await listener(443, { default_tls_container_ref: refs.client, sni_container_refs: [refs.client, refs.missing] }), 400, new RegExp(`Could not retrieve certificate: ${refs.missing}`));
      assert.equal((await alice.lb.get(`/v2/lbaas/listeners?loadbalancer_id=${lbId}`)).body.listeners.length, 0, 'nothing stored');
      const id = await createSettled(server, alice.lb, '/v2/lbaas/listeners', {
        listener: { loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: refs.client, sni_container_refs: [refs.client] },
      }, lbId);
      assertFault(await alice.lb.put(`/v2/lbaas/listeners/${id}`, { listener: { sni_container_refs: [refs['bob-ca']] } }), 400, /Could not retrieve certificate/);
      assert.deepEqual((await alice.lb.get(`/v2/lbaas/listeners/${id}`)).body.listener.sni_container_refs, [refs.client], 'the update changed nothing');
    });

    test('a listener\'s client CA and CRL: readable secrets of the right kind only', async () => {
      const lbId = await createActiveLb(server, alice, { vip_address: '198.18.62.81' });
      const listener = (extra: Record<string, unknown>) =>
        alice.lb.post('/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: refs.client, client_authentication: 'MANDATORY', ...extra } });
      assertFault(await listener({}), 400, /setting MANDATORY requires a client CA container reference/);
      assertFault(await listener({ client_ca_tls_container_ref: refs['bob-ca'] }), 400, /Could not retrieve certificate/);
      assertFault(await listener({ client_ca_tls_container_ref: refs.ca, client_crl_container_ref: refs.ca }), 400, /client_crl_container_ref .* holds no PEM X509 CRL/);
      const created = await listener({ client_ca_tls_container_ref: refs.ca, client_crl_container_ref: refs.crl, insert_headers: { 'X-SSL-Client-CN': 'true' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(created.body.listener.insert_headers, { 'X-SSL-Client-CN': 'True' });
    });
  });
}
