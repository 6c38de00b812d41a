// The kubernetes plugin end to end: informers against the project's Kubernetes API stand-in,
// queries with dig and dns-packet.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createService, deleteService, loadClusterFixture, sliceBody, startStandIn, type StandIn } from './support/cluster-fixture.js';
import { dig, query } from './support/dns-client.js';
import { DnsNetns, NETNS_V4, NETNS_V6 } from './support/dns-netns.js';
import { eventually, startTestDns, type TestDns } from './support/server.js';

const data = (p: Awaited<ReturnType<typeof query>>, section: 'answers' | 'authorities' | 'additionals' = 'answers'): string[] =>
  (p[section] ?? []).filter((r) => r.type !== 'OPT').map((r) => `${r.name} ${r.type} ${JSON.stringify((r as { data: unknown }).data)}`).sort();

// The stand-in with the shared fixture and a DNS server on it, for one describe block.
function clusterDns(corefile: (apiUrl: string) => string): { api: StandIn; dns: TestDns } {
  const c = {} as { api: StandIn; dns: TestDns };
  before(async () => {
    c.api = await startStandIn();
    loadClusterFixture(c.api);
    c.dns = await startTestDns(corefile(c.api.url));
  }, { timeout: 30_000 });
  after(async () => {
    await c.dns.close();
    await c.api.close();
  }, { timeout: 30_000 });
  return c;
}

