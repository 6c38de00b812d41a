// The renderer's re-encryption to members, client certificate authentication and peers: exact HAProxy lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHaproxyConfig, type HaproxyPeers } from '../../../../src/agents/amphora/haproxy-config.js';
import { AmphoraConfigError } from '../../../../src/agents/amphora/config-tokens.js';
import type { ListenerTls, LoadBalancer, PoolTls } from '../../../../src/agents/amphora/types.js';
import { OPTIONS, balancer, listener, monitor, pool, sectionLines } from './fixtures.js';

const CERTS = '/var/lib/cloudnet-amphora/certs';
const LISTENER_TLS: ListenerTls = {
  defaultCertificatePath: `${CERTS}/default.pem`,
  sniCertificatePaths: [],
  alpnProtocols: [],
  tlsVersions: ['TLSv1.2', 'TLSv1.3'],
  tlsCiphers: null,
  clientAuthentication: 'NONE',
  clientCaPath: null,
  clientCrlPath: null,
};
const POOL_TLS: PoolTls = { clientCertificatePath: null, caPath: null, crlPath: null, tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: null, alpnProtocols: [] };
const SERVER = 'server m1 198.18.1.11:8080 weight 1';

const render = (lb: LoadBalancer, peers: HaproxyPeers | null = null) => renderHaproxyConfig(lb, { ...OPTIONS, peers });

test('re-encryption: the server line takes ssl, the client certificate, verification against the CA and CRL, versions, ciphers, ALPN', () => {
  const cases: [string, Partial<PoolTls>, string][] = [
    ['tls_enabled alone: not verified', {}, `${SERVER} ssl verify none no-sslv3 no-tlsv10 no-tlsv11`],
    ['client certificate', { clientCertificatePath: `${CERTS}/client.pem` }, `${SERVER} ssl crt ${CERTS}/client.pem verify none no-sslv3 no-tlsv10 no-tlsv11`],
    ['CA: verified', { caPath: `${CERTS}/ca.pem` }, `${SERVER} ssl ca-file ${CERTS}/ca.pem verify required no-sslv3 no-tlsv10 no-tlsv11`],
    ['CA and CRL', { caPath: `${CERTS}/ca.pem`, crlPath: `${CERTS}/crl.pem` }, `${SERVER} ssl ca-file ${CERTS}/ca.pem crl-file ${CERTS}/crl.pem verify required no-sslv3 no-tlsv10 no-tlsv11`],
    ['versions, ciphers, ALPN', { tlsVersions: ['TLSv1.3'], tlsCiphers: 'ECDHE-RSA-AES128-GCM-SHA256', alpnProtocols: ['h2', 'http/1.1'] },
      `${SERVER} ssl verify none ciphers ECDHE-RSA-AES128-GCM-SHA256 no-sslv3 no-tlsv10 no-tlsv11 no-tlsv12 alpn h2,http/1.1`],
  ];
  for (const [name, tls, line] of cases) {
    const lines = sectionLines(render(balancer({ pools: [pool({ tls: { ...POOL_TLS, ...tls } })] })), 'backend p1:l1');
    assert.equal(lines.at(-1), line, name);
  }
});

test('re-encryption with an HTTPS monitor: the checks go over the server\'s own TLS, not an unverified one of their own', () => {
  const lines = sectionLines(render(balancer({ pools: [pool({ healthMonitor: monitor({ type: 'HTTPS' }), tls: { ...POOL_TLS, caPath: `${CERTS}/ca.pem` } })] })), 'backend p1:l1');
  assert.equal(lines.at(-1), `${SERVER} check inter 5s fall 3 rise 2 ssl ca-file ${CERTS}/ca.pem verify required no-sslv3 no-tlsv10 no-tlsv11`);
});

test('re-encryption on a TCP pool behind a TCP listener', () => {
  const lb = balancer({ listeners: [listener({ protocol: 'TCP' })], pools: [pool({ protocol: 'TCP', tls: POOL_TLS })] });
  assert.equal(sectionLines(render(lb), 'backend p1:l1').at(-1), `${SERVER} ssl verify none no-sslv3 no-tlsv10 no-tlsv11`);
});

