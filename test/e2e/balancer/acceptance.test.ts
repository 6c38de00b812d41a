// Issue 4's acceptance, end to end in a lab of three hosts with the real CLI (octaviaclient, barbicanclient) as the
// demo user, from a client in the `public` namespace. One balancer on `public` carries every listener (each
// balancer costs two amphorae): TCP listeners to a PROXY and a PROXYV2 pool, an HTTP listener inserting
// X-Forwarded-For with L7 policies, and a TERMINATED_HTTPS listener with a default and an SNI certificate from the
// key manager. Then a member's server stops and starts (its health, printed time), and the balancer fails over
// through the API under a client loop (printed gap).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmRecord } from '../../../src/lab/state.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { json, openstack } from '../openstack-cli/openstackCli.js';
import { balancerLab, type AmphoraListed } from './support.js';

const fixture = balancerLab('lb-acc', 3);
const lab = () => fixture.testLab.lab;
const { cliEnv, fromPublic } = fixture;

const certDir = mkdtempSync(join(tmpdir(), 'cloudnet-lb-acc-certs-'));
after(() => rmSync(certDir, { recursive: true, force: true }));

/** An HTTP server answering `<pool> <vm> xff=<X-Forwarded-For>` on PORT. */
const HTTP_SERVER = `
require('http').createServer((q, s) => s.end(process.env.POOL + ' ' + process.env.NAME + ' xff=' + (q.headers['x-forwarded-for'] ?? '-') + '\\n'))
  .listen(Number(process.env.PORT));
`;

/**
 * A TCP server behind a PROXY or PROXYV2 pool: it reads the PROXY header (v1 text or v2 binary, TCP over IPv4),
 * waits for the HTTP request after it, and answers with the source address the header carries.
 */
const PROXY_SERVER = `
const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
require('net').createServer((c) => {
  let buffer = Buffer.alloc(0);
  let source = null;
  c.on('data', (d) => {
    buffer = Buffer.concat([buffer, d]);
    if (source === null) {
      if (buffer.length >= 16 && buffer.subarray(0, 12).equals(SIGNATURE)) {
        const length = buffer.readUInt16BE(14);
        if (buffer.length < 16 + length) return;
        source = buffer[13] === 0x11 ? 'v2 ' + [...buffer.subarray(16, 20)].join('.') : 'v2 family ' + buffer[13];
        buffer = buffer.subarray(16 + length);
      } else if (buffer.subarray(0, 6).toString() === 'PROXY ') {
        const end = buffer.indexOf('\\r\\n');
        if (end < 0) return;
        source = 'v1 ' + buffer.subarray(0, end).toString().split(' ')[2];
        buffer = buffer.subarray(end + 2);
      } else if (buffer.length >= 16) {
        c.end('HTTP/1.0 400 Bad Request\\r\\n\\r\\nno PROXY header\\n');
        return;
      } else return;
    }
    if (buffer.includes('\\r\\n\\r\\n')) c.end('HTTP/1.0 200 OK\\r\\n\\r\\nsource=' + source + '\\n');
  });
  c.on('error', () => {});
}).listen(Number(process.env.PORT));
`;

const demo = () => cliEnv('demo');
let clientAddress = '';
let balancerId = '';
let vip = '';
let webPool = '';
const members: Record<string, VmRecord> = {};
const memberIds: Record<string, string> = {};
let m2Web: ChildProcess | undefined;

/** A CLI write on the balancer's tree, then its wait for ACTIVE. */
async function write(...args: string[]): Promise<any> {
  const made = await json(demo(), ...args);
  await fixture.api('demo').waitActive(balancerId);
  return made;
}

function startHttp(vm: VmRecord, pool: string, port: number): ChildProcess {
  return fixture.startServer(vm.netns, HTTP_SERVER, { POOL: pool, NAME: vm.name, PORT: String(port) });
}

