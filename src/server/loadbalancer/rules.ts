import { ApiError } from '../../lib/errors.js';
import { parseCidr, parseIp } from '../../lib/ip.js';
import { MONITOR_TYPES_BY_POOL, POOL_PROTOCOLS_BY_LISTENER, listenerMode } from '../../agents/amphora/protocols.js';
import type { HealthMonitorType, ListenerProtocol, PoolProtocol } from '../../agents/amphora/types.js';
import type { WireObject } from '../network/attributes.js';
import { CLIENT_CERTIFICATE_HEADERS, LISTENER_DEFAULTS } from './schemas.js';

/**
 * Octavia's validation rules for listeners, pools and health monitors, as pure functions of the objects'
 * wire values (after defaults and conversion). Each refuses with Octavia's ValidationException (400).
 */

export function validationFailure(detail: string): ApiError {
  return new ApiError(400, 'ValidationException', `Validation failure: ${detail}`);
}

/**
 * Octavia's ProviderUnsupportedOptionError (501): a valid API request that the provider driver cannot carry out,
 * which octavia-tempest-plugin turns into a skip.
 */
export function unsupportedOption(detail: string): ApiError {
  return new ApiError(501, 'ProviderUnsupportedOptionError', `Provider 'amphora' does not support a requested option: ${detail}`);
}

/** What the amphora provider refuses of a pool that the API accepts. */
export function checkPoolSupported(pool: WireObject): void {
  if (pool.lb_algorithm === 'SOURCE_IP_PORT') throw unsupportedOption('Amphora provider does not support SOURCE_IP_PORT algorithm.');
}

const TLS_LISTENER_FIELDS = ['default_tls_container_ref', 'sni_container_refs', 'client_ca_tls_container_ref', 'client_crl_container_ref'];

/**
 * A listener's values, checked as a whole and completed: TLS settings only on TERMINATED_HTTPS (where a default
 * certificate is required and TLS versions and ALPN take Octavia's defaults), headers only where HTTP is parsed.
 */
export function checkListener(values: WireObject): WireObject {
  const protocol = values.protocol as ListenerProtocol;
  const out = { ...values };
  if (protocol === 'TERMINATED_HTTPS') {
    if (!values.default_tls_container_ref) {
      throw validationFailure('An SNI or default certificate container reference must be provided for TERMINATED_HTTPS listeners.');
    }
    out.tls_versions = (values.tls_versions as string[] | null | undefined) ?? [...LISTENER_DEFAULTS.tlsVersions];
    out.alpn_protocols = (values.alpn_protocols as string[] | null | undefined) ?? [...LISTENER_DEFAULTS.alpnProtocols];
    out.tls_ciphers = values.tls_ciphers ?? null;
    if ((out.tls_versions as string[]).length === 0) throw validationFailure('tls_versions must name at least one TLS version.');
    if (values.client_authentication && values.client_authentication !== 'NONE' && !values.client_ca_tls_container_ref) {
      throw validationFailure(`Client authentication setting ${String(values.client_authentication)} requires a client CA container reference.`);
    }
    if (values.client_crl_container_ref && !values.client_ca_tls_container_ref) {
      throw validationFailure('A client authentication CA reference is required to specify a client authentication revocation list.');
    }
  } else {
    for (const field of TLS_LISTENER_FIELDS) {
      const v = values[field];
      if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) {
        throw validationFailure(`Certificate container references are only allowed on TERMINATED_HTTPS protocol listeners (${field}).`);
      }
    }
    if (values.client_authentication !== undefined && values.client_authentication !== 'NONE') {
      throw validationFailure('client_authentication is only allowed on TERMINATED_HTTPS protocol listeners.');
    }
    for (const field of ['tls_versions', 'alpn_protocols', 'tls_ciphers']) {
      const v = values[field];
      if (v !== null && v !== undefined) throw validationFailure(`${field} is only allowed on TERMINATED_HTTPS protocol listeners.`);
    }
    out.tls_versions = null;
    out.alpn_protocols = null;
    out.tls_ciphers = null;
  }
  const headers = Object.keys((values.insert_headers as Record<string, string> | undefined) ?? {});
  if (headers.length && listenerMode(protocol) !== 'http') {
    throw validationFailure(`The following headers: ${headers.join(', ')} are not supported for listeners of protocol ${protocol}.`);
  }
  const certificateHeaders = headers.filter((h) => (CLIENT_CERTIFICATE_HEADERS as readonly string[]).includes(h));
  if (certificateHeaders.length && protocol !== 'TERMINATED_HTTPS') {
    throw validationFailure(`The following headers: ${certificateHeaders.join(', ')} are not supported for listeners of protocol ${protocol}.`);
  }
  return out;
}

