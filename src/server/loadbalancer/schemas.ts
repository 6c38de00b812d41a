import type { AttributeSpec, ResourceSpec } from '../network/attributes.js';
import {
  boolean,
  dictWith,
  integer,
  InvalidValue,
  ipAddress,
  ipOrPrefix,
  listOf,
  noDuplicates,
  oneOf,
  string,
  stringOrNull,
  uuid,
  uuidOrNull,
  type Convert,
} from '../network/validators.js';
import type { AlpnProtocol, ClientCertificateHeader, HealthMonitorType, InsertHeader, L7CompareType, L7RuleType, LbAlgorithm, ListenerProtocol, PoolProtocol, TlsVersion } from '../../agents/amphora/types.js';

/** A member's address as the client wrote it, once checked: Octavia stores `2001:db8:0:0:0:0:0:1` as sent (tempest compares it). */
const ipAddressAsGiven: Convert = (v) => {
  ipAddress(v);
  return v;
};

/**
 * Octavia v2's objects as attribute maps (the network API's machinery: allow on POST/PUT, converters, defaults,
 * filters, sort keys). Values and defaults follow Octavia's api-ref; what only the controller and the health
 * reports set (statuses) is read-only here.
 */

export const LISTENER_PROTOCOLS: readonly ListenerProtocol[] = ['HTTP', 'HTTPS', 'TCP', 'TERMINATED_HTTPS', 'UDP'];
export const POOL_PROTOCOLS: readonly PoolProtocol[] = ['HTTP', 'HTTPS', 'PROXY', 'PROXYV2', 'TCP', 'UDP'];
export const LB_ALGORITHMS: readonly LbAlgorithm[] = ['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP'];
/** What the API takes: SOURCE_IP_PORT is one of Octavia's algorithms, which the amphora provider refuses (rules.ts). */
export const API_LB_ALGORITHMS: readonly string[] = [...LB_ALGORITHMS, 'SOURCE_IP_PORT'];
export const MONITOR_TYPES: readonly HealthMonitorType[] = ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO', 'UDP-CONNECT'];
export const CLIENT_CERTIFICATE_HEADERS: readonly ClientCertificateHeader[] = [
  'X-SSL-Client-Verify', 'X-SSL-Client-Has-Cert', 'X-SSL-Client-DN', 'X-SSL-Client-CN', 'X-SSL-Issuer', 'X-SSL-Client-SHA1', 'X-SSL-Client-Not-Before', 'X-SSL-Client-Not-After',
];
export const INSERT_HEADERS: readonly InsertHeader[] = ['X-Forwarded-For', 'X-Forwarded-Port', 'X-Forwarded-Proto', ...CLIENT_CERTIFICATE_HEADERS];
export const TLS_VERSIONS: readonly TlsVersion[] = ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
export const ALPN_PROTOCOLS: readonly AlpnProtocol[] = ['h2', 'http/1.1', 'http/1.0'];
export const HTTP_METHODS = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'] as const;
export const L7_ACTIONS = ['REJECT', 'REDIRECT_TO_URL', 'REDIRECT_PREFIX', 'REDIRECT_TO_POOL'] as const;
export const L7_RULE_TYPES: readonly L7RuleType[] = ['HOST_NAME', 'PATH', 'FILE_TYPE', 'HEADER', 'COOKIE', 'SSL_CONN_HAS_CERT', 'SSL_VERIFY_RESULT', 'SSL_DN_FIELD'];
export const L7_COMPARE_TYPES: readonly L7CompareType[] = ['EQUAL_TO', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS', 'REGEX'];
export const REDIRECT_HTTP_CODES = [301, 302, 303, 307, 308] as const;

/** The one provider cloudnet has, and Octavia's deprecated alias of it. */
export const PROVIDERS = [
  { name: 'amphora', description: 'The Octavia Amphora driver.' },
  { name: 'octavia', description: 'Deprecated alias of the Octavia Amphora driver.' },
];

/** Octavia's listener defaults (octavia.conf [haproxy_amphora] and [api_settings]). */
export const LISTENER_DEFAULTS = {
  timeoutClientData: 50000,
  timeoutMemberConnect: 5000,
  timeoutMemberData: 50000,
  timeoutTcpInspect: 0,
  tlsVersions: ['TLSv1.2', 'TLSv1.3'] as TlsVersion[],
  alpnProtocols: ['h2', 'http/1.1', 'http/1.0'] as AlpnProtocol[],
};

const fail = (reason: string): never => {
  throw new InvalidValue(reason);
};

const inRange =
  (low: number, high: number): Convert =>
  (v) => {
    const n = integer(v) as number;
    if (n < low || n > high) fail(`Value should be between ${low} and ${high}`);
    return n;
  };

const orNull =
  (convert: Convert): Convert =>
  (v) => (v === null ? null : convert(v));

export const port = inRange(1, 65535);

/**
 * A key manager reference: a URL of a Barbican secret or certificate container. Whether it exists is the key
 * manager's business (checked when it is fetched); the API only insists on a URL.
 */
export const containerRef: Convert = (v) => {
  const s = string(255)(v) as string;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail(`'${s}' is not a valid container reference`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || !/\/(containers|secrets)\/[0-9a-f-]{32,36}\/?$/i.test(url.pathname)) {
    fail(`'${s}' is not a valid container reference`);
  }
  return s;
};

/** `{"X-Forwarded-For": "true"}`: Octavia takes strings; only "true" inserts a header. */
const insertHeaders: Convert = (v) => {
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return fail(`'${JSON.stringify(v)}' is not a dictionary`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    if (!INSERT_HEADERS.includes(key as InsertHeader)) fail(`header ${key} is not one of ${INSERT_HEADERS.join(', ')}`);
    if (typeof value !== 'string' && typeof value !== 'boolean') fail(`the value of ${key} must be a string`);
    const text = String(value).toLowerCase();
    if (text !== 'true' && text !== 'false') fail(`the value of ${key} must be "true" or "false"`);
    out[key] = text === 'true' ? 'True' : 'False';
  }
  return out;
};

const sessionPersistence: Convert = (v) => {
  if (v === null) return null;
  const sp = dictWith({
    type: { convert: oneOf(['SOURCE_IP', 'HTTP_COOKIE', 'APP_COOKIE']), required: true },
    cookie_name: { convert: stringOrNull(255) },
    persistence_timeout: { convert: orNull(integer) },
    persistence_granularity: { convert: orNull(ipAddress) },
  })(v) as Record<string, unknown>;
  if (sp.type === 'APP_COOKIE' && !sp.cookie_name) fail('Field cookie_name is required for APP_COOKIE session persistence');
  if (sp.type !== 'APP_COOKIE' && sp.cookie_name) fail(`Field cookie_name is only valid for APP_COOKIE session persistence`);
  if (typeof sp.cookie_name === 'string' && !/^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/.test(sp.cookie_name)) {
    fail(`'${sp.cookie_name}' is not a valid cookie name`);
  }
  return { type: sp.type, cookie_name: sp.cookie_name ?? null, persistence_timeout: sp.persistence_timeout ?? null, persistence_granularity: sp.persistence_granularity ?? null };
};

const expectedCodes: Convert = (v) => {
  const s = string(64)(v) as string;
  if (!/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(s)) fail(`'${s}' is not a valid HTTP status code, range or list`);
  return s;
};

const urlPath: Convert = (v) => {
  const s = string(2048)(v) as string;
  if (!s.startsWith('/') || /\s/.test(s)) fail(`'${s}' is not a valid URL path`);
  return s;
};

const httpVersion: Convert = (v) => {
  if (v === null) return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (n !== 1.0 && n !== 1.1) fail(`'${String(v)}' is not one of 1.0, 1.1`);
  return n;
};

const domainName: Convert = (v) => {
  const s = string(255)(v) as string;
  if (!/^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(s)) fail(`'${s}' is not a valid domain name`);
  return s;
};

const url: Convert = (v) => {
  const s = string(255)(v) as string;
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    fail(`'${s}' is not a valid URL`);
  }
  return s;
};

