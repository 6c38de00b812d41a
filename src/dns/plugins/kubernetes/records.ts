// Record synthesis for the Kubernetes DNS-based service discovery specification (schema 1.1.0),
// answering as CoreDNS's kubernetes plugin does, including its NXDOMAIN-versus-NODATA choices.
import { isIP } from 'node:net';
import type { DnsRecord } from '../../message.js';
import { isSubdomain, trimZone } from '../../names.js';
import { addressOfReverseName, canonicalIP } from '../../reverse.js';
import type { DnsIndex } from './dns-index.js';
import { endpointHostname, type ServiceInfo } from './objects.js';
import { parseRecordRequest, type RecordRequest } from './request-name.js';

export const DNS_SCHEMA_VERSION = '1.1.0';
const DNS_VERSION_TTL = 28800;

export interface SynthesisOptions {
  ttl: number;
  pods: 'disabled' | 'insecure' | 'verified';
  endpointPodNames: boolean;
  ignoreEmptyService: boolean;
  // null: every namespace; otherwise only these.
  namespaces: Set<string> | null;
}

export interface Query {
  // Lower-cased name and the spelling to use for answer owners.
  qname: string;
  name: string;
  qtype: string;
}

// What the lookup found. 'nxdomain' is CoreDNS's name error (fallthrough applies); 'nodata' an
// existing name without records of the type; 'answer' records, possibly with a CNAME to chase.
export type Synthesis =
  | { kind: 'nxdomain' }
  | { kind: 'nodata' }
  | { kind: 'answer'; answers: DnsRecord[]; additionals: DnsRecord[]; externalTarget?: string };

// A target of a lookup: an address or (ExternalName) a host name, with port and the owner name
// of the SRV target.
interface Target {
  host: string;
  port: number;
  targetName: string;
}

function namespaceExposed(index: DnsIndex, o: SynthesisOptions, ns: string): boolean {
  if (o.namespaces && !o.namespaces.has(ns)) return false;
  return index.hasNamespace(ns);
}

function matchPort(r: RecordRequest, name: string, protocol: string): boolean {
  return (r.port === '' || r.port === name) && (r.protocol === '' || r.protocol === protocol);
}

function serviceName(s: ServiceInfo, zone: string): string {
  return `${s.name}.${s.namespace}.svc.${zone}`;
}

function hasReadyAddresses(index: DnsIndex, s: ServiceInfo): boolean {
  for (const slice of index.slicesOf(s.namespace, s.name)) if (slice.addresses.length) return true;
  return false;
}

// CoreDNS's findServices: targets, or null for a name error.
function findServices(index: DnsIndex, o: SynthesisOptions, r: RecordRequest, zone: string): Target[] | null {
  const s = index.service(r.namespace, r.service);
  if (!s) return null;
  if (o.ignoreEmptyService && s.type !== 'ExternalName' && !s.headless && !hasReadyAddresses(index, s)) return null;
  if (s.type === 'ExternalName') {
    if (r.endpoint !== '' || !s.externalName) return null;
    return [{ host: s.externalName, port: 0, targetName: serviceName(s, zone) }];
  }
  const targets: Target[] = [];
  let found = false;
  if (s.headless || r.endpoint !== '') {
    for (const slice of index.slicesOf(s.namespace, s.name)) {
      // An endpoint without ports still has addresses: CoreDNS adds a sentinel port for it.
      const ports = slice.ports.length ? slice.ports : [{ name: '', port: -1, protocol: '' }];
      for (const a of slice.addresses) {
        const hostname = endpointHostname(a, o.endpointPodNames);
        if (r.endpoint !== '' && r.endpoint !== hostname) continue;
        for (const p of ports) {
          if (!matchPort(r, p.name, p.protocol)) continue;
          found = true;
          targets.push({ host: a.ip, port: p.port, targetName: `${hostname}.${serviceName(s, zone)}` });
        }
      }
    }
    return found ? targets : null;
  }
  for (const p of s.ports) {
    if (!matchPort(r, p.name, p.protocol)) continue;
    found = true;
    for (const ip of s.clusterIPs) targets.push({ host: ip, port: p.port, targetName: serviceName(s, zone) });
  }
  return found ? targets : null;
}

