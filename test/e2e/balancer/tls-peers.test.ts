// Re-encryption, client certificate authentication and HAProxy peers end to end in the lab, with the real CLI as
// the demo user: the CAs, the CRL and the pool's client certificate go into the key manager as Octavia has them
// (PEM secrets, a PKCS#12 secret); TLS members on demo-net answer only the amphorae's client certificate; a
// MANDATORY listener lets only a client with a valid certificate in; and the standby amphora, on another host,
// learns the active's SOURCE_IP stick-table entry through the balancer's security group.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyCommand } from '../../../src/agents/amphora/runtime-socket.js';
import { statePaths } from '../../../src/agents/amphora/reconciler.js';
import type { VmRecord } from '../../../src/lab/state.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { testCa } from '../../support/pki.js';
import { json } from '../openstack-cli/openstackCli.js';
import { balancerLab, vipHolder } from './support.js';

const fixture = balancerLab('lb-tls', 2);
const lab = () => fixture.testLab.lab;
const demo = () => fixture.cliEnv('demo');

const pki = mkdtempSync(join(tmpdir(), 'cloudnet-lb-tls-pki-'));
after(() => rmSync(pki, { recursive: true, force: true }));

/** Plain HTTP on 80 (echoing the X-SSL headers) and TLS on 443 asking for a client certificate of CLIENT_CA. */
const MEMBER = `
const fs = require('fs');
const answer = (res, body) => res.end(JSON.stringify({ name: process.env.NAME, ...body }) + '\\n');
require('http').createServer((q, s) => answer(s, { headers: Object.fromEntries(Object.entries(q.headers).filter(([h]) => h.startsWith('x-ssl'))) })).listen(80);
require('https').createServer({ cert: fs.readFileSync(process.env.CERT), key: fs.readFileSync(process.env.KEY), ca: fs.readFileSync(process.env.CLIENT_CA), requestCert: true, rejectUnauthorized: true },
  (q, s) => answer(s, { client: q.socket.getPeerCertificate().subject.CN })).listen(443);
`;

let balancerId = '';
let vip = '';
const members: Record<string, VmRecord> = {};

async function write(...args: string[]): Promise<any> {
  const made = await json(demo(), ...args);
  await fixture.api('demo').waitActive(balancerId);
  return made;
}

async function secret(name: string, ...payload: string[]): Promise<string> {
  return (await json(demo(), 'secret', 'store', '--name', name, ...payload))['Secret href'];
}

const curl = async (...args: string[]) => {
  try {
    return { ok: true, out: await fixture.fromPublic(['curl', '-sS', '-k', '--fail', '--max-time', '3', ...args]) };
  } catch (err) {
    return { ok: false, out: (err as Error).message };
  }
};

test('a balancer with a re-encrypting pool and a MANDATORY client-certificate listener is built through the CLI', async () => {
  const membersCa = testCa(pki, 'members-ca');
  const amphoraCa = testCa(pki, 'amphora-ca');
  const clientsCa = testCa(pki, 'clients-ca');
  const poolClient = amphoraCa.issue('amphora', 1);
  const vipCert = clientsCa.issue('vip.example.test', 2);
  clientsCa.issue('alice', 11);
  clientsCa.issue('mallory', 12);
  const clientsCrl = join(pki, 'clients.crl');
  writeFileSync(clientsCrl, clientsCa.crl([12]));

  const demoNet = lab().state().networks['demo-net'];
  const subnet = demoNet.subnets.find((s) => s.cidr === '198.18.1.0/24')!;
  const group = await lab().cloud().createSecurityGroup({ name: 'tls-members', project_id: demoNet.projectId });
  for (const port of [80, 443]) {
    await lab().cloud().createSecurityGroupRule({ security_group_id: group.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: port, port_range_max: port, remote_ip_prefix: subnet.cidr });
  }
  let serial = 100;
  for (const [name, host] of [['m1', 'host1'], ['m2', 'host2']] as const) {
    members[name] = await lab().createVm({ name, network: 'demo-net', host, securityGroups: ['default', 'tls-members'] });
    const cert = membersCa.issue(name, ++serial);
    fixture.startServer(members[name]!.netns, MEMBER, { NAME: name, CERT: cert.certificateFile, KEY: cert.keyFile, CLIENT_CA: amphoraCa.certificateFile });
  }

  const p12 = (bundle: { certificateFile: string; keyFile: string }) =>
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', bundle.keyFile, '-in', bundle.certificateFile, '-passout', 'pass:']).toString('base64');
  const binary = ['--payload-content-type', 'application/octet-stream', '--payload-content-encoding', 'base64', '--payload'];
  const poolClientRef = await secret('pool-client', ...binary, p12(poolClient));
  const membersCaRef = await secret('members-ca', '--secret-type', 'certificate', '--file', membersCa.certificateFile);
  const vipRef = await secret('vip', ...binary, p12(vipCert));
  const clientsCaRef = await secret('clients-ca', '--secret-type', 'certificate', '--file', clientsCa.certificateFile);
  const clientsCrlRef = await secret('clients-crl', '--file', clientsCrl);

  balancerId = (await json(demo(), 'loadbalancer', 'create', '--name', 'tls', '--vip-network-id', lab().state().networks.public.id)).id;
  await fixture.api('demo').waitActive(balancerId);
  vip = (await json(demo(), 'loadbalancer', 'show', balancerId)).vip_address;
  const member = async (pool: string, vm: VmRecord, port: number) =>
    write('loadbalancer', 'member', 'create', '--subnet-id', subnet.id, '--address', vm.addresses[0]!.split('/')[0]!, '--protocol-port', String(port), pool);

  const http = (await write('loadbalancer', 'listener', 'create', balancerId, '--name', 'http', '--protocol', 'HTTP', '--protocol-port', '80')).id;
  const reencrypt = (await write('loadbalancer', 'pool', 'create', '--name', 'reencrypt', '--protocol', 'HTTP', '--lb-algorithm', 'ROUND_ROBIN', '--listener', http,
    '--enable-tls', '--tls-container-ref', poolClientRef, '--ca-tls-container-ref', membersCaRef)).id;
  for (const vm of Object.values(members)) await member(reencrypt, vm, 443);

  const https = (await write('loadbalancer', 'listener', 'create', balancerId, '--name', 'mtls', '--protocol', 'TERMINATED_HTTPS', '--protocol-port', '443',
    '--default-tls-container-ref', vipRef, '--client-ca-tls-container-ref', clientsCaRef, '--client-authentication', 'MANDATORY',
    '--client-crl-container-ref', clientsCrlRef, '--insert-headers', 'X-SSL-Client-CN=true,X-SSL-Client-Verify=true')).id;
  const plain = (await write('loadbalancer', 'pool', 'create', '--name', 'plain', '--protocol', 'HTTP', '--lb-algorithm', 'ROUND_ROBIN', '--listener', https)).id;
  await member(plain, members.m1!, 80);

  const tcp = (await write('loadbalancer', 'listener', 'create', balancerId, '--name', 'sticky', '--protocol', 'TCP', '--protocol-port', '8000')).id;
  const sticky = (await write('loadbalancer', 'pool', 'create', '--name', 'sticky', '--protocol', 'TCP', '--lb-algorithm', 'ROUND_ROBIN', '--listener', tcp,
    '--session-persistence', 'type=SOURCE_IP')).id;
  for (const vm of Object.values(members)) await member(sticky, vm, 80);
});