test('client authentication: the bind line takes the CA with NONE, OPTIONAL or MANDATORY, and the CRL', () => {
  const bind = `bind 198.18.0.10:443 ssl crt ${CERTS}/default.pem no-sslv3 no-tlsv10 no-tlsv11`;
  const cases: [string, Partial<ListenerTls>, string][] = [
    ['no client CA: no client certificate asked', {}, bind],
    ['NONE with a CA', { clientCaPath: `${CERTS}/client-ca.pem` }, `${bind} ca-file ${CERTS}/client-ca.pem verify none`],
    ['OPTIONAL', { clientAuthentication: 'OPTIONAL', clientCaPath: `${CERTS}/client-ca.pem` }, `${bind} ca-file ${CERTS}/client-ca.pem verify optional`],
    ['MANDATORY with a CRL', { clientAuthentication: 'MANDATORY', clientCaPath: `${CERTS}/client-ca.pem`, clientCrlPath: `${CERTS}/client-crl.pem` },
      `${bind} ca-file ${CERTS}/client-ca.pem verify required crl-file ${CERTS}/client-crl.pem`],
  ];
  for (const [name, tls, line] of cases) {
    const lb = balancer({ listeners: [listener({ protocol: 'TERMINATED_HTTPS', protocolPort: 443, tls: { ...LISTENER_TLS, ...tls } })] });
    assert.equal(sectionLines(render(lb), 'frontend l1')[1], line, name);
  }
});

test('X-SSL-* headers: what HAProxy knows of the client certificate, in Octavia\'s forms', () => {
  const lb = balancer({
    listeners: [
      listener({
        protocol: 'TERMINATED_HTTPS',
        protocolPort: 443,
        tls: { ...LISTENER_TLS, clientAuthentication: 'OPTIONAL', clientCaPath: `${CERTS}/client-ca.pem` },
        insertHeaders: ['X-SSL-Client-Not-After', 'X-SSL-Client-Verify', 'X-SSL-Client-Has-Cert', 'X-SSL-Client-DN', 'X-SSL-Client-CN', 'X-SSL-Issuer', 'X-SSL-Client-SHA1', 'X-SSL-Client-Not-Before'],
      }),
    ],
  });
  assert.deepEqual(sectionLines(render(lb), 'frontend l1').filter((l) => l.startsWith('http-request')), [
    'http-request set-header X-SSL-Client-Verify %{+Q}[ssl_c_verify]',
    'http-request set-header X-SSL-Client-Has-Cert %[ssl_c_used]',
    'http-request set-header X-SSL-Client-DN %{+Q}[ssl_c_s_dn]',
    'http-request set-header X-SSL-Client-CN %{+Q}[ssl_c_s_dn(cn)]',
    'http-request set-header X-SSL-Issuer %{+Q}[ssl_c_i_dn]',
    'http-request set-header X-SSL-Client-SHA1 %{+Q}[ssl_c_sha1,hex]',
    'http-request set-header X-SSL-Client-Not-Before %{+Q}[ssl_c_notbefore]',
    'http-request set-header X-SSL-Client-Not-After %{+Q}[ssl_c_notafter]',
  ]);
});

const PEERS: HaproxyPeers = {
  localPeer: 'a1',
  peers: [
    { name: 'a2', address: '198.18.0.12' },
    { name: 'a1', address: '198.18.0.11' },
  ],
  port: 1025,
};

