// Real traffic through real HAProxy in namespaces for what the renderer's table tests only read: re-encryption to
// TLS members (verified against a CA and a CRL, presenting a client certificate), client certificate
// authentication on a TERMINATED_HTTPS listener, and stick tables shared by the ACTIVE_STANDBY pair (peers).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AmphoraReconciler } from '../../../../src/agents/amphora/reconciler.js';
import { haproxyCommand } from '../../../../src/agents/amphora/runtime-socket.js';
import type { AmphoraTarget } from '../../../../src/agents/amphora/target.js';
import type { InsertHeader, ListenerTls, LoadBalancer, PoolTls } from '../../../../src/agents/amphora/types.js';
import { eventually, Topology } from '../../../e2e/host-agent/topology.js';
import { testCa, type TestCa } from '../../../support/pki.js';
import { balancer, listener, member, pairTarget, pool } from './fixtures.js';

const VIP = '198.18.0.100';
const AMPHORAE = { a1: '198.18.0.11', a2: '198.18.0.12' } as const;
const MEMBERS = { m1: '198.18.0.21', m2: '198.18.0.22' } as const;

/**
 * A member answering JSON: on 8080 plain HTTP with the X-SSL-* headers it was sent, on 8443 TLS with its own
 * certificate, asking for a client certificate from the amphorae's CA and naming the one it got.
 */
const MEMBER_SCRIPT = `
const [address, name, cert, key, clientCa] = process.argv.slice(1);
const fs = require('node:fs');
const answer = (res, body) => res.writeHead(200, { connection: 'close', 'content-type': 'application/json' }).end(JSON.stringify({ name, ...body }));
let up = 0;
const ready = () => ++up === 2 && console.log('listening');
require('node:http').createServer((req, res) => answer(res, { headers: Object.fromEntries(Object.entries(req.headers).filter(([h]) => h.startsWith('x-ssl'))) })).listen(8080, address, ready);
require('node:https').createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), ca: fs.readFileSync(clientCa), requestCert: true, rejectUnauthorized: true },
  (req, res) => answer(res, { client: req.socket.getPeerCertificate().subject.CN })).listen(8443, address, ready);
`;