/** Each of a listener's allowed CIDRs must be of its balancer's VIP's IP version (4 or 6). */
export function checkAllowedCidrs(vip: { address: string; version: 4 | 6 }, cidrs: readonly string[]): void {
  for (const cidr of cidrs) {
    if (parseCidr(cidr)?.version !== vip.version) throw validationFailure(`CIDR ${cidr} IP version incompatible with VIP ${vip.address} IP version.`);
  }
}

/** A UDP pool's persistence granularity is a netmask that the VIP's client addresses are masked with. */
export function checkPersistenceGranularity(vip: { address: string; version: 4 | 6 }, persistence: Record<string, unknown> | null): void {
  const granularity = persistence?.persistence_granularity;
  if (typeof granularity === 'string' && parseIp(granularity)?.version !== vip.version) {
    throw validationFailure(`persistence_granularity ${granularity} IP version incompatible with VIP ${vip.address} IP version.`);
  }
}

const POOL_TLS_FIELDS = ['tls_container_ref', 'ca_tls_container_ref', 'crl_container_ref', 'tls_versions', 'tls_ciphers', 'alpn_protocols'];

/**
 * A pool's re-encryption settings as a whole: HAProxy speaks TLS to TCP and HTTP members, not UDP ones, and a
 * revocation list is checked against a CA.
 */
export function checkPoolTls(values: WireObject): void {
  if (values.protocol === 'UDP') {
    const set = POOL_TLS_FIELDS.filter((f) => values[f] !== null && values[f] !== undefined);
    if (values.tls_enabled || set.length) throw validationFailure(`TLS is not supported for UDP pools (${['tls_enabled', ...set].join(', ')}).`);
  }
  if (values.crl_container_ref && !values.ca_tls_container_ref) {
    throw validationFailure('A CA reference is required to specify a certificate revocation list.');
  }
  if (Array.isArray(values.tls_versions) && values.tls_versions.length === 0) throw validationFailure('tls_versions must name at least one TLS version.');
}

/** A pool may serve a listener only in Octavia's protocol combinations, and cookie persistence needs HTTP. */
export function checkPoolOnListener(listenerProtocol: ListenerProtocol, pool: { protocol: PoolProtocol; session_persistence: unknown }): void {
  if (!POOL_PROTOCOLS_BY_LISTENER[listenerProtocol].includes(pool.protocol)) {
    throw validationFailure(`The pool protocol '${pool.protocol}' is invalid while the listener protocol is '${listenerProtocol}'.`);
  }
  const persistence = pool.session_persistence as { type: string } | null;
  if (persistence && persistence.type !== 'SOURCE_IP' && listenerMode(listenerProtocol) !== 'http') {
    throw validationFailure(`Session persistence of type ${persistence.type} needs an HTTP or TERMINATED_HTTPS listener, not ${listenerProtocol}.`);
  }
}

/** Persistence by the pool's own protocol: UDP pools stick by source only, and only they take a timeout or granularity. */
export function checkSessionPersistence(protocol: PoolProtocol, persistence: Record<string, unknown> | null): void {
  if (!persistence) return;
  if (protocol === 'UDP') {
    if (persistence.type !== 'SOURCE_IP') throw validationFailure(`Session persistence of type ${String(persistence.type)} is not supported for UDP pools.`);
    return;
  }
  if (persistence.persistence_timeout !== null || persistence.persistence_granularity !== null) {
    throw validationFailure('persistence_timeout and persistence_granularity are only valid for UDP pools.');
  }
}

const HTTP_MONITOR_FIELDS = ['http_method', 'url_path', 'expected_codes', 'http_version', 'domain_name'];

/** Octavia's default `udp_connect_min_interval_health_monitor`: a UDP-CONNECT check no more often than every 3 s. */
const UDP_CONNECT_MIN_DELAY = 3;

/** A health monitor's values by its type and its pool's protocol, completed with Octavia's HTTP defaults. */
export function checkHealthMonitor(poolProtocol: PoolProtocol, values: WireObject): WireObject {
  const type = values.type as HealthMonitorType;
  if (!MONITOR_TYPES_BY_POOL[poolProtocol].includes(type)) {
    throw validationFailure(`The associated pool protocol '${poolProtocol}' is not compatible with health monitor type '${type}'.`);
  }
  if (type === 'UDP-CONNECT' && (values.delay as number) < UDP_CONNECT_MIN_DELAY) {
    throw validationFailure(`The request delay value ${String(values.delay)} should be larger than ${UDP_CONNECT_MIN_DELAY} for UDP-CONNECT health monitor type.`);
  }
  const out = { ...values };
  if (type === 'HTTP' || type === 'HTTPS') {
    out.http_method = values.http_method ?? 'GET';
    out.url_path = values.url_path ?? '/';
    out.expected_codes = values.expected_codes ?? '200';
    out.http_version = values.http_version ?? null;
    out.domain_name = values.domain_name ?? null;
    if (out.domain_name !== null && out.http_version !== 1.1) {
      throw validationFailure('http_version 1.1 is required for a health monitor with a domain_name.');
    }
  } else {
    for (const field of HTTP_MONITOR_FIELDS) {
      if (values[field] !== null && values[field] !== undefined) {
        throw validationFailure(`${field} is not a valid option for health monitors of type ${type}`);
      }
      out[field] = null;
    }
  }
  return out;
}