const tlsCiphers: Convert = (v) => {
  if (v === null) return null;
  const s = string(2048)(v) as string;
  if (!/^[A-Za-z0-9_.+@!:=-]+$/.test(s)) fail(`'${s}' is not a valid OpenSSL cipher string`);
  return s;
};

const status = (name: 'provisioning_status' | 'operating_status'): AttributeSpec => ({ name, storage: 'column', type: 'string', filter: true, sort: true });
const text = (name: string, extra: Partial<AttributeSpec> = {}): AttributeSpec => ({ name, storage: 'column', type: 'string', filter: true, sort: true, ...extra });
const timestamps: AttributeSpec[] = [text('created_at'), text('updated_at')];
const tags: AttributeSpec = { name: 'tags', storage: 'derived', type: 'json', post: true, put: true, default: [], convert: noDuplicates(listOf(string(255)), 'tag'), filter: true };
const adminStateUp: AttributeSpec = { name: 'admin_state_up', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean, filter: true, sort: true };
const name = text('name', { post: true, put: true, default: '', convert: orNull(string(255)) });
const description = text('description', { post: true, put: true, default: '', convert: orNull(string(255)) });
const id = text('id');
/** Children inherit their balancer's project; only a balancer is created for a project. */
const childProject = text('project_id');
/** The first attributes of a listener, pool or L7 policy. */
const namedChild: AttributeSpec[] = [id, name, description, status('provisioning_status'), status('operating_status'), adminStateUp, childProject];
const ids = (name: string): AttributeSpec => ({ name, storage: 'derived', type: 'json' });