function findPods(index: DnsIndex, o: SynthesisOptions, r: RecordRequest, zone: string): Target[] | null {
  if (o.pods === 'disabled') return null;
  if (r.service === '') return [];
  const podName = r.service;
  const ip = (podName.split('-').length - 1 === 3 && !podName.includes('--')) ? podName.replace(/-/g, '.') : podName.replace(/-/g, ':');
  if (!isIP(ip)) return null;
  const target = { host: canonicalIP(ip), port: 0, targetName: `${podName}.${r.namespace}.pod.${zone}` };
  if (o.pods === 'insecure') return [target];
  return index.podWithIp(target.host, r.namespace) ? [target] : null;
}

function dedupe(records: DnsRecord[]): DnsRecord[] {
  const seen = new Set<string>();
  return records.filter((rr) => {
    const key = `${rr.name.toLowerCase()}|${rr.type}|${JSON.stringify((rr as { data?: unknown }).data)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function addressRecord(name: string, ip: string, ttl: number): DnsRecord {
  return isIP(ip) === 4 ? { name, type: 'A', class: 'IN', ttl, data: ip } : { name, type: 'AAAA', class: 'IN', ttl, data: ip };
}

// PTR answers for an address: the services with it as a cluster IP, then the endpoints with it.
function reverseLookup(index: DnsIndex, o: SynthesisOptions, q: Query, clusterZone: string): Synthesis {
  const ip = addressOfReverseName(q.qname);
  if (!ip) return { kind: 'nxdomain' };
  const answers: DnsRecord[] = [];
  for (const s of index.servicesWithClusterIp(ip)) {
    if (!namespaceExposed(index, o, s.namespace)) continue;
    answers.push({ name: q.name, type: 'PTR', class: 'IN', ttl: o.ttl, data: serviceName(s, clusterZone) });
  }
  for (const slice of index.slicesWithEndpointIp(ip)) {
    if (!namespaceExposed(index, o, slice.namespace)) continue;
    for (const a of slice.addresses) {
      if (a.ip !== ip) continue;
      answers.push({ name: q.name, type: 'PTR', class: 'IN', ttl: o.ttl, data: `${endpointHostname(a, o.endpointPodNames)}.${slice.serviceName}.${slice.namespace}.svc.${clusterZone}` });
    }
  }
  if (answers.length === 0) return { kind: 'nxdomain' };
  if (q.qtype !== 'PTR') return { kind: 'nodata' };
  return { kind: 'answer', answers: dedupe(answers), additionals: [] };
}

export function isReverseZone(zone: string): boolean {
  return isSubdomain(zone, 'in-addr.arpa') || isSubdomain(zone, 'ip6.arpa');
}

// zone: the matched zone of the plugin; clusterZone: the first forward zone, used to name PTR
// targets as CoreDNS does.
export function synthesize(index: DnsIndex, o: SynthesisOptions, q: Query, zone: string, clusterZone: string): Synthesis {
  if (isReverseZone(zone)) return reverseLookup(index, o, q, clusterZone);
  const base = trimZone(q.qname, zone);
  if (base === 'dns-version') {
    if (q.qtype === 'TXT') return { kind: 'answer', answers: [{ name: q.name, type: 'TXT', class: 'IN', ttl: DNS_VERSION_TTL, data: DNS_SCHEMA_VERSION }], additionals: [] };
  }
  // CoreDNS answers TXT only for dns-version; every other TXT question is NODATA.
  if (q.qtype === 'TXT') return { kind: 'nodata' };
  const r = parseRecordRequest(base);
  if (!r) return { kind: 'nxdomain' };
  if (r.podOrSvc === '') return { kind: 'nodata' };
  if (!namespaceExposed(index, o, r.namespace)) return { kind: 'nxdomain' };
  if (r.service === '') return { kind: 'nodata' };
  const targets = r.podOrSvc === 'pod' ? findPods(index, o, r, zone) : findServices(index, o, r, zone);
  if (targets === null) return { kind: 'nxdomain' };
  const ttl = o.ttl;
  const answers: DnsRecord[] = [];
  const additionals: DnsRecord[] = [];
  let externalTarget: string | undefined;
  switch (q.qtype) {
    case 'A':
    case 'AAAA': {
      for (const t of targets) {
        const family = isIP(t.host);
        if (family === 0) {
          answers.push({ name: q.name, type: 'CNAME', class: 'IN', ttl, data: t.host });
          externalTarget = t.host;
        } else if ((family === 4) === (q.qtype === 'A')) {
          answers.push(addressRecord(q.name, t.host, ttl));
        }
      }
      break;
    }
    case 'CNAME':
      for (const t of targets) if (isIP(t.host) === 0) answers.push({ name: q.name, type: 'CNAME', class: 'IN', ttl, data: t.host });
      break;
    case 'SRV': {
      const srvTargets = targets.filter((t) => t.port >= 0);
      const weight = srvTargets.length ? Math.floor(100 / srvTargets.length) : 0;
      for (const t of srvTargets) {
        const external = isIP(t.host) === 0;
        answers.push({ name: q.name, type: 'SRV', class: 'IN', ttl, data: { priority: 0, weight, port: t.port, target: external ? t.host : t.targetName } });
        if (!external) additionals.push(addressRecord(t.targetName, t.host, ttl));
      }
      break;
    }
    default:
      break;
  }
  if (answers.length === 0) return { kind: 'nodata' };
  return { kind: 'answer', answers: dedupe(answers), additionals: dedupe(additionals), externalTarget };
}

// The name server's name in the SOA, and in NS records when no Service fronts this server.
export function nameserverName(zone: string): string {
  return zone === '' ? 'ns.dns' : `ns.dns.${zone}`;
}

export interface Nameserver {
  name: string;
  ip: string;
}

// The zone's name servers as CoreDNS's kubernetes plugin finds them: the cluster IPs of the
// Services whose endpoints are this server's own addresses, named as those Services; without
// any, the addresses themselves, named ns.dns.<zone>.
export function nameservers(index: DnsIndex, localIPs: readonly string[], zone: string): Nameserver[] {
  const found: Nameserver[] = [];
  const seen = new Set<string>();
  for (const local of localIPs) {
    for (const slice of index.slicesWithEndpointIp(local)) {
      const s = index.service(slice.namespace, slice.serviceName);
      for (const ip of s?.clusterIPs ?? []) {
        const ns = { name: serviceName(s!, zone), ip };
        if (seen.has(`${ns.name} ${ip}`)) continue;
        seen.add(`${ns.name} ${ip}`);
        found.push(ns);
      }
    }
  }
  if (found.length) return found;
  return localIPs.map((ip) => ({ name: nameserverName(zone), ip }));
}

// NS at the zone apex: one record per name server name, their addresses as glue.
export function nsAnswer(servers: Nameserver[], owner: string, ttl: number): { answers: DnsRecord[]; additionals: DnsRecord[] } {
  const names = [...new Set(servers.map((s) => s.name))];
  return {
    answers: names.map((name) => ({ name: owner, type: 'NS', class: 'IN', ttl, data: name })),
    additionals: servers.map((s) => addressRecord(s.name, s.ip, ttl)),
  };
}

// A or AAAA for ns.dns.<zone>: the name servers' addresses of that family.
export function nameserverAddresses(servers: Nameserver[], owner: string, qtype: string, ttl: number): DnsRecord[] {
  const family = qtype === 'A' ? 4 : qtype === 'AAAA' ? 6 : 0;
  return servers.filter((s) => isIP(s.ip) === family).map((s) => addressRecord(owner, s.ip, ttl));
}

export function soaRecord(zone: string, ttl: number, serial: number): DnsRecord {
  const z = zone === '' ? '.' : zone;
  return {
    name: z,
    type: 'SOA',
    class: 'IN',
    ttl,
    data: { mname: nameserverName(zone), rname: `hostmaster.${zone}`.replace(/\.$/, ''), serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

