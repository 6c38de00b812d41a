// kubernetes plugin options, each against its own server on the same Kubernetes API stand-in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createService, createSlice, loadClusterFixture, sliceBody, startStandIn, type StandIn } from './support/cluster-fixture.js';
import { ENDPOINT_SLICES } from '../../src/kube/apiserver/resources.js';
import { dig } from './support/dns-client.js';
import { eventually, startTestDns, type TestDns } from './support/server.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeApiServer } from '../../src/kube/apiserver/server.js';
import { kubeConfigFor } from '../../src/kube/apiserver/kubeconfig.js';
import { createLogger } from '../../src/lib/logger.js';

describe('kubernetes options', { timeout: 90_000 }, () => {
  let api: StandIn;
  const servers: TestDns[] = [];
  const start = async (options: string, extra = ''): Promise<TestDns> => {
    const s = await startTestDns(`cluster.local in-addr.arpa {\n  bind 127.0.0.1\n  kubernetes cluster.local in-addr.arpa {\n    endpoint ${api.url}\n${options}\n  }\n${extra}\n}`);
    servers.push(s);
    return s;
  };
  before(async () => {
    api = await startStandIn();
    loadClusterFixture(api);
  }, { timeout: 30_000 });
  after(async () => {
    for (const s of servers) await s.close();
    await api.close();
  }, { timeout: 30_000 });

  it('namespaces: only the listed namespaces are exposed', async () => {
    const s = await start('    namespaces other');
    assert.equal((await dig(s.port, 'web.default.svc.cluster.local')).status, 'NXDOMAIN');
    assert.deepEqual((await dig(s.port, 'api.other.svc.cluster.local')).answer, ['api.other.svc.cluster.local. 5 IN A 198.19.1.30']);
  });

  it('labels: only services (and endpoints) matching the selector', async () => {
    const s = await start('    labels app=web');
    assert.deepEqual((await dig(s.port, 'web.default.svc.cluster.local')).answer, ['web.default.svc.cluster.local. 5 IN A 198.19.1.10']);
    assert.equal((await dig(s.port, 'api.other.svc.cluster.local')).status, 'NXDOMAIN');
  });

  it('pods verified: only addresses of existing pods in that namespace', async () => {
    const s = await start('    pods verified');
    assert.deepEqual((await dig(s.port, '198-18-4-5.default.pod.cluster.local')).answer, ['198-18-4-5.default.pod.cluster.local. 5 IN A 198.18.4.5']);
    assert.equal((await dig(s.port, '198-18-4-5.other.pod.cluster.local')).status, 'NXDOMAIN');
    assert.equal((await dig(s.port, '198-18-4-6.default.pod.cluster.local')).status, 'NXDOMAIN');
  });

  it('pods disabled (the default): no pod records', async () => {
    const s = await start('');
    assert.equal((await dig(s.port, '198-18-4-5.default.pod.cluster.local')).status, 'NXDOMAIN');
  });

  it('endpoint_pod_names: endpoints without hostname are named by their pod', async () => {
    const s = await start('    endpoint_pod_names');
    assert.deepEqual((await dig(s.port, 'db-pod-1.db.default.svc.cluster.local')).answer, ['db-pod-1.db.default.svc.cluster.local. 5 IN A 198.18.2.2']);
    assert.deepEqual((await dig(s.port, '1.2.18.198.in-addr.arpa', 'PTR')).answer, ['1.2.18.198.in-addr.arpa. 5 IN PTR db-0.db.default.svc.cluster.local.']);
    assert.deepEqual((await dig(s.port, '2.2.18.198.in-addr.arpa', 'PTR')).answer, ['2.2.18.198.in-addr.arpa. 5 IN PTR db-pod-1.db.default.svc.cluster.local.']);
  });

  it('ttl: answers and the SOA carry it', async () => {
    const s = await start('    ttl 60');
    assert.deepEqual((await dig(s.port, 'web.default.svc.cluster.local')).answer, ['web.default.svc.cluster.local. 60 IN A 198.19.1.10']);
    assert.match((await dig(s.port, 'nope.default.svc.cluster.local')).authority[0], /^cluster\.local\. 60 IN SOA .* 60$/);
  });

  it('noendpoints: headless services and endpoint names have no records', async () => {
    const s = await start('    noendpoints');
    assert.equal((await dig(s.port, 'db.default.svc.cluster.local')).status, 'NXDOMAIN');
    assert.deepEqual((await dig(s.port, 'web.default.svc.cluster.local')).answer, ['web.default.svc.cluster.local. 5 IN A 198.19.1.10']);
  });

  it('ignore empty_service: a ClusterIP service without ready endpoints is NXDOMAIN', async () => {
    const s = await start('    ignore empty_service');
    assert.equal((await dig(s.port, 'empty.default.svc.cluster.local')).status, 'NXDOMAIN');
    assert.deepEqual((await dig(s.port, 'web.default.svc.cluster.local')).answer, ['web.default.svc.cluster.local. 5 IN A 198.19.1.10']);
  });

  it('fallthrough: name errors in the listed zones go to the next plugin', async () => {
    const upstream = await startTestDns('. {\n  bind 127.0.0.1\n  hosts {\n    198.18.9.9 ghost.default.svc.cluster.local\n    198.18.0.9 9.9.18.198.in-addr.arpa\n  }\n}');
    servers.push(upstream);
    const s = await start('    fallthrough cluster.local', `  forward . 127.0.0.1:${upstream.port}`);
    assert.deepEqual((await dig(s.port, 'ghost.default.svc.cluster.local')).answer, ['ghost.default.svc.cluster.local. 3600 IN A 198.18.9.9']);
    // in-addr.arpa is not listed: its name errors stay NXDOMAIN.
    assert.equal((await dig(s.port, '9.9.18.198.in-addr.arpa', 'PTR')).status, 'NXDOMAIN');
    const noFall = await start('', `  forward . 127.0.0.1:${upstream.port}`);
    assert.equal((await dig(noFall.port, 'ghost.default.svc.cluster.local')).status, 'NXDOMAIN');
  });

  it('answers SERVFAIL and reports not ready until the first sync', async () => {
    const closed = await startStandIn();
    const url = closed.url;
    await closed.close();
    const s = await startTestDns(`cluster.local {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  kubernetes {\n    endpoint ${url}\n  }\n}`);
    servers.push(s);
    assert.equal((await dig(s.port, 'web.default.svc.cluster.local')).status, 'SERVFAIL');
    const readyPort = s.server.httpPort('127.0.0.1:0');
    const res = await fetch(`http://127.0.0.1:${readyPort}/ready`);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'kubernetes');
  });

  it('reports ready once synced', async () => {
    const s = await startTestDns(`cluster.local {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  kubernetes {\n    endpoint ${api.url}\n  }\n}`);
    servers.push(s);
    const res = await fetch(`http://127.0.0.1:${s.server.httpPort('127.0.0.1:0')}/ready`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'OK');
  });

  it('lists in pages: more than one page of services all resolve', async () => {
    for (let i = 0; i < 1200; i++) {
      const ip = `198.19.${10 + Math.floor(i / 256)}.${i % 256}`;
      createService(api, 'other', `paged-${i}`, { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'p', port: 1, protocol: 'TCP' }] });
    }
    const s = await start('');
    assert.deepEqual((await dig(s.port, 'paged-1199.other.svc.cluster.local')).answer, ['paged-1199.other.svc.cluster.local. 5 IN A 198.19.14.175']);
    assert.deepEqual((await dig(s.port, 'paged-0.other.svc.cluster.local')).answer, ['paged-0.other.svc.cluster.local. 5 IN A 198.19.10.0']);
  });

  it('keeps an index of changes: endpoints becoming ready appear, not-ready ones leave', async () => {
    const s = await start('');
    createService(api, 'default', 'grow', { clusterIP: 'None', ports: [{ name: 'p', port: 1, protocol: 'TCP' }] });
    createSlice(api, 'default', 'grow', 'grow-1', 'IPv4', [{ addresses: ['198.18.7.1'], conditions: { ready: false } }], [{ name: 'p', port: 1, protocol: 'TCP' }]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await dig(s.port, 'grow.default.svc.cluster.local')).status, 'NXDOMAIN');
    api.registry.update(ENDPOINT_SLICES, 'default', 'grow-1', sliceBody('grow', 'grow-1', 'IPv4', [{ addresses: ['198.18.7.1'], conditions: { ready: true } }], [{ name: 'p', port: 1, protocol: 'TCP' }]));
    const ready = await eventually(() => dig(s.port, 'grow.default.svc.cluster.local'), (x) => x.status === 'NOERROR');
    assert.deepEqual(ready.answer, ['grow.default.svc.cluster.local. 5 IN A 198.18.7.1']);
  });
});

