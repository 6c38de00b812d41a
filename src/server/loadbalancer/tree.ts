import type {
  AlpnProtocol,
  ClientAuthentication,
  HealthMonitor,
  InsertHeader,
  L7Policy,
  L7Rule,
  LoadBalancer,
  Listener,
  Member,
  Pool,
  PoolTls,
  RedirectHttpCode,
  SessionPersistence,
  TlsVersion,
} from '../../agents/amphora/types.js';
import type { Db } from '../../store/database.js';
import type { WireObject } from '../network/attributes.js';
import type { Row } from '../network/repository.js';
import { toWireObjects } from './objects.js';
import { LISTENER_DEFAULTS, healthMonitorSpec, l7PolicySpec, l7RuleSpec, listenerSpec, memberSpec, poolSpec } from './schemas.js';

/**
 * A PEM file the amphora needs, by the name the tree's TLS paths use, and where the key manager keeps it: a
 * `bundle` (certificate container, or PKCS#12 secret) becomes certificate, intermediates and key; a `ca` or `crl`
 * secret (a CA bundle or a revocation list, stored as Octavia stores them) is its PEM payload as it is.
 */
export interface CertificateRef {
  name: string;
  containerRef: string;
  kind: 'bundle' | 'ca' | 'crl';
}

export interface BalancerTree {
  tree: LoadBalancer;
  certificateRefs: CertificateRef[];
}

export class BalancerTreeError extends Error {}

/** Objects on their way out are not part of what the amphorae should run. */
const kept = (objects: WireObject[]) => objects.filter((o) => o.provisioning_status !== 'PENDING_DELETE');

async function childrenOf(db: Db, spec: typeof listenerSpec, loadBalancerId: string): Promise<{ rows: Row[]; objects: WireObject[] }> {
  const rows = (await db.selectFrom(spec.table).selectAll().where('load_balancer_id', '=', loadBalancerId).orderBy('created_at').orderBy('id').execute()) as Row[];
  const objects = await toWireObjects(db, spec, rows);
  const live = new Set(kept(objects).map((o) => o.id));
  return { rows: rows.filter((r) => live.has(r.id)), objects: kept(objects) };
}

/** The TLS bundle names of a listener: `<listener id>/0.pem` for the default certificate, then one per SNI ref. */
export function certificateName(listenerId: string, index: number): string {
  return `${listenerId}/${index}.pem`;
}

/**
 * The balancer's tree as its amphorae run it (the renderers' input, `agents/amphora/types.ts`), read in one
 * consistent view: every object not being deleted, with its administrative state (a balancer that is
 * administratively down disables all its listeners). Certificates are named, never embedded: the caller resolves
 * `certificateRefs` through the key manager into the target's `certificates` map.
 */