/** An Octavia object kind: its wire names, its table, and Octavia's NotFound ("<title> <id> could not be found."). */
function lbSpec(collection: string, member: string, table: string, title: string, attributes: AttributeSpec[]): ResourceSpec {
  return { collection, member, table, title, notFoundType: 'NotFound', notFoundMessage: (id) => `${title} ${id} could not be found.`, attributes };
}

const tlsVersions = (extra: Partial<AttributeSpec>): AttributeSpec => ({
  name: 'tls_versions', storage: 'json', type: 'json', post: true, put: true, convert: orNull(noDuplicates(listOf(oneOf(TLS_VERSIONS)), 'TLS version')), ...extra,
});
const alpnProtocols = (extra: Partial<AttributeSpec>): AttributeSpec => ({
  name: 'alpn_protocols', storage: 'json', type: 'json', post: true, put: true, convert: orNull(noDuplicates(listOf(oneOf(ALPN_PROTOCOLS)), 'ALPN protocol')), ...extra,
});

export const loadBalancerSpec: ResourceSpec = lbSpec('loadbalancers', 'loadbalancer', 'load_balancers', 'Load Balancer', [
  id,
  name,
  description,
  status('provisioning_status'),
  status('operating_status'),
  adminStateUp,
  text('project_id', { post: true, convert: string(255) }),
  ...timestamps,
  text('vip_address', { post: true, optional: true, convert: ipAddress }),
  text('vip_port_id', { post: true, optional: true, convert: uuid }),
  text('vip_subnet_id', { post: true, optional: true, convert: uuid }),
  text('vip_network_id', { post: true, optional: true, convert: uuid }),
  text('vip_qos_policy_id', { post: true, put: true, optional: true, convert: uuidOrNull }),
  ids('listeners'),
  ids('pools'),
  text('provider', { post: true, optional: true, convert: string(64) }),
  text('flavor_id', { post: true, optional: true, convert: uuidOrNull }),
  text('availability_zone', { post: true, optional: true, convert: stringOrNull(255) }),
  tags,
]);