/** TCP-based listeners share no port with each other, nor UDP ones with each other; TCP and UDP may share one. */
export function listenerPortConflicts(a: { protocol: string; protocol_port: number }, b: { protocol: string; protocol_port: number }): boolean {
  return a.protocol_port === b.protocol_port && (a.protocol === 'UDP') === (b.protocol === 'UDP');
}

/** L7 policies act on parsed HTTP, and each action needs its own target (Octavia's l7policy validation). */
export function checkL7Policy(listenerProtocol: ListenerProtocol, values: WireObject): WireObject {
  if (listenerMode(listenerProtocol) !== 'http') {
    throw validationFailure(`L7 policies are only supported on HTTP and TERMINATED_HTTPS listeners, not ${listenerProtocol}.`);
  }
  const out: WireObject = { ...values };
  const need = (field: string) => {
    if (!values[field]) throw validationFailure(`${field} is required for the ${String(values.action)} action.`);
  };
  switch (values.action) {
    case 'REDIRECT_TO_POOL':
      need('redirect_pool_id');
      Object.assign(out, { redirect_url: null, redirect_prefix: null, redirect_http_code: null });
      break;
    case 'REDIRECT_TO_URL':
      need('redirect_url');
      Object.assign(out, { redirect_pool_id: null, redirect_prefix: null, redirect_http_code: values.redirect_http_code ?? 302 });
      break;
    case 'REDIRECT_PREFIX':
      need('redirect_prefix');
      Object.assign(out, { redirect_pool_id: null, redirect_url: null, redirect_http_code: values.redirect_http_code ?? 302 });
      break;
    default:
      Object.assign(out, { redirect_pool_id: null, redirect_url: null, redirect_prefix: null, redirect_http_code: null });
  }
  return out;
}

const KEYED_RULES = ['HEADER', 'COOKIE', 'SSL_DN_FIELD'];
const DN_FIELDS = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'EMAILADDRESS', 'UID', 'DC', 'SN', 'GN', 'T', 'DNQUALIFIER', 'SERIALNUMBER'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An L7 rule by its type (Octavia's l7rule validation, and what the HAProxy renderer can express). */
export function checkL7Rule(listenerProtocol: ListenerProtocol, values: WireObject): WireObject {
  const type = values.type as string;
  const compare = values.compare_type as string;
  const value = values.value as string;
  const key = values.key as string | null;
  const out: WireObject = { ...values };
  if (KEYED_RULES.includes(type)) {
    if (!key) throw validationFailure(`A key is required for rule type ${type}.`);
    if (type === 'SSL_DN_FIELD' ? !DN_FIELDS.includes(key.toUpperCase()) : !TOKEN.test(key)) throw validationFailure(`'${key}' is not a valid key for rule type ${type}.`);
  } else {
    out.key = null;
  }
  if (type.startsWith('SSL_') && listenerProtocol !== 'TERMINATED_HTTPS') {
    throw validationFailure(`Rule type ${type} needs a TERMINATED_HTTPS listener.`);
  }
  // The renderer single-quotes values, where HAProxy knows no escape.
  if (value.includes("'")) throw validationFailure(`A rule value cannot contain a single quote: ${value}`);
  if (type === 'FILE_TYPE' && compare !== 'EQUAL_TO' && compare !== 'REGEX') throw validationFailure('FILE_TYPE rules compare with EQUAL_TO or REGEX only.');
  if ((type === 'SSL_CONN_HAS_CERT' || type === 'SSL_VERIFY_RESULT') && compare !== 'EQUAL_TO') throw validationFailure(`${type} rules compare with EQUAL_TO only.`);
  if (type === 'SSL_CONN_HAS_CERT' && value.toLowerCase() !== 'true') throw validationFailure('SSL_CONN_HAS_CERT takes the value True.');
  if (type === 'SSL_VERIFY_RESULT' && !/^\d+$/.test(value)) throw validationFailure('SSL_VERIFY_RESULT takes an OpenSSL verify result code.');
  if (type === 'HOST_NAME' && compare !== 'REGEX' && !/^[A-Za-z0-9*.-]+$/.test(value)) throw validationFailure(`'${value}' is not a valid host name.`);
  if (type === 'PATH' && compare !== 'REGEX' && !value.startsWith('/') && compare !== 'CONTAINS' && compare !== 'ENDS_WITH') {
    throw validationFailure(`'${value}' is not a valid path.`);
  }
  if (compare === 'REGEX') {
    try {
      new RegExp(value);
    } catch {
      throw validationFailure(`'${value}' is not a valid regular expression.`);
    }
  }
  return out;
}