test('peers: a section named after the balancer, the local peer in global, stick tables shared', () => {
  const lb = balancer({
    id: 'd3f0c1a2-0000-4000-8000-000000000001',
    listeners: [listener(), listener({ id: 'l2', protocolPort: 81, defaultPoolId: 'p2' }), listener({ id: 'l3', protocolPort: 82, defaultPoolId: 'p3' })],
    pools: [
      pool({ sessionPersistence: { type: 'SOURCE_IP' } }),
      pool({ id: 'p2', sessionPersistence: { type: 'APP_COOKIE', cookieName: 'SID' } }),
      pool({ id: 'p3', sessionPersistence: { type: 'HTTP_COOKIE' } }),
    ],
  });
  const config = render(lb, PEERS);
  assert.ok(sectionLines(config, 'global').includes('localpeer a1'));
  assert.deepEqual(sectionLines(config, 'peers d3f0c1a2000040008000000000000001_peers'), ['peer a1 198.18.0.11:1025', 'peer a2 198.18.0.12:1025']);
  assert.ok(sectionLines(config, 'backend p1:l1').includes('stick-table type ipv6 size 10k peers d3f0c1a2000040008000000000000001_peers'));
  assert.ok(sectionLines(config, 'backend p2:l2').includes('stick-table type string len 64 size 10k peers d3f0c1a2000040008000000000000001_peers'));
  // The cookie names the member itself: nothing to share.
  assert.ok(!sectionLines(config, 'backend p3:l3').some((l) => l.startsWith('stick')));
  // The sections come before the proxies that name them.
  assert.ok(config.indexOf('peers d3f0') < config.indexOf('frontend l1'));
  assert.ok(!render(lb).includes('peers'), 'no peers without the option');
});

test('peers: IPv6 VRRP addresses are bracketed', () => {
  const config = render(balancer(), { localPeer: 'a1', peers: [{ name: 'a1', address: 'fd00::11' }, { name: 'a2', address: 'fd00::12' }], port: 1025 });
  assert.deepEqual(sectionLines(config, 'peers lb1_peers'), ['peer a1 [fd00::11]:1025', 'peer a2 [fd00::12]:1025']);
});

test('refused: TLS settings the tree cannot hold together', () => {
  const https = (tls: Partial<ListenerTls>, insertHeaders: LoadBalancer['listeners'][0]['insertHeaders'] = []) =>
    balancer({ listeners: [listener({ protocol: 'TERMINATED_HTTPS', protocolPort: 443, tls: { ...LISTENER_TLS, ...tls }, insertHeaders })] });
  const cases: [string, LoadBalancer, HaproxyPeers | null, RegExp][] = [
    ['MANDATORY without a CA', https({ clientAuthentication: 'MANDATORY' }), null, /client_authentication MANDATORY needs a client CA/],
    ['client CRL without a CA', https({ clientCrlPath: `${CERTS}/crl.pem` }), null, /client CRL needs a client CA/],
    ['pool CRL without a CA', balancer({ pools: [pool({ tls: { ...POOL_TLS, crlPath: `${CERTS}/crl.pem` } })] }), null, /CRL needs a CA/],
    ['pool without TLS versions', balancer({ pools: [pool({ tls: { ...POOL_TLS, tlsVersions: [] } })] }), null, /pool p1: tls_versions is empty/],
    ['relative pool CA', balancer({ pools: [pool({ tls: { ...POOL_TLS, caPath: 'ca.pem' } })] }), null, /absolute path/],
    ['X-SSL header on HTTP', balancer({ listeners: [listener({ insertHeaders: ['X-SSL-Client-DN'] })] }), null, /X-SSL-Client-DN needs a TERMINATED_HTTPS listener/],
    ['local peer not among the peers', balancer(), { ...PEERS, localPeer: 'a3' }, /local peer a3 is not among the peers/],
    ['two peers of one name', balancer(), { ...PEERS, peers: [PEERS.peers[0]!, PEERS.peers[0]!] }, /unique/],
    ['peer address not an IP', balancer(), { ...PEERS, peers: [{ name: 'a1', address: 'amphora-1' }] }, /not an IP address/],
  ];
  for (const [name, lb, peers, message] of cases) {
    assert.throws(() => render(lb, peers), (e: unknown) => e instanceof AmphoraConfigError && message.test(e.message), name);
  }
});