/** A self-signed certificate for `name` (EC P-256: quick to make), as PEM files `<name>.crt` and `<name>.key`. */
function makeCertificate(name: string): { cert: string; key: string } {
  const cert = join(certDir, `${name}.crt`);
  const key = join(certDir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

async function curl(...args: string[]): Promise<string> {
  return fromPublic(['curl', '-s', '--max-time', '3', ...args]);
}

/** The subject of the certificate the TLS listener serves for `serverName`. */
async function servedSubject(serverName: string): Promise<string> {
  const out = await fromPublic(['openssl', 's_client', '-connect', `${vip}:443`, '-servername', serverName]);
  const subject = /^subject=(.*)$/m.exec(out);
  assert.ok(subject, `no certificate subject in: ${out}`);
  return subject[1].trim();
}

async function memberStatus(name: string): Promise<string> {
  return (await fixture.api('demo').request('GET', `pools/${webPool}/members/${memberIds[name]}`, 200)).member.operating_status;
}

// A test, not a `before` hook: node 20 runs a file's root-level hooks concurrently, and the lab's must come first.
test('one balancer with every listener, pool, member, monitor and L7 policy is built through the CLI', async () => {
  clientAddress = lab().state().public!.address.split('/')[0];
  const demoProject = lab().state().networks['demo-net'].projectId;
  const demoSubnet = lab().state().networks['demo-net'].subnets.find((s) => s.cidr === '198.18.1.0/24')!;
  const group = await lab().cloud().createSecurityGroup({ name: 'members', project_id: demoProject });
  await lab().cloud().createSecurityGroupRule({ security_group_id: group.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 80, port_range_max: 9000, remote_ip_prefix: demoSubnet.cidr });
  for (const [name, host] of [['m1', 'host1'], ['m2', 'host2']]) members[name] = await lab().createVm({ name, network: 'demo-net', host, securityGroups: ['default', 'members'] });
  const { m1, m2 } = members;
  startHttp(m1, 'web', 80);
  m2Web = startHttp(m2, 'web', 80);
  startHttp(m1, 'host', 8081);
  startHttp(m1, 'path', 8082);
  fixture.startServer(m1.netns, PROXY_SERVER, { PORT: '9000' });
  const address = (vm: VmRecord) => vm.addresses[0].split('/')[0];

  // The certificates: the default one as a PKCS#12 secret (Octavia's cookbook), the SNI one as a certificate container.
  const www = makeCertificate('www.example.test');
  const api = makeCertificate('api.example.test');
  writeFileSync(join(certDir, 'ca.pem'), readFileSync(www.cert, 'utf8') + readFileSync(api.cert, 'utf8'));
  const p12 = execFileSync('openssl', ['pkcs12', '-export', '-inkey', www.key, '-in', www.cert, '-passout', 'pass:']);
  const wwwRef = (await json(demo(), 'secret', 'store', '--name', 'www-tls', '--payload-content-type', 'application/octet-stream',
    '--payload-content-encoding', 'base64', '--payload', p12.toString('base64')))['Secret href'];
  const apiCert = (await json(demo(), 'secret', 'store', '--name', 'api-cert', '--secret-type', 'certificate', '--file', api.cert))['Secret href'];
  const apiKey = (await json(demo(), 'secret', 'store', '--name', 'api-key', '--secret-type', 'private', '--file', api.key))['Secret href'];
  const apiRef = (await json(demo(), 'secret', 'container', 'create', '--name', 'api-tls', '--type', 'certificate',
    '--secret', `certificate=${apiCert}`, '--secret', `private_key=${apiKey}`))['Container href'];

  const started = performance.now();
  balancerId = (await json(demo(), 'loadbalancer', 'create', '--name', 'acceptance', '--vip-network-id', lab().state().networks.public.id)).id;
  await fixture.api('demo').waitActive(balancerId);
  process.stdout.write(`# loadbalancer create -> ACTIVE: ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
  vip = (await json(demo(), 'loadbalancer', 'show', balancerId)).vip_address;

  const listener = async (name: string, protocol: string, port: number, ...extra: string[]) =>
    (await write('loadbalancer', 'listener', 'create', balancerId, '--name', name, '--protocol', protocol, '--protocol-port', String(port), ...extra)).id;
  const pool = async (name: string, protocol: string, ...attach: string[]) =>
    (await write('loadbalancer', 'pool', 'create', '--name', name, '--protocol', protocol, '--lb-algorithm', 'ROUND_ROBIN', ...attach)).id;
  const member = async (poolId: string, vm: VmRecord, port: number) =>
    (await write('loadbalancer', 'member', 'create', '--name', `${vm.name}-${port}`, '--subnet-id', demoSubnet.id, '--address', address(vm), '--protocol-port', String(port), poolId)).id;

  const proxyV1 = await listener('proxy-v1', 'TCP', 7001);
  await member(await pool('proxy-v1', 'PROXY', '--listener', proxyV1), m1, 9000);
  const proxyV2 = await listener('proxy-v2', 'TCP', 7002);
  await member(await pool('proxy-v2', 'PROXYV2', '--listener', proxyV2), m1, 9000);

  const http = await listener('http', 'HTTP', 80, '--insert-headers', 'X-Forwarded-For=true');
  webPool = await pool('web', 'HTTP', '--listener', http);
  memberIds.m1 = await member(webPool, m1, 80);
  memberIds.m2 = await member(webPool, m2, 80);
  await write('loadbalancer', 'healthmonitor', 'create', '--name', 'web', '--type', 'HTTP', '--url-path', '/', '--delay', '1', '--timeout', '1',
    '--max-retries', '1', '--max-retries-down', '2', webPool);
  const hostPool = await pool('host', 'HTTP', '--loadbalancer', balancerId);
  await member(hostPool, m1, 8081);
  const pathPool = await pool('path', 'HTTP', '--loadbalancer', balancerId);
  await member(pathPool, m1, 8082);
  const policy = async (rule: string[], ...action: string[]) => {
    const id = (await write('loadbalancer', 'l7policy', 'create', ...action, http)).id;
    await write('loadbalancer', 'l7rule', 'create', ...rule, id);
  };
  await policy(['--type', 'HOST_NAME', '--compare-type', 'EQUAL_TO', '--value', 'host.example.test'], '--action', 'REDIRECT_TO_POOL', '--redirect-pool', hostPool);
  await policy(['--type', 'PATH', '--compare-type', 'STARTS_WITH', '--value', '/api'], '--action', 'REDIRECT_TO_POOL', '--redirect-pool', pathPool);
  await policy(['--type', 'PATH', '--compare-type', 'STARTS_WITH', '--value', '/forbidden'], '--action', 'REJECT');
  await policy(['--type', 'PATH', '--compare-type', 'STARTS_WITH', '--value', '/old'], '--action', 'REDIRECT_TO_URL', '--redirect-url', 'http://new.example.test/');

  const tls = await listener('https', 'TERMINATED_HTTPS', 443, '--default-tls-container-ref', wwwRef, '--sni-container-refs', apiRef);
  await member(await pool('tls', 'HTTP', '--listener', tls), m2, 80);
  process.stdout.write(`# the whole tree built: ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
});

test('PROXY and PROXYV2 pools carry the client address to the member', async () => {
  assert.equal((await curl(`http://${vip}:7001/`)).trim(), `source=v1 ${clientAddress}`);
  assert.equal((await curl(`http://${vip}:7002/`)).trim(), `source=v2 ${clientAddress}`);
});

test('the HTTP listener inserts X-Forwarded-For with the client address', async () => {
  const seen = new Set<string>();
  assert.ok(
    await waitUntil(async () => {
      seen.add((await curl(`http://${vip}/`)).trim());
      return seen.has(`web m1 xff=${clientAddress}`) && seen.has(`web m2 xff=${clientAddress}`);
    }, 10_000, 50),
    `answers: ${[...seen].join(' | ')}`,
  );
});

test('L7: HOST_NAME and PATH rules route to their pools, REJECT is a 403, REDIRECT_TO_URL a Location', async () => {
  assert.equal((await curl('-H', 'Host: host.example.test', `http://${vip}/`)).trim(), `host m1 xff=${clientAddress}`);
  assert.equal((await curl(`http://${vip}/api/v1`)).trim(), `path m1 xff=${clientAddress}`);
  assert.match((await curl('-H', 'Host: other.example.test', `http://${vip}/`)).trim(), /^web m[12] /);
  assert.equal(await curl('-o', '/dev/null', '-w', '%{http_code}', `http://${vip}/forbidden/x`), '403');
  const redirect = await curl('-o', '/dev/null', '-D', '-', `http://${vip}/old/page`);
  assert.match(redirect, /^HTTP\/1\.1 302/);
  assert.match(redirect, /^location: http:\/\/new\.example\.test\/\r?$/im);
});

test('TERMINATED_HTTPS: HTTP/2 and HTTP/1.1 by ALPN, the SNI certificate by name, the default one otherwise', async () => {
  const https = (name: string, version: string) =>
    curl(version, '--resolve', `${name}:443:${vip}`, '--cacert', join(certDir, 'ca.pem'), '-w', '%{http_version}', `https://${name}/`);
  assert.equal(await https('www.example.test', '--http2'), `web m2 xff=-\n2`);
  assert.equal(await https('www.example.test', '--http1.1'), `web m2 xff=-\n1.1`);
  assert.equal(await https('api.example.test', '--http2'), `web m2 xff=-\n2`);
  assert.match(await servedSubject('api.example.test'), /CN ?= ?api\.example\.test/);
  assert.match(await servedSubject('www.example.test'), /CN ?= ?www\.example\.test/);
  assert.match(await servedSubject('unknown.example.test'), /CN ?= ?www\.example\.test/);
});

test("a member's server stops: the member ERROR and its pool DEGRADED; started again: ONLINE", async () => {
  const waitStatus = async (name: string, status: string) => {
    let last = '';
    const started = performance.now();
    assert.ok(await waitUntil(async () => (last = await memberStatus(name)) === status, 30_000, 100), `${name} ${last}, not ${status}`);
    return (performance.now() - started) / 1000;
  };
  await waitStatus('m2', 'ONLINE');
  process.kill(m2Web!.pid!, 'SIGKILL');
  const down = await waitStatus('m2', 'ERROR');
  process.stdout.write(`# member server stopped -> member ERROR: ${down.toFixed(2)} s (checks every 1 s, fall 2, heartbeat 1 s)\n`);
  assert.equal((await json(demo(), 'loadbalancer', 'member', 'show', webPool, memberIds.m2)).operating_status, 'ERROR');
  assert.equal((await json(demo(), 'loadbalancer', 'pool', 'show', webPool)).operating_status, 'DEGRADED');
  assert.equal((await json(demo(), 'loadbalancer', 'member', 'show', webPool, memberIds.m1)).operating_status, 'ONLINE');

  m2Web = startHttp(members.m2, 'web', 80);
  const up = await waitStatus('m2', 'ONLINE');
  process.stdout.write(`# member server started -> member ONLINE: ${up.toFixed(2)} s\n`);
  assert.equal((await json(demo(), 'loadbalancer', 'member', 'show', webPool, memberIds.m2)).operating_status, 'ONLINE');
  assert.ok(
    await waitUntil(async () => (await fixture.api('demo').request('GET', `pools/${webPool}`, 200)).pool.operating_status === 'ONLINE', 10_000, 100),
    'the pool ONLINE again',
  );
});

/**
 * Runs a failover command as the admin under a client loop on the HTTP listener until the amphorae in `replaced`
 * are gone, two ALLOCATED ones are listed and the balancer is ACTIVE and ONLINE; prints the time and the longest gap.
 */
async function failoverUnderLoop(label: string, replaced: Set<string>, ...command: string[]): Promise<AmphoraListed[]> {
  const adminApi = fixture.api('admin');
  const loop = fixture.clientLoop(vip, 80, 'web', 120_000);
  await new Promise((r) => setTimeout(r, 1000));
  const started = performance.now();
  const failover = await openstack(cliEnv('admin'), ...command);
  assert.equal(failover.code, 0, failover.stderr);
  let last: unknown;
  const done = await waitUntil(async () => {
    const now = await adminApi.amphorae(balancerId);
    const balancer = await adminApi.balancer(balancerId);
    last = { amphorae: now, balancer: [balancer.provisioning_status, balancer.operating_status] };
    return now.length === 2 && now.every((a) => a.status === 'ALLOCATED' && !replaced.has(a.id))
      && balancer.provisioning_status === 'ACTIVE' && balancer.operating_status === 'ONLINE';
  }, 100_000, 100);
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  loop.stop();
  const result = await loop.result;
  process.stdout.write(`# ${label}: ${seconds.toFixed(1)} s to ACTIVE and ONLINE with two amphorae; longest gap under a 20 ms loop ${result.longestGapMs} ms (${result.successes} answered, ${result.failures} failed)\n`);
  assert.ok(done, `not replaced: ${JSON.stringify(last)}`);
  assert.ok(result.successes > 0);

  const listed = await fixture.amphorae(balancerId);
  assert.deepEqual(listed.map((a) => a.role).sort(), ['BACKUP', 'MASTER']);
  assert.ok(listed.every((a) => a.status === 'ALLOCATED' && !replaced.has(a.id)), JSON.stringify(listed));
  const shown = await json(cliEnv('demo'), 'loadbalancer', 'show', balancerId);
  assert.deepEqual([shown.provisioning_status, shown.operating_status], ['ACTIVE', 'ONLINE']);
  assert.match((await curl(`http://${vip}/`)).trim(), /^web m[12] /);
  return listed;
}

test('failover through the API: the balancer\'s replaces both amphorae, an amphora\'s only that one', async () => {
  const before = await fixture.amphorae(balancerId);
  assert.equal(before.length, 2);
  const pair = await failoverUnderLoop('loadbalancer failover', new Set(before.map((a) => a.id)), 'loadbalancer', 'failover', balancerId);
  const master = pair.find((a) => a.role === 'MASTER')!;
  const kept = pair.find((a) => a.role === 'BACKUP')!;
  const last = await failoverUnderLoop('amphora failover (MASTER)', new Set([master.id]), 'loadbalancer', 'amphora', 'failover', master.id);
  assert.ok(last.some((a) => a.id === kept.id), 'the other amphora stays');
});