export const listenerSpec: ResourceSpec = lbSpec('listeners', 'listener', 'lb_listeners', 'Listener', [
  ...namedChild,
  text('protocol', { post: true, convert: oneOf(LISTENER_PROTOCOLS) }),
  { name: 'protocol_port', storage: 'column', type: 'integer', post: true, convert: port, filter: true, sort: true },
  { name: 'connection_limit', storage: 'column', type: 'integer', post: true, put: true, default: -1, convert: inRange(-1, 1_000_000), filter: true, sort: true },
  text('default_tls_container_ref', { post: true, put: true, default: null, convert: orNull(containerRef) }),
  { name: 'sni_container_refs', storage: 'json', type: 'json', post: true, put: true, default: [], convert: noDuplicates(listOf(containerRef), 'container reference') },
  text('default_pool_id', { post: true, put: true, default: null, convert: uuidOrNull }),
  ids('l7policies'),
  { name: 'insert_headers', storage: 'json', type: 'json', post: true, put: true, default: {}, convert: insertHeaders },
  ids('loadbalancers'),
  ...timestamps,
  { name: 'timeout_client_data', storage: 'column', type: 'integer', post: true, put: true, default: LISTENER_DEFAULTS.timeoutClientData, convert: inRange(0, 31_536_000_000), filter: true, sort: true },
  { name: 'timeout_member_connect', storage: 'column', type: 'integer', post: true, put: true, default: LISTENER_DEFAULTS.timeoutMemberConnect, convert: inRange(0, 31_536_000_000), filter: true, sort: true },
  { name: 'timeout_member_data', storage: 'column', type: 'integer', post: true, put: true, default: LISTENER_DEFAULTS.timeoutMemberData, convert: inRange(0, 31_536_000_000), filter: true, sort: true },
  { name: 'timeout_tcp_inspect', storage: 'column', type: 'integer', post: true, put: true, default: LISTENER_DEFAULTS.timeoutTcpInspect, convert: inRange(0, 31_536_000_000), filter: true, sort: true },
  tags,
  text('client_ca_tls_container_ref', { post: true, put: true, default: null, convert: orNull(containerRef) }),
  text('client_authentication', { post: true, put: true, default: 'NONE', convert: oneOf(['NONE', 'OPTIONAL', 'MANDATORY']) }),
  text('client_crl_container_ref', { post: true, put: true, default: null, convert: orNull(containerRef) }),
  { name: 'allowed_cidrs', storage: 'json', type: 'json', post: true, put: true, default: [], convert: (v) => (v === null ? [] : noDuplicates(listOf(ipOrPrefix), 'CIDR')(v)) },
  text('tls_ciphers', { post: true, put: true, optional: true, convert: tlsCiphers }),
  tlsVersions({ optional: true }),
  alpnProtocols({ optional: true }),
  { name: 'loadbalancer_id', storage: 'derived', type: 'string', post: true, convert: uuid },
]);

export const poolSpec: ResourceSpec = lbSpec('pools', 'pool', 'lb_pools', 'Pool', [
  ...namedChild,
  text('protocol', { post: true, convert: oneOf(POOL_PROTOCOLS) }),
  text('lb_algorithm', { post: true, put: true, convert: oneOf(API_LB_ALGORITHMS) }),
  { name: 'session_persistence', storage: 'json', type: 'json', post: true, put: true, default: null, convert: sessionPersistence },
  ids('loadbalancers'),
  ids('listeners'),
  ids('members'),
  { name: 'healthmonitor_id', storage: 'derived', type: 'string', filter: false },
  ...timestamps,
  tags,
  { name: 'tls_enabled', storage: 'column', type: 'boolean', post: true, put: true, default: false, convert: boolean, filter: true },
  text('tls_container_ref', { post: true, put: true, default: null, convert: orNull(containerRef) }),
  text('ca_tls_container_ref', { post: true, put: true, default: null, convert: orNull(containerRef) }),
  text('crl_container_ref', { post: true, put: true, default: null, convert: orNull(containerRef) }),
  text('tls_ciphers', { post: true, put: true, default: null, convert: tlsCiphers }),
  tlsVersions({ default: null }),
  alpnProtocols({ default: null }),
  { name: 'loadbalancer_id', storage: 'derived', type: 'string', post: true, optional: true, convert: uuid },
  { name: 'listener_id', storage: 'derived', type: 'string', post: true, optional: true, convert: uuid },
]);