export async function loadBalancerTree(db: Db, loadBalancerId: string): Promise<BalancerTree> {
  const lb = (await db.selectFrom('load_balancers').selectAll().where('id', '=', loadBalancerId).executeTakeFirst()) as Row | undefined;
  if (!lb) throw new BalancerTreeError(`load balancer ${loadBalancerId} does not exist`);
  if (!lb.vip_address) throw new BalancerTreeError(`load balancer ${loadBalancerId} has no VIP address yet`);
  const balancerUp = Number(lb.admin_state_up) === 1;

  const listeners = await childrenOf(db, listenerSpec, loadBalancerId);
  const pools = await childrenOf(db, poolSpec, loadBalancerId);
  const members = await childrenOf(db, memberSpec, loadBalancerId);
  const monitors = await childrenOf(db, healthMonitorSpec, loadBalancerId);
  const policies = await childrenOf(db, l7PolicySpec, loadBalancerId);
  const rules = await childrenOf(db, l7RuleSpec, loadBalancerId);

  const poolIds = new Set(pools.objects.map((p) => p.id as string));
  const certificateRefs: CertificateRef[] = [];
  const named = (owner: string, file: string, containerRef: unknown, kind: CertificateRef['kind']): string | null => {
    if (!containerRef) return null;
    const name = `${owner}/${file}`;
    certificateRefs.push({ name, containerRef: containerRef as string, kind });
    return name;
  };

  const treePools: Pool[] = pools.objects.map((p) => ({
    id: p.id as string,
    protocol: p.protocol as Pool['protocol'],
    lbAlgorithm: p.lb_algorithm as Pool['lbAlgorithm'],
    adminStateUp: p.admin_state_up as boolean,
    sessionPersistence: sessionPersistence(p.session_persistence as Record<string, unknown> | null),
    healthMonitor: monitorOf(monitors.objects.find((m) => m.pool_id === p.id)),
    members: members.rows
      .map((row, i) => ({ row, object: members.objects[i] }))
      .filter(({ row }) => row.pool_id === p.id)
      .map(({ object }) => memberOf(object)),
    tls: p.tls_enabled
      ? {
          clientCertificatePath: named(p.id as string, 'client.pem', p.tls_container_ref, 'bundle'),
          caPath: named(p.id as string, 'ca.pem', p.ca_tls_container_ref, 'ca'),
          crlPath: p.ca_tls_container_ref ? named(p.id as string, 'crl.pem', p.crl_container_ref, 'crl') : null,
          tlsVersions: (p.tls_versions as TlsVersion[] | null) ?? [...LISTENER_DEFAULTS.tlsVersions],
          tlsCiphers: (p.tls_ciphers as string | null) ?? null,
          alpnProtocols: (p.alpn_protocols as AlpnProtocol[] | null) ?? [...LISTENER_DEFAULTS.alpnProtocols],
        } satisfies PoolTls
      : null,
  }));

  const treeListeners: Listener[] = listeners.objects.map((l) => {
    const id = l.id as string;
    const ownPolicies = policies.rows
      .map((row, i) => ({ row, object: policies.objects[i] }))
      .filter(({ row }) => row.listener_id === id)
      .map(({ object }) => policyOf(object, rules, poolIds));
    let tls: Listener['tls'] = null;
    if (l.protocol === 'TERMINATED_HTTPS' && l.default_tls_container_ref) {
      const refs = [l.default_tls_container_ref as string, ...(l.sni_container_refs as string[])];
      refs.forEach((containerRef, index) => certificateRefs.push({ name: certificateName(id, index), containerRef, kind: 'bundle' }));
      const clientCaPath = named(id, 'client-ca.pem', l.client_ca_tls_container_ref, 'ca');
      tls = {
        defaultCertificatePath: certificateName(id, 0),
        sniCertificatePaths: refs.slice(1).map((_, i) => certificateName(id, i + 1)),
        alpnProtocols: ((l.alpn_protocols as AlpnProtocol[] | null) ?? []),
        tlsVersions: ((l.tls_versions as TlsVersion[] | null) ?? []),
        tlsCiphers: (l.tls_ciphers as string | null) ?? null,
        clientAuthentication: clientCaPath ? ((l.client_authentication as ClientAuthentication | null) ?? 'NONE') : 'NONE',
        clientCaPath,
        clientCrlPath: clientCaPath ? named(id, 'client-crl.pem', l.client_crl_container_ref, 'crl') : null,
      };
    }
    const headers = l.insert_headers as Record<string, string>;
    return {
      id,
      protocol: l.protocol as Listener['protocol'],
      protocolPort: l.protocol_port as number,
      adminStateUp: balancerUp && (l.admin_state_up as boolean),
      connectionLimit: l.connection_limit as number,
      timeoutClientData: l.timeout_client_data as number,
      timeoutMemberConnect: l.timeout_member_connect as number,
      timeoutMemberData: l.timeout_member_data as number,
      timeoutTcpInspect: l.timeout_tcp_inspect as number,
      insertHeaders: Object.keys(headers).filter((h) => headers[h].toLowerCase() === 'true').sort() as InsertHeader[],
      allowedCidrs: l.allowed_cidrs as string[],
      tls,
      defaultPoolId: l.default_pool_id && poolIds.has(l.default_pool_id as string) ? (l.default_pool_id as string) : null,
      l7Policies: ownPolicies.filter((p): p is L7Policy => p !== null).sort((a, b) => a.position - b.position),
    };
  });

  return { tree: { id: loadBalancerId, vipAddress: lb.vip_address as string, listeners: treeListeners, pools: treePools }, certificateRefs };
}

