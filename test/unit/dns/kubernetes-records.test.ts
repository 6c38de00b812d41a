// Record synthesis from an in-memory index: every answer shape of the specification, as tables.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DnsIndex } from '../../../src/dns/plugins/kubernetes/dns-index.js';
import { nameserverAddresses, nameservers, nsAnswer, synthesize, type SynthesisOptions } from '../../../src/dns/plugins/kubernetes/records.js';
import { localAddresses } from '../../../src/dns/plugins/kubernetes/local-addresses.js';
import { parseRecordRequest } from '../../../src/dns/plugins/kubernetes/request-name.js';
import { toServiceInfo, toSliceInfo } from '../../../src/dns/plugins/kubernetes/objects.js';

function index(): DnsIndex {
  const ix = new DnsIndex();
  ix.addNamespace('default');
  ix.addNamespace('team');
  ix.upsertService(toServiceInfo({ metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.0.0.10', clusterIPs: ['10.0.0.10', 'fd00::a'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } })!);
  ix.upsertService(toServiceInfo({ metadata: { namespace: 'default', name: 'hl' }, spec: { clusterIP: 'None', ports: [{ name: 'grpc', port: 9000, protocol: 'TCP' }] } })!);
  ix.upsertSlice(toSliceInfo({ metadata: { namespace: 'default', name: 'hl-1', labels: { 'kubernetes.io/service-name': 'hl' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'], hostname: 'h0' }, { addresses: ['10.1.0.2'], targetRef: { kind: 'Pod', name: 'hl-pod' } }, { addresses: ['10.1.0.3'], conditions: { ready: false } }], ports: [{ name: 'grpc', port: 9000, protocol: 'TCP' }] })!);
  ix.upsertService(toServiceInfo({ metadata: { namespace: 'team', name: 'x' }, spec: { type: 'ExternalName', externalName: 'x.example.com.' } })!);
  ix.upsertService(toServiceInfo({ metadata: { namespace: 'team', name: 'empty' }, spec: { clusterIP: '10.0.0.20', ports: [{ name: 'p', port: 1, protocol: 'TCP' }] } })!);
  return ix;
}

const base: SynthesisOptions = { ttl: 5, pods: 'disabled', endpointPodNames: false, ignoreEmptyService: false, namespaces: null };

function answer(ix: DnsIndex, name: string, qtype: string, o: Partial<SynthesisOptions> = {}, zone = 'cluster.local'): string {
  const s = synthesize(ix, { ...base, ...o }, { qname: name, name, qtype }, zone, 'cluster.local');
  if (s.kind !== 'answer') return s.kind;
  return s.answers.map((r) => `${r.type} ${JSON.stringify((r as { data: unknown }).data)}`).join(' | ');
}

describe('kubernetes record synthesis', () => {
  const ix = index();
  const cases: [string, string, Partial<SynthesisOptions>, string][] = [
    ['web.default.svc.cluster.local', 'A', {}, 'A "10.0.0.10"'],
    ['web.default.svc.cluster.local', 'AAAA', {}, 'AAAA "fd00::a"'],
    ['web.default.svc.cluster.local', 'MX', {}, 'nodata'],
    ['web.default.svc.cluster.local', 'TXT', {}, 'nodata'],
    ['_http._tcp.web.default.svc.cluster.local', 'SRV', {}, 'SRV {"priority":0,"weight":50,"port":80,"target":"web.default.svc.cluster.local"}'],
    ['_http._udp.web.default.svc.cluster.local', 'SRV', {}, 'nxdomain'],
    ['hl.default.svc.cluster.local', 'A', {}, 'A "10.1.0.1" | A "10.1.0.2"'],
    ['hl.default.svc.cluster.local', 'AAAA', {}, 'nodata'],
    ['h0.hl.default.svc.cluster.local', 'A', {}, 'A "10.1.0.1"'],
    ['10-1-0-2.hl.default.svc.cluster.local', 'A', {}, 'A "10.1.0.2"'],
    ['hl-pod.hl.default.svc.cluster.local', 'A', {}, 'nxdomain'],
    ['hl-pod.hl.default.svc.cluster.local', 'A', { endpointPodNames: true }, 'A "10.1.0.2"'],
    ['10-1-0-3.hl.default.svc.cluster.local', 'A', {}, 'nxdomain'],
    ['_grpc._tcp.hl.default.svc.cluster.local', 'SRV', {}, 'SRV {"priority":0,"weight":50,"port":9000,"target":"h0.hl.default.svc.cluster.local"} | SRV {"priority":0,"weight":50,"port":9000,"target":"10-1-0-2.hl.default.svc.cluster.local"}'],
    ['x.team.svc.cluster.local', 'A', {}, 'CNAME "x.example.com"'],
    ['x.team.svc.cluster.local', 'CNAME', {}, 'CNAME "x.example.com"'],
    ['empty.team.svc.cluster.local', 'A', {}, 'A "10.0.0.20"'],
    ['empty.team.svc.cluster.local', 'A', { ignoreEmptyService: true }, 'nxdomain'],
    ['web.default.svc.cluster.local', 'A', { namespaces: new Set(['team']) }, 'nxdomain'],
    ['missing.default.svc.cluster.local', 'A', {}, 'nxdomain'],
    ['default.svc.cluster.local', 'A', {}, 'nodata'],
    ['gone.svc.cluster.local', 'A', {}, 'nxdomain'],
    ['dns-version.cluster.local', 'TXT', {}, 'TXT "1.1.0"'],
    ['10-9-9-9.default.pod.cluster.local', 'A', {}, 'nxdomain'],
    ['10-9-9-9.default.pod.cluster.local', 'A', { pods: 'insecure' }, 'A "10.9.9.9"'],
    ['fd00--1.default.pod.cluster.local', 'AAAA', { pods: 'insecure' }, 'AAAA "fd00::1"'],
    ['10-9-9-9.default.pod.cluster.local', 'A', { pods: 'verified' }, 'nxdomain'],
    ['10.0.0.0.10.in-addr.arpa', 'PTR', {}, 'nxdomain'],
  ];
  for (const [name, qtype, o, want] of cases) {
    it(`${qtype} ${name}${Object.keys(o).length ? ' ' + Object.keys(o).join(',') : ''} -> ${want}`, () => assert.equal(answer(ix, name, qtype, o), want));
  }

  it('answers PTR in reverse zones for cluster IPs and endpoints', () => {
    assert.equal(answer(ix, '10.0.0.10.in-addr.arpa', 'PTR', {}, 'in-addr.arpa'), 'PTR "web.default.svc.cluster.local"');
    assert.equal(answer(ix, '2.0.1.10.in-addr.arpa', 'PTR', {}, 'in-addr.arpa'), 'PTR "10-1-0-2.hl.default.svc.cluster.local"');
    assert.equal(answer(ix, 'a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', 'PTR', {}, 'ip6.arpa'), 'PTR "web.default.svc.cluster.local"');
    assert.equal(answer(ix, '9.9.9.9.in-addr.arpa', 'PTR', {}, 'in-addr.arpa'), 'nxdomain');
  });

  it('forgets endpoints and services on removal', () => {
    const ix2 = index();
    ix2.removeSlice('default', 'hl-1');
    assert.equal(answer(ix2, 'hl.default.svc.cluster.local', 'A'), 'nxdomain');
    ix2.removeService('default', 'web');
    assert.equal(answer(ix2, 'web.default.svc.cluster.local', 'A'), 'nxdomain');
    assert.equal(answer(ix2, '10.0.0.10.in-addr.arpa', 'PTR', {}, 'in-addr.arpa'), 'nxdomain');
  });
});

describe('kubernetes request names', () => {
  const cases: [string, ReturnType<typeof parseRecordRequest>][] = [
    ['', { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' }],
    ['svc', { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' }],
    ['ns.svc', { port: '', protocol: '', endpoint: '', service: '', namespace: 'ns', podOrSvc: 'svc' }],
    ['s.ns.svc', { port: '', protocol: '', endpoint: '', service: 's', namespace: 'ns', podOrSvc: 'svc' }],
    ['e.s.ns.svc', { port: '', protocol: '', endpoint: 'e', service: 's', namespace: 'ns', podOrSvc: 'svc' }],
    ['_http._tcp.s.ns.svc', { port: 'http', protocol: 'tcp', endpoint: '', service: 's', namespace: 'ns', podOrSvc: 'svc' }],
    ['1-2-3-4.ns.pod', { port: '', protocol: '', endpoint: '', service: '1-2-3-4', namespace: 'ns', podOrSvc: 'pod' }],
    ['a.b.c.d.ns.svc', null],
    ['s.ns.other', null],
  ];
  for (const [base, want] of cases) it(`parses '${base}'`, () => assert.deepEqual(parseRecordRequest(base), want));
});

describe('kubernetes name servers (ns.dns)', () => {
  const ix = index();
  ix.upsertService(toServiceInfo({ metadata: { namespace: 'default', name: 'dns' }, spec: { clusterIP: '10.0.0.53', clusterIPs: ['10.0.0.53', 'fd00::35'], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } })!);
  ix.upsertSlice(toSliceInfo({ metadata: { namespace: 'default', name: 'dns-1', labels: { 'kubernetes.io/service-name': 'dns' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.53'] }], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })!);

  it('names the Services whose endpoints are the server, with their cluster IPs', () => {
    const servers = nameservers(ix, ['10.1.0.53'], 'cluster.local');
    assert.deepEqual(servers, [{ name: 'dns.default.svc.cluster.local', ip: '10.0.0.53' }, { name: 'dns.default.svc.cluster.local', ip: 'fd00::35' }]);
    const ns = nsAnswer(servers, 'cluster.local', 5);
    assert.deepEqual(ns.answers.map((r) => `${r.name} ${r.type} ${(r as { data: string }).data}`), ['cluster.local NS dns.default.svc.cluster.local']);
    assert.deepEqual(ns.additionals.map((r) => `${r.name} ${r.type} ${(r as { data: string }).data}`), ['dns.default.svc.cluster.local A 10.0.0.53', 'dns.default.svc.cluster.local AAAA fd00::35']);
    assert.deepEqual(nameserverAddresses(servers, 'NS.dns.cluster.local', 'AAAA', 5).map((r) => (r as { data: string }).data), ['fd00::35']);
    assert.deepEqual(nameserverAddresses(servers, 'ns.dns.cluster.local', 'MX', 5), []);
  });

  it('falls back to its own addresses under ns.dns.<zone>, and has none without any', () => {
    assert.deepEqual(nameservers(ix, ['192.0.2.7'], 'cluster.local'), [{ name: 'ns.dns.cluster.local', ip: '192.0.2.7' }]);
    assert.deepEqual(nameservers(ix, [], 'cluster.local'), []);
  });

  it('takes its addresses from bind, or every interface for a wildcard, never loopback or link-local', () => {
    const nic = (address: string, scopeid?: number) => ({ address, scopeid });
    const interfaces = { lo: [nic('127.0.0.1'), nic('::1', 0)], eth0: [nic('192.0.2.7'), nic('fe80::1', 2), nic('2001:db8::7', 0)] };
    assert.deepEqual(localAddresses(['127.0.0.1', '192.0.2.9'], interfaces), ['192.0.2.9']);
    assert.deepEqual(localAddresses(['::'], interfaces), ['192.0.2.7', '2001:db8::7']);
  });
});