export const memberSpec: ResourceSpec = lbSpec('members', 'member', 'lb_members', 'Member', [
  id,
  name,
  status('operating_status'),
  status('provisioning_status'),
  adminStateUp,
  text('address', { post: true, convert: ipAddressAsGiven }),
  { name: 'protocol_port', storage: 'column', type: 'integer', post: true, convert: port, filter: true, sort: true },
  { name: 'weight', storage: 'column', type: 'integer', post: true, put: true, default: 1, convert: inRange(0, 256), filter: true, sort: true },
  { name: 'backup', storage: 'column', type: 'boolean', post: true, put: true, default: false, convert: boolean, filter: true, sort: true },
  text('subnet_id', { post: true, default: null, convert: uuidOrNull }),
  childProject,
  ...timestamps,
  text('monitor_address', { post: true, put: true, default: null, convert: orNull(ipAddressAsGiven) }),
  { name: 'monitor_port', storage: 'column', type: 'integer', post: true, put: true, default: null, convert: orNull(port), filter: true, sort: true },
  tags,
]);

export const healthMonitorSpec: ResourceSpec = lbSpec('healthmonitors', 'healthmonitor', 'lb_health_monitors', 'Health Monitor', [
  id,
  name,
  childProject,
  text('type', { post: true, convert: oneOf(MONITOR_TYPES) }),
  { name: 'delay', storage: 'column', type: 'integer', post: true, put: true, convert: inRange(0, 2_147_483_647), filter: true, sort: true },
  { name: 'timeout', storage: 'column', type: 'integer', post: true, put: true, convert: inRange(0, 2_147_483_647), filter: true, sort: true },
  { name: 'max_retries', storage: 'column', type: 'integer', post: true, put: true, convert: inRange(1, 10), filter: true, sort: true },
  { name: 'max_retries_down', storage: 'column', type: 'integer', post: true, put: true, default: 3, convert: inRange(1, 10), filter: true, sort: true },
  text('http_method', { post: true, put: true, optional: true, convert: orNull(oneOf(HTTP_METHODS)) }),
  text('url_path', { post: true, put: true, optional: true, convert: orNull(urlPath) }),
  text('expected_codes', { post: true, put: true, optional: true, convert: orNull(expectedCodes) }),
  adminStateUp,
  ids('pools'),
  status('provisioning_status'),
  status('operating_status'),
  ...timestamps,
  tags,
  { name: 'http_version', storage: 'column', type: 'integer', post: true, put: true, optional: true, convert: httpVersion },
  text('domain_name', { post: true, put: true, default: null, convert: orNull(domainName) }),
  { name: 'pool_id', storage: 'column', type: 'string', post: true, convert: uuid },
]);

export const l7PolicySpec: ResourceSpec = lbSpec('l7policies', 'l7policy', 'lb_l7policies', 'L7 Policy', [
  ...namedChild,
  text('action', { post: true, put: true, convert: oneOf(L7_ACTIONS) }),
  text('listener_id', { post: true, convert: uuid }),
  text('redirect_pool_id', { post: true, put: true, default: null, convert: uuidOrNull }),
  text('redirect_url', { post: true, put: true, default: null, convert: orNull(url) }),
  text('redirect_prefix', { post: true, put: true, default: null, convert: orNull(url) }),
  { name: 'redirect_http_code', storage: 'column', type: 'integer', post: true, put: true, optional: true, convert: orNull(oneOf(REDIRECT_HTTP_CODES)), filter: true, sort: true },
  { name: 'position', storage: 'column', type: 'integer', post: true, put: true, optional: true, convert: inRange(1, 2_147_483_647), filter: true, sort: true },
  ids('rules'),
  ...timestamps,
  tags,
]);

export const l7RuleSpec: ResourceSpec = lbSpec('rules', 'rule', 'lb_l7rules', 'L7 Rule', [
  id,
  text('type', { post: true, put: true, convert: oneOf(L7_RULE_TYPES) }),
  text('compare_type', { post: true, put: true, convert: oneOf(L7_COMPARE_TYPES) }),
  text('key', { post: true, put: true, default: null, convert: stringOrNull(255) }),
  text('value', { post: true, put: true, convert: string(255) }),
  { name: 'invert', storage: 'column', type: 'boolean', post: true, put: true, default: false, convert: boolean, filter: true, sort: true },
  status('provisioning_status'),
  status('operating_status'),
  ...timestamps,
  childProject,
  adminStateUp,
  tags,
]);

