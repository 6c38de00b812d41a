import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHaproxyConfig } from '../../../../src/agents/amphora/haproxy-config.js';
import { loadBalancerTree } from '../../../../src/server/loadbalancer/tree.js';
import { DIALECTS } from '../../../support/databases.js';
import { OPTIONS } from '../../agents/amphora/fixtures.js';
import { createActiveLb, createSettled, settle, startLbWorld, type LbWorld } from './support.js';

const SECRET = (n: number) => `http://127.0.0.1:9311/key-manager/v1/secrets/5a1e7c3d-2b4f-4c6a-8e9d-1f2a3b4c5d6${n}`;
const CERT = (n: number) => `http://127.0.0.1:9311/key-manager/v1/containers/0b9f1a7e-4a3c-4a8f-9d55-0c1e0d4a1b2${n}`;

for (const dialect of DIALECTS) {
  describe(`Balancer tree for the amphora on ${dialect}`, () => {
    let world: LbWorld;
    before(async () => {
      world = await startLbWorld(dialect);
    });
    after(() => world.close());

    test('the tree carries what the renderer needs, certificates by name, and nothing being deleted', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice, { vip_address: '198.18.60.80' });
      const https = await createSettled(server, lb, '/v2/lbaas/listeners', {
        listener: {
          loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: CERT(0), sni_container_refs: [CERT(1), CERT(2)],
          alpn_protocols: ['h2', 'http/1.1'], insert_headers: { 'X-Forwarded-For': 'true', 'X-Forwarded-Proto': 'true', 'X-Forwarded-Port': 'false' },
          connection_limit: 1000, timeout_client_data: 30000,
        },
      }, lbId);
      const tcp = await createSettled(server, lb, '/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'TCP', protocol_port: 5432, allowed_cidrs: ['198.18.0.0/16'] } }, lbId);
      const web = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { listener_id: https, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', session_persistence: { type: 'HTTP_COOKIE' } } }, lbId);
      const db = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { listener_id: tcp, protocol: 'PROXYV2', lb_algorithm: 'SOURCE_IP' } }, lbId);
      const udp = await createSettled(server, lb, '/v2/lbaas/listeners', { listener: { loadbalancer_id: lbId, protocol: 'UDP', protocol_port: 53 } }, lbId);
      const dns = await createSettled(server, lb, '/v2/lbaas/pools', {
        pool: { listener_id: udp, protocol: 'UDP', lb_algorithm: 'ROUND_ROBIN', session_persistence: { type: 'SOURCE_IP', persistence_timeout: 60, persistence_granularity: '255.255.255.0' } },
      }, lbId);
      const m1 = await createSettled(server, lb, `/v2/lbaas/pools/${web}/members`, { member: { address: '198.18.60.11', protocol_port: 8080, weight: 3, monitor_port: 9090 } }, lbId);
      const m2 = await createSettled(server, lb, `/v2/lbaas/pools/${web}/members`, { member: { address: '198.18.60.12', protocol_port: 8080, admin_state_up: false, backup: true } }, lbId);
      const m3 = await createSettled(server, lb, `/v2/lbaas/pools/${db}/members`, { member: { address: '198.18.60.13', protocol_port: 5432 } }, lbId);
      const hm = await createSettled(server, lb, '/v2/lbaas/healthmonitors', { healthmonitor: { pool_id: web, type: 'HTTP', delay: 5, timeout: 3, max_retries: 2, url_path: '/healthz', http_version: 1.1, domain_name: 'web.example' } }, lbId);
      // A member on its way out is no longer part of the tree.
      assert.equal((await lb.delete(`/v2/lbaas/pools/${db}/members/${m3}`)).status, 204);

      const { tree, certificateRefs } = await server.store.read((d) => loadBalancerTree(d, lbId));
      assert.equal(tree.id, lbId);
      assert.equal(tree.vipAddress, '198.18.60.80');
      assert.deepEqual(certificateRefs, [
        { name: `${https}/0.pem`, containerRef: CERT(0), kind: 'bundle' },
        { name: `${https}/1.pem`, containerRef: CERT(1), kind: 'bundle' },
        { name: `${https}/2.pem`, containerRef: CERT(2), kind: 'bundle' },
      ]);
      const l443 = tree.listeners.find((l) => l.id === https)!;
      assert.deepEqual(l443.tls, {
        defaultCertificatePath: `${https}/0.pem`,
        sniCertificatePaths: [`${https}/1.pem`, `${https}/2.pem`],
        alpnProtocols: ['h2', 'http/1.1'],
        tlsVersions: ['TLSv1.2', 'TLSv1.3'],
        tlsCiphers: null,
        clientAuthentication: 'NONE',
        clientCaPath: null,
        clientCrlPath: null,
      });
      assert.deepEqual(l443.insertHeaders, ['X-Forwarded-For', 'X-Forwarded-Proto']);
      assert.equal(l443.connectionLimit, 1000);
      assert.equal(l443.timeoutClientData, 30000);
      assert.equal(l443.defaultPoolId, web);
      const l5432 = tree.listeners.find((l) => l.id === tcp)!;
      assert.deepEqual(l5432.allowedCidrs, ['198.18.0.0/16']);
      assert.equal(l5432.tls, null);

      const webPool = tree.pools.find((p) => p.id === web)!;
      assert.deepEqual(webPool.sessionPersistence, { type: 'HTTP_COOKIE' });
      assert.deepEqual(tree.pools.find((p) => p.id === dns)!.sessionPersistence, { type: 'SOURCE_IP', granularity: '255.255.255.0' });
      assert.deepEqual(tree.pools.find((p) => p.id === db)!.sessionPersistence, null);
      assert.equal(webPool.tls, null);
      assert.deepEqual(webPool.healthMonitor, {
        id: hm, type: 'HTTP', adminStateUp: true, delay: 5, timeout: 3, maxRetries: 2, maxRetriesDown: 3,
        httpMethod: 'GET', urlPath: '/healthz', expectedCodes: '200', httpVersion: 1.1, domainName: 'web.example',
      });
      const members = Object.fromEntries(webPool.members.map((m) => [m.id, [m.weight, m.adminStateUp, m.backup, m.monitorPort]]));
      assert.deepEqual(members, { [m1]: [3, true, false, 9090], [m2]: [1, false, true, null] });
      assert.deepEqual(tree.pools.find((p) => p.id === db)!.members, []);

      // The real renderer takes it once certificate names are paths, as the agent writes them under its state directory.
      const onDisk = (name: string) => `/var/lib/cloudnet-amphora/certs/${name}`;
      const config = renderHaproxyConfig(
        {
          ...tree,
          listeners: tree.listeners.map((l) => ({
            ...l,
            tls: l.tls && { ...l.tls, defaultCertificatePath: onDisk(l.tls.defaultCertificatePath), sniCertificatePaths: l.tls.sniCertificatePaths.map(onDisk) },
          })),
        },
        OPTIONS,
      );
      assert.match(config, new RegExp(`frontend ${https}`));
      assert.match(config, new RegExp(`server ${m2} 198.18.60.12:8080 .*disabled`));

      // A balancer that is administratively down disables every listener.
      await settle(server, lbId);
      assert.equal((await lb.put(`/v2/lbaas/loadbalancers/${lbId}`, { loadbalancer: { admin_state_up: false } })).status, 200);
      const down = await server.store.read((d) => loadBalancerTree(d, lbId));
      assert.deepEqual(down.tree.listeners.map((l) => l.adminStateUp), [false, false, false]);
    });

    test('client authentication and re-encryption: CA and CRL secrets and the pool\'s client certificate by name', async () => {
      const { server } = world;
      const { lb } = world.alice;
      const lbId = await createActiveLb(server, world.alice, { vip_address: '198.18.60.81' });
      const https = await createSettled(server, lb, '/v2/lbaas/listeners', {
        listener: {
          loadbalancer_id: lbId, protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: CERT(0),
          client_ca_tls_container_ref: SECRET(1), client_authentication: 'MANDATORY', client_crl_container_ref: SECRET(2),
          insert_headers: { 'X-SSL-Client-CN': 'true', 'X-SSL-Client-Verify': 'true' },
        },
      }, lbId);
      const web = await createSettled(server, lb, '/v2/lbaas/pools', {
        pool: { listener_id: https, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', tls_enabled: true, tls_container_ref: SECRET(3), ca_tls_container_ref: SECRET(4), crl_container_ref: SECRET(5), tls_versions: ['TLSv1.3'], alpn_protocols: ['http/1.1'] },
      }, lbId);
      const plain = await createSettled(server, lb, '/v2/lbaas/pools', { pool: { loadbalancer_id: lbId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', tls_enabled: true } }, lbId);

      const { tree, certificateRefs } = await server.store.read((d) => loadBalancerTree(d, lbId));
      assert.deepEqual(certificateRefs, [
        { name: `${web}/client.pem`, containerRef: SECRET(3), kind: 'bundle' },
        { name: `${web}/ca.pem`, containerRef: SECRET(4), kind: 'ca' },
        { name: `${web}/crl.pem`, containerRef: SECRET(5), kind: 'crl' },
        { name: `${https}/0.pem`, containerRef: CERT(0), kind: 'bundle' },
        { name: `${https}/client-ca.pem`, containerRef: SECRET(1), kind: 'ca' },
        { name: `${https}/client-crl.pem`, containerRef: SECRET(2), kind: 'crl' },
      ]);
      const listenerTls = tree.listeners[0]!.tls!;
      assert.deepEqual([listenerTls.clientAuthentication, listenerTls.clientCaPath, listenerTls.clientCrlPath], ['MANDATORY', `${https}/client-ca.pem`, `${https}/client-crl.pem`]);
      assert.deepEqual(tree.listeners[0]!.insertHeaders, ['X-SSL-Client-CN', 'X-SSL-Client-Verify']);
      assert.deepEqual(tree.pools.find((p) => p.id === web)!.tls, {
        clientCertificatePath: `${web}/client.pem`, caPath: `${web}/ca.pem`, crlPath: `${web}/crl.pem`, tlsVersions: ['TLSv1.3'], tlsCiphers: null, alpnProtocols: ['http/1.1'],
      });
      // Octavia's pool defaults where the API left them out.
      assert.deepEqual(tree.pools.find((p) => p.id === plain)!.tls, {
        clientCertificatePath: null, caPath: null, crlPath: null, tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: null, alpnProtocols: ['h2', 'http/1.1', 'http/1.0'],
      });
    });
  });
}
