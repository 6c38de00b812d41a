/**
 * The balancer tree as one amphora needs it: the input contract of the amphora's renderers. Modelled on
 * Octavia v2's objects (same names in camelCase, same units, same enumerations); only what the data plane
 * uses is here, so API-only fields (names, descriptions, statuses, project) stay in the control plane.
 *
 * Every id is a token the renderers put into config files as a name (frontends, backends, servers, ACLs),
 * so ids must match `[A-Za-z0-9_.:-]+` (UUIDs do); the renderers throw on anything else.
 */

export type ListenerProtocol = 'TCP' | 'HTTP' | 'HTTPS' | 'TERMINATED_HTTPS' | 'UDP';
export type PoolProtocol = 'TCP' | 'HTTP' | 'HTTPS' | 'PROXY' | 'PROXYV2' | 'UDP';
export type LbAlgorithm = 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'SOURCE_IP';
export type HealthMonitorType = 'TCP' | 'HTTP' | 'HTTPS' | 'TLS-HELLO' | 'PING' | 'UDP-CONNECT';
export type InsertHeader = 'X-Forwarded-For' | 'X-Forwarded-Port' | 'X-Forwarded-Proto' | ClientCertificateHeader;
/** Headers about the client's certificate, which only a TERMINATED_HTTPS listener knows. */
export type ClientCertificateHeader =
  | 'X-SSL-Client-Verify'
  | 'X-SSL-Client-Has-Cert'
  | 'X-SSL-Client-DN'
  | 'X-SSL-Client-CN'
  | 'X-SSL-Issuer'
  | 'X-SSL-Client-SHA1'
  | 'X-SSL-Client-Not-Before'
  | 'X-SSL-Client-Not-After';
export type ClientAuthentication = 'NONE' | 'OPTIONAL' | 'MANDATORY';
export type TlsVersion = 'SSLv3' | 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
export type AlpnProtocol = 'h2' | 'http/1.1' | 'http/1.0';

export interface LoadBalancer {
  id: string;
  /** The VIP every listener binds to (IPv4 or IPv6). */
  vipAddress: string;
  listeners: Listener[];
  /** Every pool of the balancer; listeners and L7 policies refer to them by id. */
  pools: Pool[];
}

export interface Listener {
  id: string;
  protocol: ListenerProtocol;
  protocolPort: number;
  adminStateUp: boolean;
  /** Maximum concurrent connections; -1 is unlimited (Octavia's default). */
  connectionLimit: number;
  /** Octavia's four timeouts, in milliseconds (Octavia's defaults: 50000, 5000, 50000, 0). */
  timeoutClientData: number;
  timeoutMemberConnect: number;
  timeoutMemberData: number;
  /** 0 disables content inspection delay. */
  timeoutTcpInspect: number;
  /** Headers to insert (Octavia's `insert_headers` entries whose value is "true"); HTTP-mode listeners only. */
  insertHeaders: InsertHeader[];
  /** Source CIDRs allowed to connect; empty allows everyone (Octavia's default). */
  allowedCidrs: string[];
  /** Required for TERMINATED_HTTPS and forbidden for every other protocol. */
  tls: ListenerTls | null;
  defaultPoolId: string | null;
  l7Policies: L7Policy[];
}

/**
 * TLS termination. Certificates are files the amphora agent writes before rendering: each a PEM bundle of the
 * certificate, its intermediates and its private key (what HAProxy's `crt` loads). The default certificate
 * answers clients without SNI or with an SNI no other certificate matches; SNI certificates are chosen by the
 * names in their subject and subject alternative names.
 */
export interface ListenerTls {
  defaultCertificatePath: string;
  sniCertificatePaths: string[];
  /** Octavia's `alpn_protocols`, in preference order. Empty negotiates no ALPN. */
  alpnProtocols: AlpnProtocol[];
  /** Octavia's `tls_versions`; versions not listed are disabled. */
  tlsVersions: TlsVersion[];
  /** OpenSSL cipher string for TLS 1.2 and below (Octavia's `tls_ciphers`); null keeps OpenSSL's default. */
  tlsCiphers: string | null;
  /** Whether clients are asked for a certificate verified against `clientCaPath`; anything but NONE needs it. */
  clientAuthentication: ClientAuthentication;
  /** PEM file of the CAs client certificates must chain to (Octavia's `client_ca_tls_container_ref`). */
  clientCaPath: string | null;
  /** PEM file of revoked client certificates (Octavia's `client_crl_container_ref`); needs `clientCaPath`. */
  clientCrlPath: string | null;
}