test('re-encryption: both TLS members answer, each having seen the amphorae\'s client certificate', async () => {
  const seen = new Set<string>();
  assert.ok(
    await waitUntil(async () => {
      const r = await curl(`http://${vip}/`);
      if (r.ok) {
        const body = JSON.parse(r.out);
        seen.add(`${body.name} saw ${body.client}`);
      }
      return seen.size === 2;
    }, 20_000, 100),
    `answers: ${[...seen].join(' | ')}`,
  );
  assert.deepEqual(seen, new Set(['m1 saw amphora', 'm2 saw amphora']));
});

test('client authentication: no certificate and a revoked one are refused, a valid one passes with its X-SSL headers', async () => {
  const cert = (serial: number) => ['--cert', join(pki, `clients-ca-${serial}.pem`), '--key', join(pki, `clients-ca-${serial}.key`)];
  const url = `https://${vip}/`;
  const refused = await curl(url);
  assert.equal(refused.ok, false);
  assert.doesNotMatch(refused.out, /curl: \(22\)/, 'refused in the handshake, not by an HTTP status');
  assert.equal((await curl(...cert(12), url)).ok, false, 'a revoked certificate');
  const ok = await curl(...cert(11), url);
  assert.ok(ok.ok, ok.out);
  assert.deepEqual(JSON.parse(ok.out), { name: 'm1', headers: { 'x-ssl-client-cn': 'alice', 'x-ssl-client-verify': '0' } });
});

test('peers: the standby amphora holds the stick-table entry the active learned from the client', async () => {
  const first = await curl(`http://${vip}:8000/`);
  assert.ok(first.ok, first.out);
  const amphorae = await fixture.amphorae(balancerId);
  const active = (await vipHolder(lab(), amphorae, vip)).amphora;
  const standby = amphorae.find((a) => a.id !== active.id)!;
  const record = (id: string) => lab().state().amphorae[amphorae.find((a) => a.id === id)!.compute_id]!;
  const publicAddress = lab().state().public!.address.split('/')[0]!;
  const table = async (id: string) => {
    const out = await haproxyCommand(statePaths(record(id).stateDir).statsSocket, 'show table');
    const name = /# table: (\S+), type: ipv6/.exec(out)?.[1];
    return name ? haproxyCommand(statePaths(record(id).stateDir).statsSocket, `show table ${name}`) : '';
  };
  const entry = new RegExp(`key=::ffff:${publicAddress.replace(/\./g, '\\.')} .*server_id=(\\d+)`);
  const learned = entry.exec(await table(active.id));
  assert.ok(learned, `the active's table: ${await table(active.id)}`);
  let last = '';
  assert.ok(await waitUntil(async () => entry.exec((last = await table(standby.id)))?.[1] === learned[1], 10_000, 100), `the standby's table: ${last}`);
});