describe('amphora TLS to members, client certificates and peers, with real HAProxy', { skip: process.getuid?.() !== 0 && 'needs root for network namespaces' }, () => {
  const topology = new Topology();
  const reconcilers: Record<string, AmphoraReconciler> = {};
  const dirs: string[] = [];
  let pki = '';
  let membersCa: TestCa;
  let amphoraCa: TestCa;
  let clientsCa: TestCa;
  let otherCa: TestCa;
  let client = '';
  let revision = 0;
  const pem: Record<string, string> = {};
  let stuckTo = '';

  const target = (amphora: 'a1' | 'a2', lb: LoadBalancer): AmphoraTarget =>
    pairTarget(amphora, AMPHORAE, {
      lb,
      revision,
      vips: [`${VIP}/24`],
      virtualRouterId: 52,
      certificates: pem,
      haproxyPeers: { localPeer: amphora, peers: Object.entries(AMPHORAE).map(([name, address]) => ({ name, address })), port: 1025 },
    });
  const applyBoth = async (lb: LoadBalancer) => {
    revision++;
    return [await reconcilers.a1!.apply(target('a1', lb)), await reconcilers.a2!.apply(target('a2', lb))];
  };

  /** curl from the client namespace: the JSON body, or the failure (curl's exit status or an HTTP error). */
  const curl = async (url: string, extra: string[] = []): Promise<{ name: string; client?: string; headers?: Record<string, string> } | string> => {
    try {
      const out = await topology.exec(client, ['curl', '-sS', '-k', '--fail', '--max-time', '3', ...extra, url]);
      return JSON.parse(out);
    } catch (err) {
      return `failed: ${(err as Error).message.split('\n').find((l) => l.includes('curl:')) ?? (err as Error).message}`;
    }
  };
  const names = async (url: string, count: number) => {
    const answers: string[] = [];
    for (let i = 0; i < count; i++) {
      const a = await curl(url);
      answers.push(typeof a === 'string' ? a : a.name);
    }
    return answers;
  };

  const reencrypting = (tls: Partial<PoolTls>) =>
    balancer({
      vipAddress: VIP,
      listeners: [listener({ id: 'l1', protocol: 'HTTP', protocolPort: 80 })],
      pools: [
        pool({
          id: 'p1',
          // Octavia's members keep their port for life: the TLS port is other members than the plain one.
          members: Object.entries(MEMBERS).map(([id, address]) => member({ id: `${id}-tls`, address, protocolPort: 8443 })),
          tls: { clientCertificatePath: 'amphora-client', caPath: null, crlPath: null, tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: null, alpnProtocols: [], ...tls },
        }),
      ],
    });

  before(async () => {
    pki = mkdtempSync(join(tmpdir(), 'cloudnet-amphora-pki-'));
    membersCa = testCa(pki, 'members-ca');
    amphoraCa = testCa(pki, 'amphora-ca');
    clientsCa = testCa(pki, 'clients-ca');
    otherCa = testCa(pki, 'other-ca');
    pem['amphora-client'] = amphoraCa.issue('amphora', 1).bundle;
    pem['members-ca'] = membersCa.certificate;
    pem['other-ca'] = otherCa.certificate;
    pem.vip = otherCa.issue('vip.example', 1).bundle;
    pem['clients-ca'] = clientsCa.certificate;
    clientsCa.issue('alice', 11);
    clientsCa.issue('mallory', 12);
    pem['clients-crl'] = clientsCa.crl([12]);

    await topology.createFabric();
    client = await topology.addHost('client', '198.18.0.2');
    let serial = 100;
    for (const [name, address] of Object.entries(MEMBERS)) {
      const ns = await topology.addHost(name, address);
      const cert = membersCa.issue(name, ++serial);
      const child = topology.spawn(['ip', 'netns', 'exec', ns, 'node', '-e', MEMBER_SCRIPT, address, name, cert.certificateFile, cert.keyFile, amphoraCa.certificateFile]);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (b: Buffer) => b.toString().includes('listening') && resolve());
        child.once('exit', (code) => reject(new Error(`member ${name} exited (${code}): ${child.output()}`)));
      });
    }
    pem['members-crl-m2'] = membersCa.crl([102]);
    for (const [name, address] of Object.entries(AMPHORAE)) {
      const netns = await topology.addHost(name, address);
      const stateDir = mkdtempSync(join(tmpdir(), `cloudnet-amphora-${name}-`));
      dirs.push(stateDir);
      reconcilers[name] = new AmphoraReconciler({ netns, stateDir, logger: pino({ level: process.env.CLOUDNET_TEST_LOG ?? 'silent' }), onNamespaceGone: () => {} });
      await reconcilers[name]!.start();
    }
  });

  after(async () => {
    for (const r of Object.values(reconcilers)) await r.stop();
    await topology.cleanup();
    for (const d of [...dirs, pki]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('re-encryption: HTTP in, TLS to the members with the pool\'s client certificate, not verified without a CA', async () => {
    assert.deepEqual(await applyBoth(reencrypting({})), ['start', 'start']);
    await eventually('a1 holds the VIP', async () => (await reconcilers.a1!.health()).vrrpState === 'MASTER');
    await eventually('the VIP answers', async () => typeof (await curl(`http://${VIP}/`)) !== 'string');
    const answers = await Promise.all([0, 1, 2, 3].map(() => curl(`http://${VIP}/`)));
    assert.deepEqual(new Set(answers.map((a) => (typeof a === 'string' ? a : `${a.name} saw ${a.client}`))), new Set(['m1 saw amphora', 'm2 saw amphora']));
  });

  it('re-encryption verified: the members\' CA serves, another CA is 503, a CRL revoking m2 leaves m1 alone', async () => {
    assert.deepEqual(await applyBoth(reencrypting({ caPath: 'other-ca' })), ['reload', 'reload']);
    const refused = await curl(`http://${VIP}/`);
    assert.match(String(refused), /failed: .*503/, 'members whose certificate the CA did not sign are not served');

    assert.deepEqual(await applyBoth(reencrypting({ caPath: 'members-ca' })), ['reload', 'reload']);
    assert.deepEqual(new Set(await names(`http://${VIP}/`, 4)), new Set(['m1', 'm2']));

    assert.deepEqual(await applyBoth(reencrypting({ caPath: 'members-ca', crlPath: 'members-crl-m2' })), ['reload', 'reload']);
    const answers = await names(`http://${VIP}/`, 6);
    assert.ok(answers.includes('m1') && !answers.includes('m2'), `m2's certificate is revoked: ${answers}`);
  });

  /** A TCP listener whose pool sticks clients to a member by source address. */
  const sticky = () =>
    balancer({
      vipAddress: VIP,
      listeners: [listener({ id: 'l1', protocol: 'TCP', protocolPort: 80 })],
      pools: [pool({ id: 'p1', protocol: 'TCP', sessionPersistence: { type: 'SOURCE_IP' }, members: Object.entries(MEMBERS).map(([id, address]) => member({ id, address, protocolPort: 8080 })) })],
    });

  /** A TERMINATED_HTTPS listener asking clients for a certificate of the clients' CA, in front of m1's plain HTTP. */
  const clientAuthenticating = (listenerTls: Pick<ListenerTls, 'clientAuthentication' | 'clientCrlPath'>, insertHeaders: InsertHeader[]) =>
    balancer({
      vipAddress: VIP,
      listeners: [
        listener({
          id: 'l1',
          protocol: 'TERMINATED_HTTPS',
          protocolPort: 443,
          insertHeaders,
          tls: { defaultCertificatePath: 'vip', sniCertificatePaths: [], alpnProtocols: ['http/1.1'], tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: null, clientCaPath: 'clients-ca', ...listenerTls },
        }),
      ],
      pools: [pool({ id: 'p1', members: [member({ id: 'm1', address: MEMBERS.m1, protocolPort: 8080 })] })],
    });

  it('client authentication MANDATORY: no certificate or a revoked one is refused; a valid one passes with X-SSL headers', async () => {
    const lb = clientAuthenticating({ clientAuthentication: 'MANDATORY', clientCrlPath: 'clients-crl' }, ['X-SSL-Client-CN', 'X-SSL-Client-Verify', 'X-SSL-Client-Has-Cert', 'X-SSL-Issuer']);
    assert.deepEqual(await applyBoth(lb), ['reload', 'reload']);
    const url = `https://${VIP}/`;
    const withCert = (serial: number) => ['--cert', join(pki, `clients-ca-${serial}.pem`), '--key', join(pki, `clients-ca-${serial}.key`)];
    // Refused in the handshake (a TLS or transport error), not by an HTTP status (curl's 22).
    const handshakeRefused = /failed: .*curl: \((?!22\))\d+\)/;
    assert.match(String(await curl(url)), handshakeRefused, 'no client certificate');
    assert.match(String(await curl(url, withCert(12))), handshakeRefused, 'a revoked client certificate');
    const ok = await curl(url, withCert(11));
    assert.equal(typeof ok, 'object', String(ok));
    assert.deepEqual((ok as { headers: Record<string, string> }).headers, {
      'x-ssl-client-cn': 'alice',
      'x-ssl-client-verify': '0',
      'x-ssl-client-has-cert': '1',
      'x-ssl-issuer': '/CN=clients-ca',
    });
  });

  it('client authentication OPTIONAL: a client without a certificate is served and told so', async () => {
    const lb = clientAuthenticating({ clientAuthentication: 'OPTIONAL', clientCrlPath: null }, ['X-SSL-Client-Has-Cert']);
    assert.deepEqual(await applyBoth(lb), ['reload', 'reload']);
    const answer = await curl(`https://${VIP}/`);
    assert.deepEqual(typeof answer === 'string' ? answer : answer.headers, { 'x-ssl-client-has-cert': '0' });
  });

  it('peers: the standby learns the active\'s SOURCE_IP stick-table entry', async () => {
    assert.deepEqual(await applyBoth(sticky()), ['reload', 'reload']);
    const first = await curl(`http://${VIP}/`);
    assert.equal(typeof first, 'object', String(first));
    const stuck = (first as { name: string }).name;
    assert.deepEqual(new Set(await names(`http://${VIP}/`, 4)), new Set([stuck]), 'the client sticks to one member');
    const entry = /key=::ffff:198\.18\.0\.2 .*server_id=(\d+)/;
    const table = (amphora: string) => haproxyCommand(reconcilers[amphora]!.paths.statsSocket, 'show table p1:l1');
    const active = entry.exec(await table('a1'));
    assert.ok(active, `the active's table: ${await table('a1')}`);
    await eventually('the standby has the entry', async () => entry.exec(await table('a2'))?.[1] === active[1], 5000, 100);
    stuckTo = stuck;
  });

  it('peers: a peer replaced with the tree unchanged is a reload (the runtime API cannot change peers)', async () => {
    // By its id: `show peers` also prints pointers, in which "a2" is a hex digit pair.
    const withPeers = (peers: { name: string; address: string }[]) => ({ ...target('a1', sticky()), haproxyPeers: { localPeer: 'a1', peers, port: 1025 } });
    revision++;
    assert.equal(await reconcilers.a1!.apply(withPeers([{ name: 'a1', address: AMPHORAE.a1 }])), 'reload');
    assert.doesNotMatch(await haproxyCommand(reconcilers.a1!.paths.statsSocket, 'show peers'), /id=a2\(/);
    revision++;
    assert.equal(await reconcilers.a1!.apply(withPeers(Object.entries(AMPHORAE).map(([name, address]) => ({ name, address })))), 'reload');
    assert.match(await haproxyCommand(reconcilers.a1!.paths.statsSocket, 'show peers'), /id=a2\(/);
  });

  it('peers: after a failover the client stays on its member, from the table the standby learned', async () => {
    assert.ok(stuckTo, 'the previous test made the entry');
    execFileSync('ip', ['netns', 'del', topology.ns('a1')]);
    await eventually('a2 MASTER', async () => (await reconcilers.a2!.health()).vrrpState === 'MASTER', 10_000, 50);
    await eventually('a2 serves the VIP', async () => typeof (await curl(`http://${VIP}/`)) !== 'string', 10_000, 100);
    assert.deepEqual(new Set(await names(`http://${VIP}/`, 6)), new Set([stuckTo]));
  });
});