export interface L7PolicyBase {
  id: string;
  /** 1-based; evaluated within an action class in position order (see haproxy-config.ts). */
  position: number;
  adminStateUp: boolean;
  /** ANDed: the policy matches when all its enabled rules match. A policy with no enabled rule never matches. */
  rules: L7Rule[];
}
export type L7Policy = L7PolicyBase &
  (
    | { action: 'REJECT' }
    | { action: 'REDIRECT_TO_URL'; redirectUrl: string; redirectHttpCode: RedirectHttpCode }
    | { action: 'REDIRECT_PREFIX'; redirectPrefix: string; redirectHttpCode: RedirectHttpCode }
    | { action: 'REDIRECT_TO_POOL'; redirectPoolId: string }
  );
export type RedirectHttpCode = 301 | 302 | 303 | 307 | 308;

export type L7RuleType = 'HOST_NAME' | 'PATH' | 'FILE_TYPE' | 'HEADER' | 'COOKIE' | 'SSL_CONN_HAS_CERT' | 'SSL_VERIFY_RESULT' | 'SSL_DN_FIELD';
export type L7CompareType = 'EQUAL_TO' | 'STARTS_WITH' | 'ENDS_WITH' | 'CONTAINS' | 'REGEX';

export interface L7Rule {
  id: string;
  type: L7RuleType;
  compareType: L7CompareType;
  /** Header name (HEADER), cookie name (COOKIE) or DN field (SSL_DN_FIELD); null for the other types. */
  key: string | null;
  value: string;
  invert: boolean;
  adminStateUp: boolean;
}

export type SessionPersistence =
  /** `granularity`: the netmask a UDP pool's client addresses are grouped by (Octavia's `persistence_granularity`). */
  | { type: 'SOURCE_IP'; granularity?: string }
  | { type: 'HTTP_COOKIE' }
  | { type: 'APP_COOKIE'; cookieName: string };

export interface Pool {
  id: string;
  protocol: PoolProtocol;
  lbAlgorithm: LbAlgorithm;
  adminStateUp: boolean;
  sessionPersistence: SessionPersistence | null;
  healthMonitor: HealthMonitor | null;
  members: Member[];
  /** Re-encryption to the members (Octavia's `tls_enabled`); null speaks plain TCP or HTTP to them. */
  tls: PoolTls | null;
}

/** TLS from HAProxy to the members. Paths are files the agent writes, as for listener certificates. */
export interface PoolTls {
  /** PEM bundle (certificate, intermediates, key) HAProxy presents to members that ask (`tls_container_ref`). */
  clientCertificatePath: string | null;
  /** PEM CAs the members' certificates must chain to (`ca_tls_container_ref`); null does not verify them. */
  caPath: string | null;
  /** PEM revocation list checked with `caPath` (`crl_container_ref`). */
  crlPath: string | null;
  tlsVersions: TlsVersion[];
  tlsCiphers: string | null;
  /** Offered to members in preference order; empty offers no ALPN. */
  alpnProtocols: AlpnProtocol[];
}

export interface Member {
  id: string;
  address: string;
  protocolPort: number;
  /** 0..256; 0 drains the member (no new connections, existing ones finish). */
  weight: number;
  backup: boolean;
  adminStateUp: boolean;
  /** Where health checks go instead of address:protocolPort; null keeps the member's own. */
  monitorAddress: string | null;
  monitorPort: number | null;
}

export interface HealthMonitor {
  id: string;
  type: HealthMonitorType;
  adminStateUp: boolean;
  /** Seconds between checks. */
  delay: number;
  /** Seconds a check may take. */
  timeout: number;
  /** Successes that bring a member up. */
  maxRetries: number;
  /** Failures that take a member down. */
  maxRetriesDown: number;
  /** HTTP and HTTPS monitors only; null renders Octavia's defaults (GET, "/", "200"). */
  httpMethod: 'CONNECT' | 'DELETE' | 'GET' | 'HEAD' | 'OPTIONS' | 'PATCH' | 'POST' | 'PUT' | 'TRACE' | null;
  urlPath: string | null;
  /** A code, a range or a comma list of both: "200", "200-204", "200,202". */
  expectedCodes: string | null;
  /** 1.0 or 1.1; 1.1 sends `domainName` as Host. */
  httpVersion: 1.0 | 1.1 | null;
  domainName: string | null;
}