describe('kubernetes plugin (spec 1.1.0)', { timeout: 90_000 }, () => {
  const c = clusterDns((apiUrl) => `
cluster.local in-addr.arpa ip6.arpa {
  bind 127.0.0.1
  errors
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    endpoint ${apiUrl}
    pods insecure
  }
}`);

  it('answers A and AAAA of a dual-stack ClusterIP service, authoritative, TTL 5', async () => {
    const a = await dig(c.dns.port, 'web.default.svc.cluster.local', 'A');
    assert.equal(a.status, 'NOERROR');
    assert.ok(a.flags.includes('aa'));
    assert.deepEqual(a.answer, ['web.default.svc.cluster.local. 5 IN A 198.19.1.10']);
    const aaaa = await dig(c.dns.port, 'web.default.svc.cluster.local', 'AAAA');
    assert.deepEqual(aaaa.answer, ['web.default.svc.cluster.local. 5 IN AAAA fd00:10:96::a']);
  });

  it('answers SRV for a named port of a ClusterIP service with the address in additional', async () => {
    const r = await dig(c.dns.port, '_http._tcp.web.default.svc.cluster.local', 'SRV');
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(r.answer, ['_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 50 80 web.default.svc.cluster.local.']);
    assert.ok(r.additional.includes('web.default.svc.cluster.local. 5 IN A 198.19.1.10'));
    assert.ok(r.additional.includes('web.default.svc.cluster.local. 5 IN AAAA fd00:10:96::a'));
    const udp = await dig(c.dns.port, '_dns._udp.web.default.svc.cluster.local', 'SRV');
    assert.deepEqual(udp.answer, ['_dns._udp.web.default.svc.cluster.local. 5 IN SRV 0 50 53 web.default.svc.cluster.local.']);
    const wrongProto = await dig(c.dns.port, '_http._udp.web.default.svc.cluster.local', 'SRV');
    assert.equal(wrongProto.status, 'NXDOMAIN');
  });

  it('answers a headless service with one record per ready endpoint', async () => {
    const r = await query(c.dns.port, 'db.default.svc.cluster.local', 'A');
    assert.equal(r.rcode, 'NOERROR');
    assert.deepEqual(data(r), ['db.default.svc.cluster.local A "198.18.2.1"', 'db.default.svc.cluster.local A "198.18.2.2"']);
    const v6 = await query(c.dns.port, 'db.default.svc.cluster.local', 'AAAA');
    assert.deepEqual(data(v6), ['db.default.svc.cluster.local AAAA "fd00::1:1"']);
  });

  it('answers <hostname>.<service> of headless endpoints, by hostname or dashed address', async () => {
    assert.deepEqual(data(await query(c.dns.port, 'db-0.db.default.svc.cluster.local', 'A')), ['db-0.db.default.svc.cluster.local A "198.18.2.1"']);
    assert.deepEqual(data(await query(c.dns.port, 'db-0.db.default.svc.cluster.local', 'AAAA')), ['db-0.db.default.svc.cluster.local AAAA "fd00::1:1"']);
    assert.deepEqual(data(await query(c.dns.port, '198-18-2-2.db.default.svc.cluster.local', 'A')), ['198-18-2-2.db.default.svc.cluster.local A "198.18.2.2"']);
    assert.equal((await query(c.dns.port, '198-18-2-3.db.default.svc.cluster.local', 'A')).rcode, 'NXDOMAIN');
  });

  it('answers SRV of a headless service: one per endpoint and port, targets in additional', async () => {
    const r = await query(c.dns.port, '_pg._tcp.db.default.svc.cluster.local', 'SRV');
    const targets = (r.answers ?? []).map((a) => (a as { data: { target: string; port: number } }).data).map((d) => `${d.target}:${d.port}`).sort();
    assert.deepEqual(targets, ['198-18-2-2.db.default.svc.cluster.local:5432', 'db-0.db.default.svc.cluster.local:5432']);
    assert.ok(data(r, 'additionals').includes('db-0.db.default.svc.cluster.local A "198.18.2.1"'));
    assert.ok(data(r, 'additionals').includes('db-0.db.default.svc.cluster.local AAAA "fd00::1:1"'));
  });

  it('answers PTR for service and endpoint addresses, IPv4 and IPv6', async () => {
    assert.deepEqual((await dig(c.dns.port, '10.1.19.198.in-addr.arpa', 'PTR')).answer, ['10.1.19.198.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local.']);
    assert.deepEqual((await dig(c.dns.port, '1.2.18.198.in-addr.arpa', 'PTR')).answer, ['1.2.18.198.in-addr.arpa. 5 IN PTR db-0.db.default.svc.cluster.local.']);
    const v6 = await dig(c.dns.port, '-x', 'fd00:10:96::a');
    assert.equal(v6.answer.length, 1);
    assert.match(v6.answer[0], /IN PTR web\.default\.svc\.cluster\.local\.$/);
    const ep6 = await dig(c.dns.port, '-x', 'fd00::1:1');
    assert.match(ep6.answer[0], /IN PTR db-0\.db\.default\.svc\.cluster\.local\.$/);
    assert.equal((await dig(c.dns.port, '99.99.18.198.in-addr.arpa', 'PTR')).status, 'NXDOMAIN');
  });

  it('answers an ExternalName service with a CNAME, chasing targets inside the cluster zone', async () => {
    const r = await dig(c.dns.port, 'ext.default.svc.cluster.local', 'A');
    assert.deepEqual(r.answer, ['ext.default.svc.cluster.local. 5 IN CNAME web.default.svc.cluster.local.', 'web.default.svc.cluster.local. 5 IN A 198.19.1.10']);
    const outside = await dig(c.dns.port, 'outside.default.svc.cluster.local', 'CNAME');
    assert.deepEqual(outside.answer, ['outside.default.svc.cluster.local. 5 IN CNAME www.example.org.']);
  });

  it('answers dns-version TXT with the schema version', async () => {
    assert.deepEqual((await dig(c.dns.port, 'dns-version.cluster.local', 'TXT')).answer, ['dns-version.cluster.local. 28800 IN TXT "1.1.0"']);
  });

  it('answers NXDOMAIN and NODATA as CoreDNS does, with the SOA in authority', async () => {
    const nx = await dig(c.dns.port, 'nosuch.default.svc.cluster.local', 'A');
    assert.equal(nx.status, 'NXDOMAIN');
    assert.equal(nx.authority.length, 1);
    assert.match(nx.authority[0], /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/);
    const nodata = await dig(c.dns.port, 'db-0.db.default.svc.cluster.local', 'MX');
    assert.equal(nodata.status, 'NOERROR');
    assert.deepEqual(nodata.answer, []);
    assert.match(nodata.authority[0], /IN SOA ns\.dns\.cluster\.local\./);
    // A namespace that exists is an empty non-terminal; one that does not is a name error.
    assert.equal((await dig(c.dns.port, 'default.svc.cluster.local', 'A')).status, 'NOERROR');
    assert.equal((await dig(c.dns.port, 'nons.svc.cluster.local', 'A')).status, 'NXDOMAIN');
    assert.equal((await dig(c.dns.port, 'svc.cluster.local', 'A')).status, 'NOERROR');
    assert.equal((await dig(c.dns.port, 'a.b.c.d.default.svc.cluster.local', 'A')).status, 'NXDOMAIN');
    assert.equal((await dig(c.dns.port, 'web.default.nope.cluster.local', 'A')).status, 'NXDOMAIN');
  });

  it('answers SOA at the zone apex; NS and ns.dns are NODATA on loopback alone', async () => {
    const soa = await dig(c.dns.port, 'cluster.local', 'SOA');
    assert.match(soa.answer[0], /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
    // As CoreDNS: its name servers are its own non-loopback addresses, and this one has none.
    for (const [name, type] of [['cluster.local', 'NS'], ['ns.dns.cluster.local', 'A']]) {
      const r = await dig(c.dns.port, name, type);
      assert.equal(r.status, 'NOERROR');
      assert.deepEqual(r.answer, []);
      assert.match(r.authority[0], /SOA ns\.dns\.cluster\.local\./);
    }
  });

  it('answers pod A records with pods insecure', async () => {
    assert.deepEqual((await dig(c.dns.port, '198-18-4-99.default.pod.cluster.local', 'A')).answer, ['198-18-4-99.default.pod.cluster.local. 5 IN A 198.18.4.99']);
    assert.equal((await dig(c.dns.port, 'not-an-ip.default.pod.cluster.local', 'A')).status, 'NXDOMAIN');
  });

  it('preserves the case of the question in the answer', async () => {
    const r = await dig(c.dns.port, 'WeB.DeFault.SVC.cluster.LOCAL', 'A');
    assert.deepEqual(r.answer, ['WeB.DeFault.SVC.cluster.LOCAL. 5 IN A 198.19.1.10']);
  });

  it('follows watch events: a new service resolves, a deleted one stops', async () => {
    createService(c.api, 'default', 'late', { clusterIP: '198.19.1.77', clusterIPs: ['198.19.1.77'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    const r = await eventually(() => dig(c.dns.port, 'late.default.svc.cluster.local'), (x) => x.status === 'NOERROR');
    assert.deepEqual(r.answer, ['late.default.svc.cluster.local. 5 IN A 198.19.1.77']);
    deleteService(c.api, 'default', 'late');
    const gone = await eventually(() => dig(c.dns.port, 'late.default.svc.cluster.local'), (x) => x.status === 'NXDOMAIN');
    assert.equal(gone.status, 'NXDOMAIN');
  });

  // Issue 5's acceptance: a Service created through the stand-in's API, as kubectl create -f
  // does it, with the address allocated by the stand-in, becomes resolvable (A, AAAA, SRV, PTR).
  it('resolves a service created through the stand-in API, with the addresses it allocated', async () => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'created', labels: { app: 'created' } }, spec: { ipFamilyPolicy: 'PreferDualStack', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] } };
    const res = await fetch(`${c.api.url}/api/v1/namespaces/default/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(service) });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { spec: { clusterIPs: string[] } };
    const [v4, v6] = created.spec.clusterIPs;
    assert.ok(v4.startsWith('198.19.'), v4);
    assert.ok(v6.startsWith('fd00:10:96::'), v6);
    const a = await eventually(() => dig(c.dns.port, 'created.default.svc.cluster.local', 'A'), (x) => x.status === 'NOERROR');
    assert.deepEqual(a.answer, [`created.default.svc.cluster.local. 5 IN A ${v4}`]);
    assert.deepEqual((await dig(c.dns.port, 'created.default.svc.cluster.local', 'AAAA')).answer, [`created.default.svc.cluster.local. 5 IN AAAA ${v6}`]);
    // Weight 50: CoreDNS splits 100 over the service's two addresses.
    assert.deepEqual((await dig(c.dns.port, '_http._tcp.created.default.svc.cluster.local', 'SRV')).answer, ['_http._tcp.created.default.svc.cluster.local. 5 IN SRV 0 50 8080 created.default.svc.cluster.local.']);
    assert.deepEqual((await dig(c.dns.port, '-x', v4)).answer, [`${v4.split('.').reverse().join('.')}.in-addr.arpa. 5 IN PTR created.default.svc.cluster.local.`]);
    const del = await fetch(`${c.api.url}/api/v1/namespaces/default/services/created`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await eventually(() => dig(c.dns.port, 'created.default.svc.cluster.local', 'A'), (x) => x.status === 'NXDOMAIN')).status, 'NXDOMAIN');
  });
});

// ns.dns and the apex NS need the server's own addresses, so this server binds every interface; it does so in a
// namespace of the test's own, whose only addresses besides 127.0.0.1 and ::1 are two test addresses on its lo.
describe('kubernetes plugin name servers (ns.dns)', { timeout: 90_000, skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, () => {
  const netns = new DnsNetns();
  before(() => netns.start((apiUrl) => `cluster.local {
  kubernetes cluster.local {
    endpoint ${apiUrl}
  }
}`), { timeout: 30_000 });
  after(() => netns.close(), { timeout: 30_000 });

  it('answers with its own addresses, then with the Service in front of it once one selects it', async () => {
    assert.deepEqual((await netns.dig('ns.dns.cluster.local', 'A')).answer, [`ns.dns.cluster.local. 5 IN A ${NETNS_V4}`]);
    assert.deepEqual((await netns.dig('ns.dns.cluster.local', 'AAAA')).answer, [`ns.dns.cluster.local. 5 IN AAAA ${NETNS_V6}`]);
    const ns = await netns.dig('cluster.local', 'NS');
    assert.deepEqual(ns.answer, ['cluster.local. 5 IN NS ns.dns.cluster.local.']);
    assert.deepEqual(ns.additional.sort(), [`ns.dns.cluster.local. 5 IN A ${NETNS_V4}`, `ns.dns.cluster.local. 5 IN AAAA ${NETNS_V6}`]);

    const dnsPorts = [{ name: 'dns', port: 53, protocol: 'UDP' }];
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns' }, spec: { clusterIP: '198.19.0.10', clusterIPs: ['198.19.0.10'], ports: dnsPorts } };
    assert.equal(await netns.create('/api/v1/namespaces/kube-system/services', service), 201);
    const slice = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', ...sliceBody('kube-dns', 'kube-dns-abc', 'IPv4', [{ addresses: [NETNS_V4], conditions: { ready: true } }], dnsPorts) };
    assert.equal(await netns.create('/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', slice), 201);
    const fronted = await eventually(() => netns.dig('cluster.local', 'NS'), (r) => r.answer[0]?.includes('kube-dns') ?? false);
    assert.deepEqual(fronted.answer, ['cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local.']);
    assert.deepEqual(fronted.additional, ['kube-dns.kube-system.svc.cluster.local. 5 IN A 198.19.0.10']);
    assert.deepEqual((await netns.dig('ns.dns.cluster.local', 'A')).answer, ['ns.dns.cluster.local. 5 IN A 198.19.0.10']);
    assert.deepEqual((await netns.dig('ns.dns.cluster.local', 'AAAA')).answer, []);
  });
});