/** Octavia's amphora record as the admin API shows it (cloudnet's own columns stay in the control plane). */
export const amphoraSpec: ResourceSpec = lbSpec('amphorae', 'amphora', 'amphorae', 'Amphora', [
  id,
  text('loadbalancer_id'),
  text('compute_id'),
  text('lb_network_ip'),
  text('vrrp_ip'),
  text('ha_ip'),
  text('vrrp_port_id'),
  text('ha_port_id'),
  text('cert_expiration'),
  { name: 'cert_busy', storage: 'column', type: 'boolean', filter: true },
  text('role'),
  text('status'),
  text('vrrp_interface'),
  { name: 'vrrp_id', storage: 'column', type: 'integer', filter: true, sort: true },
  { name: 'vrrp_priority', storage: 'column', type: 'integer', filter: true, sort: true },
  text('cached_zone'),
  ...timestamps,
  text('image_id'),
  text('compute_flavor'),
]);

export const flavorProfileSpec: ResourceSpec = lbSpec('flavorprofiles', 'flavorprofile', 'lb_flavor_profiles', 'Flavor profile', [
  id,
  text('name', { post: true, put: true, convert: string(255) }),
  text('provider_name', { post: true, put: true, convert: string(255) }),
  text('flavor_data', { post: true, put: true, convert: string(4096) }),
]);

export const flavorSpec: ResourceSpec = lbSpec('flavors', 'flavor', 'lb_flavors', 'Flavor', [
  id,
  text('name', { post: true, put: true, convert: string(255) }),
  text('description', { post: true, put: true, default: '', convert: orNull(string(255)) }),
  { name: 'enabled', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean, filter: true, sort: true },
  text('flavor_profile_id', { post: true, convert: uuid }),
]);

export const availabilityZoneProfileSpec: ResourceSpec = lbSpec('availability_zone_profiles', 'availability_zone_profile', 'lb_availability_zone_profiles', 'Availability Zone Profile', [
  id,
  text('name', { post: true, put: true, convert: string(255) }),
  text('provider_name', { post: true, put: true, convert: string(255) }),
  text('availability_zone_data', { post: true, put: true, convert: string(4096) }),
]);

/** Known by name: the row's hidden `id` is the name (see REQUEST_ONLY), so lookups by id are lookups by name. */
export const availabilityZoneSpec: ResourceSpec = lbSpec('availability_zones', 'availability_zone', 'lb_availability_zones', 'Availability Zone', [
  id,
  text('name', { post: true, convert: string(255) }),
  text('description', { post: true, put: true, default: '', convert: orNull(string(255)) }),
  { name: 'enabled', storage: 'column', type: 'boolean', post: true, put: true, default: true, convert: boolean, filter: true, sort: true },
  text('availability_zone_profile_id', { post: true, convert: uuid }),
]);

/** The change-log resource name of each object kind (what the provisioning controller follows). */
export const CHANGE_RESOURCE = new Map<ResourceSpec, string>([
  [loadBalancerSpec, 'loadbalancer'],
  [listenerSpec, 'listener'],
  [poolSpec, 'pool'],
  [memberSpec, 'member'],
  [healthMonitorSpec, 'healthmonitor'],
  [l7PolicySpec, 'l7policy'],
  [l7RuleSpec, 'l7rule'],
  [amphoraSpec, 'amphora'],
  [flavorSpec, 'flavor'],
  [flavorProfileSpec, 'flavorprofile'],
  [availabilityZoneProfileSpec, 'availabilityzoneprofile'],
  [availabilityZoneSpec, 'availabilityzone'],
]);

/** Child kinds of a balancer, in the order their rows must be deleted (dependents first). */
export const CHILD_SPECS: readonly ResourceSpec[] = [l7RuleSpec, l7PolicySpec, healthMonitorSpec, memberSpec, listenerSpec, poolSpec];

/** Attributes that are not part of the object on the wire: what a create names as where it goes, internal keys. */
export const REQUEST_ONLY = new Map<ResourceSpec, string[]>([
  [listenerSpec, ['loadbalancer_id']],
  [poolSpec, ['loadbalancer_id', 'listener_id']],
  [healthMonitorSpec, ['pool_id']],
  [availabilityZoneSpec, ['id']],
]);