function sessionPersistence(sp: Record<string, unknown> | null): SessionPersistence | null {
  if (!sp) return null;
  if (sp.type === 'APP_COOKIE') return { type: 'APP_COOKIE', cookieName: sp.cookie_name as string };
  if (sp.type === 'SOURCE_IP' && typeof sp.persistence_granularity === 'string') return { type: 'SOURCE_IP', granularity: sp.persistence_granularity };
  return { type: sp.type as 'SOURCE_IP' | 'HTTP_COOKIE' };
}

function monitorOf(m: WireObject | undefined): HealthMonitor | null {
  if (!m) return null;
  return {
    id: m.id as string,
    type: m.type as HealthMonitor['type'],
    adminStateUp: m.admin_state_up as boolean,
    delay: m.delay as number,
    timeout: m.timeout as number,
    maxRetries: m.max_retries as number,
    maxRetriesDown: m.max_retries_down as number,
    httpMethod: (m.http_method as HealthMonitor['httpMethod']) ?? null,
    urlPath: (m.url_path as string | null) ?? null,
    expectedCodes: (m.expected_codes as string | null) ?? null,
    httpVersion: m.http_version === null || m.http_version === undefined ? null : (Number(m.http_version) as 1.0 | 1.1),
    domainName: (m.domain_name as string | null) ?? null,
  };
}

function memberOf(m: WireObject): Member {
  return {
    id: m.id as string,
    address: m.address as string,
    protocolPort: m.protocol_port as number,
    weight: m.weight as number,
    backup: m.backup as boolean,
    adminStateUp: m.admin_state_up as boolean,
    monitorAddress: (m.monitor_address as string | null) ?? null,
    monitorPort: (m.monitor_port as number | null) ?? null,
  };
}

/** A policy with its rules; a redirect to a pool that is going away is left out rather than pointing nowhere. */
function policyOf(p: WireObject, rules: { rows: Row[]; objects: WireObject[] }, poolIds: Set<string>): L7Policy | null {
  const ownRules: L7Rule[] = rules.rows
    .map((row, i) => ({ row, object: rules.objects[i] }))
    .filter(({ row }) => row.l7policy_id === p.id)
    .map(({ object: r }) => ({
      id: r.id as string,
      type: r.type as L7Rule['type'],
      compareType: r.compare_type as L7Rule['compareType'],
      key: (r.key as string | null) ?? null,
      value: r.value as string,
      invert: r.invert as boolean,
      adminStateUp: r.admin_state_up as boolean,
    }));
  const base = { id: p.id as string, position: p.position as number, adminStateUp: p.admin_state_up as boolean, rules: ownRules };
  const code = ((p.redirect_http_code as number | null) ?? 302) as RedirectHttpCode;
  switch (p.action) {
    case 'REJECT':
      return { ...base, action: 'REJECT' };
    case 'REDIRECT_TO_URL':
      return { ...base, action: 'REDIRECT_TO_URL', redirectUrl: p.redirect_url as string, redirectHttpCode: code };
    case 'REDIRECT_PREFIX':
      return { ...base, action: 'REDIRECT_PREFIX', redirectPrefix: p.redirect_prefix as string, redirectHttpCode: code };
    default:
      return poolIds.has(p.redirect_pool_id as string) ? { ...base, action: 'REDIRECT_TO_POOL', redirectPoolId: p.redirect_pool_id as string } : null;
  }
}