// TLS to the API: the stand-in serves https with a certificate from a throwaway CA.
describe('kubernetes TLS to the API', { timeout: 90_000 }, () => {
  let dir: string;
  let api: StandIn;
  const servers: TestDns[] = [];
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  // A CA, and a certificate it signs (with subjectAltName, when given).
  const ca = (name: string): void => openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', '1', '-subj', `/CN=${name}`);
  const signed = (name: string, by: string, san?: string): void => {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`);
    writeFileSync(file(`${name}.ext`), san ? `subjectAltName=${san}\n` : '\n');
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${by}.crt`), '-CAkey', file(`${by}.key`), '-CAcreateserial', '-out', file(`${name}.crt`), '-days', '1', '-extfile', file(`${name}.ext`));
  };
  const start = async (options: string): Promise<TestDns> => {
    const s = await startTestDns(`cluster.local {\n  bind 127.0.0.1\n  kubernetes cluster.local {\n${options}\n  }\n}`);
    servers.push(s);
    return s;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudnet-dns-tls-'));
    ca('ca');
    ca('other-ca');
    signed('server', 'ca', 'IP:127.0.0.1');
    signed('client', 'ca');
    api = await startKubeApiServer({ host: '127.0.0.1', port: 0, tls: { cert: readFileSync(file('server.crt'), 'utf8'), key: readFileSync(file('server.key'), 'utf8') }, logger: createLogger('kube-apiserver', 'silent') });
    loadClusterFixture(api);
  }, { timeout: 30_000 });
  after(async () => {
    for (const s of servers) await s.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it('endpoint https with tls CERT KEY CACERT', async () => {
    assert.ok(api.url.startsWith('https://'));
    const s = await start(`    endpoint ${api.url}\n    tls ${file('client.crt')} ${file('client.key')} ${file('ca.crt')}`);
    assert.deepEqual((await dig(s.port, 'web.default.svc.cluster.local')).answer, ['web.default.svc.cluster.local. 5 IN A 198.19.1.10']);
  });

  it('kubeconfig with an https server and its CA', async () => {
    writeFileSync(file('kubeconfig'), kubeConfigFor(api.url, 'tls', readFileSync(file('ca.crt'), 'utf8')));
    const s = await start(`    kubeconfig ${file('kubeconfig')}`);
    assert.deepEqual((await dig(s.port, 'web.default.svc.cluster.local')).answer, ['web.default.svc.cluster.local. 5 IN A 198.19.1.10']);
  });

  it('a server certificate from another CA is refused: never synced, SERVFAIL', async () => {
    const s = await start(`    endpoint ${api.url}\n    tls ${file('client.crt')} ${file('client.key')} ${file('other-ca.crt')}`);
    assert.equal((await dig(s.port, 'web.default.svc.cluster.local')).status, 'SERVFAIL');
  });
});
