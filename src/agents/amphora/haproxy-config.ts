import {
  AmphoraConfigError,
  absolutePath,
  cidr,
  integerIn,
  ipAddress,
  port,
  singleQuoted,
  token,
  word,
} from './config-tokens.js';
import { listenerMode, MONITOR_TYPES_BY_POOL, POOL_PROTOCOLS_BY_LISTENER } from './protocols.js';
import type { ClientAuthentication, ClientCertificateHeader, HealthMonitor, L7Policy, L7Rule, Listener, LoadBalancer, Member, Pool, TlsVersion } from './types.js';

/**
 * haproxy.cfg for one amphora (HAProxy 2.6), a pure function of the balancer tree.
 *
 * Layout: one `frontend <listener id>` per listener bound to VIP:port, and one `backend <pool id>:<listener id>`
 * per pool a listener uses (default pool and REDIRECT_TO_POOL targets), as Octavia does: a backend's mode must
 * match its frontend's, and the listener's member timeouts and headers belong to it. Servers are named by
 * member id, so the agent can change a member without a reload through the runtime API on every backend of
 * its pool (`set server <backendName(pool, listener)>/<member id> weight N`, `disable server …`).
 *
 * UDP listeners and their pools are left out: HAProxy 2.6 proxies no UDP, so the amphora serves them with
 * nftables (udp-nftables.ts), as Octavia's amphora serves them with LVS.
 *
 * Output is deterministic: listeners by port then id, backends by pool id, servers by member id, L7 policies in
 * Octavia's evaluation order, so the same tree always renders the same bytes and an unchanged tree never
 * causes a reload.
 */

export interface HaproxyRenderOptions {
  /** Runtime API socket (`level admin`, `expose-fd listeners` for seamless reloads). */
  statsSocketPath: string;
  /** Where the agent saves `show servers state` before a reload, so check state survives it. */
  serverStateFilePath: string;
  /** Process-wide connection ceiling. */
  maxconn: number;
  /**
   * Executable run by PING health monitors (HAProxy has no ICMP check: `external-check` runs it with the
   * member's address in argument 3). Null refuses PING monitors.
   */
  pingCheckCommand: string | null;
  /**
   * The two amphorae of an ACTIVE_STANDBY pair, so that stick tables are pushed to the other one and survive a
   * failover (and, through the local peer, a reload); null for a SINGLE amphora, whose tables only outlive reloads.
   */
  peers: HaproxyPeers | null;
}

export interface HaproxyPeers {
  /** This amphora's own entry among `peers`. */
  localPeer: string;
  /** Every amphora of the pair, this one included: its name (the amphora id) and its VRRP port's address. */
  peers: { name: string; address: string }[];
  port: number;
}

/** Octavia's name for the balancer's peers section: its id without dashes. */
export function peersSectionName(lb: LoadBalancer): string {
  return `${lb.id.replace(/-/g, '')}_peers`;
}

export function backendName(poolId: string, listenerId: string): string {
  return `${poolId}:${listenerId}`;
}

export function renderHaproxyConfig(lb: LoadBalancer, options: HaproxyRenderOptions): string {
  const vip = ipAddress('load balancer VIP', lb.vipAddress);
  const pools = new Map<string, Pool>();
  for (const pool of lb.pools) {
    token('pool id', pool.id);
    if (pools.has(pool.id)) throw new AmphoraConfigError(`pool ${pool.id} appears twice`);
    pools.set(pool.id, pool);
  }
  const listeners = haproxyListeners(lb);
  const ports = new Set<number>();
  for (const listener of listeners) {
    token('listener id', listener.id);
    port(`listener ${listener.id} protocol_port`, listener.protocolPort);
    if (ports.has(listener.protocolPort)) throw new AmphoraConfigError(`listener ${listener.id}: port ${listener.protocolPort} is already used by another listener`);
    ports.add(listener.protocolPort);
  }

  const usesPing = lb.pools.some((p) => p.healthMonitor?.adminStateUp && p.healthMonitor.type === 'PING');
  const peers = options.peers ? renderPeers(lb, options.peers) : null;
  const sections = [renderGlobal(options, usesPing), renderDefaults()];
  if (peers) sections.push(peers);
  for (const listener of listeners) {
    const used = poolsUsedBy(listener, pools);
    sections.push(renderFrontend(listener, vip, pools));
    for (const pool of used) sections.push(renderBackend(listener, pool, options, peers ? peersSectionName(lb) : null));
  }
  return sections.join('\n');
}

/**
 * The backends `renderHaproxyConfig` gives a tree, in config order, each with the pool it serves: where the
 * runtime API changes for a pool's members go. Call it on a tree that renders.
 */
export function backendsOf(lb: LoadBalancer): { name: string; poolId: string }[] {
  const pools = new Map(lb.pools.map((p) => [p.id, p]));
  return haproxyListeners(lb).flatMap((l) => poolsUsedBy(l, pools).map((p) => ({ name: backendName(p.id, l.id), poolId: p.id })));
}

/** The listeners HAProxy serves (all but UDP), in config order. */
function haproxyListeners(lb: LoadBalancer): Listener[] {
  return lb.listeners.filter((l) => l.protocol !== 'UDP').sort(listenerOrder);
}

function listenerOrder(a: Listener, b: Listener): number {
  return a.protocolPort - b.protocolPort || compare(a.id, b.id);
}

function renderGlobal(options: HaproxyRenderOptions, usesPing: boolean): string {
  const lines = [
    `maxconn ${integerIn('maxconn', options.maxconn, 1, 10_000_000)}`,
    `stats socket ${absolutePath('stats socket path', options.statsSocketPath)} mode 600 level admin expose-fd listeners`,
    `server-state-file ${absolutePath('server state file path', options.serverStateFilePath)}`,
  ];
  // The local peer's name is how HAProxy finds itself among the peers (hand-over on reload, no connection to self).
  if (options.peers) lines.push(`localpeer ${token('local peer', options.peers.localPeer)}`);
  if (usesPing) {
    if (options.pingCheckCommand === null) throw new AmphoraConfigError('PING health monitors need options.pingCheckCommand');
    // External checks fork; HAProxy refuses to fork unless told it may.
    lines.push('external-check', 'insecure-fork-wanted');
  }
  return section('global', lines);
}

/**
 * The executable PING monitors run (`pingCheckCommand`): HAProxy's external check passes the member's address as
 * argument 3 and clears PATH, so ping is named by path; one echo, up when it is answered within a second (HAProxy
 * kills a check that outlives the monitor's timeout anyway).
 */
export function renderPingCheckScript(pingPath: string): string {
  return ['#!/bin/sh', `exec ${absolutePath('ping', word('ping', pingPath))} -q -n -c 1 -W 1 "$3" >/dev/null 2>&1`, ''].join('\n');
}

function renderDefaults(): string {
  return section('defaults', [
    // A connection whose server failed may go to another server rather than fail.
    'retries 3',
    'option redispatch',
    'load-server-state-from-file global',
  ]);
}

function renderPeers(lb: LoadBalancer, peers: HaproxyPeers): string {
  const names = new Set(peers.peers.map((p) => token('peer name', p.name)));
  if (names.size !== peers.peers.length) throw new AmphoraConfigError('peer names must be unique');
  if (!names.has(peers.localPeer)) throw new AmphoraConfigError(`the local peer ${peers.localPeer} is not among the peers`);
  const p = port('peer port', peers.port);
  const lines = [...peers.peers]
    .sort((a, b) => compare(a.name, b.name))
    .map((peer) => {
      const address = ipAddress(`peer ${peer.name} address`, peer.address);
      return `peer ${peer.name} ${hostPort(address.address, address.family, p)}`;
    });
  return section(`peers ${peersSectionName(lb)}`, lines);
}

/** Pools a listener routes to, each once, sorted by id; disabled pools get no traffic and no backend. */
function poolsUsedBy(listener: Listener, pools: Map<string, Pool>): Pool[] {
  const ids = new Set<string>();
  if (listener.defaultPoolId !== null) ids.add(listener.defaultPoolId);
  for (const policy of activePolicies(listener)) if (policy.action === 'REDIRECT_TO_POOL') ids.add(policy.redirectPoolId);
  const used: Pool[] = [];
  for (const id of [...ids].sort(compare)) {
    const pool = pools.get(id);
    if (!pool) throw new AmphoraConfigError(`listener ${listener.id} refers to pool ${id}, which is not in the tree`);
    if (!POOL_PROTOCOLS_BY_LISTENER[listener.protocol].includes(pool.protocol)) {
      throw new AmphoraConfigError(`listener ${listener.id} (${listener.protocol}) cannot use pool ${pool.id} (${pool.protocol})`);
    }
    if (pool.adminStateUp) used.push(pool);
  }
  return used;
}

function renderFrontend(listener: Listener, vip: { address: string; family: 4 | 6 }, pools: Map<string, Pool>): string {
  const mode = listenerMode(listener.protocol);
  const lines: string[] = [];
  // A disabled listener keeps its section (so enabling it is a one-word change) but binds nothing.
  if (!listener.adminStateUp) lines.push('disabled');
  lines.push(`mode ${mode}`, `bind ${hostPort(vip.address, vip.family, listener.protocolPort)}${renderTls(listener)}`);
  if (listener.connectionLimit !== -1) lines.push(`maxconn ${integerIn(`listener ${listener.id} connection_limit`, listener.connectionLimit, 1, 10_000_000)}`);
  lines.push(`timeout client ${milliseconds(listener, 'timeoutClientData', 1)}`);
  const inspect = milliseconds(listener, 'timeoutTcpInspect', 0);
  if (inspect !== '0ms') lines.push(`tcp-request inspect-delay ${inspect}`);
  if (listener.allowedCidrs.length > 0) {
    const sources = [...new Set(listener.allowedCidrs.map((c) => cidr(`listener ${listener.id} allowed_cidr`, c)))].sort(compare);
    lines.push(`tcp-request connection reject if !{ src ${sources.join(' ')} }`);
  }
  lines.push(...renderInsertHeaders(listener, mode));
  lines.push(...renderL7(listener, mode, pools));
  if (listener.defaultPoolId !== null && pools.get(listener.defaultPoolId)?.adminStateUp) {
    lines.push(`default_backend ${backendName(listener.defaultPoolId, listener.id)}`);
  }
  return section(`frontend ${listener.id}`, lines);
}

const TLS_VERSION_FLAGS: Readonly<Record<TlsVersion, string>> = {
  SSLv3: 'no-sslv3',
  TLSv1: 'no-tlsv10',
  'TLSv1.1': 'no-tlsv11',
  'TLSv1.2': 'no-tlsv12',
  'TLSv1.3': 'no-tlsv13',
};

/** The bind line's TLS options: the first `crt` is HAProxy's default certificate, later ones are picked by SNI. */
function renderTls(listener: Listener): string {
  const tls = listener.tls;
  if (listener.protocol !== 'TERMINATED_HTTPS') {
    if (tls !== null) throw new AmphoraConfigError(`listener ${listener.id}: TLS settings need protocol TERMINATED_HTTPS, not ${listener.protocol}`);
    return '';
  }
  if (tls === null) throw new AmphoraConfigError(`listener ${listener.id}: TERMINATED_HTTPS needs a default TLS certificate`);
  const certificates = [tls.defaultCertificatePath, ...tls.sniCertificatePaths].map((p) => `crt ${absolutePath(`listener ${listener.id} certificate`, p)}`);
  const parts = ['ssl', ...certificates];
  if (tls.alpnProtocols.length > 0) parts.push(`alpn ${tls.alpnProtocols.map((p) => word('ALPN protocol', p)).join(',')}`);
  if (tls.tlsVersions.length === 0) throw new AmphoraConfigError(`listener ${listener.id}: tls_versions is empty`);
  for (const [version, flag] of Object.entries(TLS_VERSION_FLAGS)) if (!tls.tlsVersions.includes(version as TlsVersion)) parts.push(flag);
  if (tls.tlsCiphers !== null) parts.push(`ciphers ${word(`listener ${listener.id} tls_ciphers`, tls.tlsCiphers)}`);
  if (tls.clientCaPath !== null) {
    parts.push(`ca-file ${absolutePath(`listener ${listener.id} client CA`, tls.clientCaPath)}`, `verify ${CLIENT_VERIFY[tls.clientAuthentication]}`);
    if (tls.clientCrlPath !== null) parts.push(`crl-file ${absolutePath(`listener ${listener.id} client CRL`, tls.clientCrlPath)}`);
  } else {
    if (tls.clientAuthentication !== 'NONE') throw new AmphoraConfigError(`listener ${listener.id}: client_authentication ${tls.clientAuthentication} needs a client CA`);
    if (tls.clientCrlPath !== null) throw new AmphoraConfigError(`listener ${listener.id}: a client CRL needs a client CA`);
  }
  return ` ${parts.join(' ')}`;
}

const CLIENT_VERIFY: Readonly<Record<ClientAuthentication, string>> = { NONE: 'none', OPTIONAL: 'optional', MANDATORY: 'required' };

/** Octavia's X-SSL-* headers (its sample expressions): what HAProxy verified of the client's certificate. */
const CLIENT_CERTIFICATE_HEADERS: Readonly<Record<ClientCertificateHeader, string>> = {
  'X-SSL-Client-Verify': '%{+Q}[ssl_c_verify]',
  'X-SSL-Client-Has-Cert': '%[ssl_c_used]',
  'X-SSL-Client-DN': '%{+Q}[ssl_c_s_dn]',
  'X-SSL-Client-CN': '%{+Q}[ssl_c_s_dn(cn)]',
  'X-SSL-Issuer': '%{+Q}[ssl_c_i_dn]',
  'X-SSL-Client-SHA1': '%{+Q}[ssl_c_sha1,hex]',
  'X-SSL-Client-Not-Before': '%{+Q}[ssl_c_notbefore]',
  'X-SSL-Client-Not-After': '%{+Q}[ssl_c_notafter]',
};

function renderInsertHeaders(listener: Listener, mode: 'http' | 'tcp'): string[] {
  if (listener.insertHeaders.length === 0) return [];
  if (mode !== 'http') throw new AmphoraConfigError(`listener ${listener.id}: insert_headers needs an HTTP or TERMINATED_HTTPS listener`);
  const lines: string[] = [];
  const wanted = new Set(listener.insertHeaders);
  if (wanted.has('X-Forwarded-For')) lines.push('option forwardfor');
  if (wanted.has('X-Forwarded-Port')) lines.push('http-request set-header X-Forwarded-Port %[dst_port]');
  if (wanted.has('X-Forwarded-Proto')) lines.push(`http-request set-header X-Forwarded-Proto ${listener.protocol === 'TERMINATED_HTTPS' ? 'https' : 'http'}`);
  for (const [header, value] of Object.entries(CLIENT_CERTIFICATE_HEADERS)) {
    if (!wanted.has(header as ClientCertificateHeader)) continue;
    if (listener.protocol !== 'TERMINATED_HTTPS') throw new AmphoraConfigError(`listener ${listener.id}: ${header} needs a TERMINATED_HTTPS listener`);
    lines.push(`http-request set-header ${header} ${value}`);
  }
  return lines;
}

/** Enabled policies with at least one enabled rule (an empty AND would match everything; Octavia never applies it). */
function activePolicies(listener: Listener): L7Policy[] {
  return listener.l7Policies.filter((p) => p.adminStateUp && p.rules.some((r) => r.adminStateUp));
}

/** Octavia's amphora order: every REJECT first, then redirects to URL or prefix, then pools; each by position. */
const ACTION_CLASS: Readonly<Record<L7Policy['action'], number>> = { REJECT: 0, REDIRECT_TO_URL: 1, REDIRECT_PREFIX: 1, REDIRECT_TO_POOL: 2 };

function renderL7(listener: Listener, mode: 'http' | 'tcp', pools: Map<string, Pool>): string[] {
  const policies = activePolicies(listener).sort(
    (a, b) => ACTION_CLASS[a.action] - ACTION_CLASS[b.action] || a.position - b.position || compare(a.id, b.id),
  );
  if (policies.length === 0) return [];
  if (mode !== 'http') throw new AmphoraConfigError(`listener ${listener.id}: L7 policies need an HTTP or TERMINATED_HTTPS listener`);
  const acls: string[] = [];
  const actions: string[] = [];
  for (const policy of policies) {
    token('L7 policy id', policy.id);
    const rules = policy.rules.filter((r) => r.adminStateUp).sort((a, b) => compare(a.id, b.id));
    acls.push(...rules.map((r) => `acl ${token('L7 rule id', r.id)} ${renderRuleMatch(listener, r)}`));
    const condition = `if ${rules.map((r) => (r.invert ? `!${r.id}` : r.id)).join(' ')}`;
    switch (policy.action) {
      case 'REJECT':
        actions.push(`http-request deny ${condition}`);
        break;
      case 'REDIRECT_TO_URL':
        actions.push(`http-request redirect location ${singleQuoted('redirect_url', policy.redirectUrl)} code ${redirectCode(policy.redirectHttpCode)} ${condition}`);
        break;
      case 'REDIRECT_PREFIX':
        actions.push(`http-request redirect prefix ${singleQuoted('redirect_prefix', policy.redirectPrefix)} code ${redirectCode(policy.redirectHttpCode)} ${condition}`);
        break;
      case 'REDIRECT_TO_POOL':
        // A disabled pool takes no traffic: the request falls through to later policies and the default pool.
        if (pools.get(policy.redirectPoolId)?.adminStateUp) actions.push(`use_backend ${backendName(policy.redirectPoolId, listener.id)} ${condition}`);
        break;
    }
  }
  return [...acls, ...actions];
}

function redirectCode(code: number): number {
  if (![301, 302, 303, 307, 308].includes(code)) throw new AmphoraConfigError(`redirect_http_code ${code} is not one of 301, 302, 303, 307, 308`);
  return code;
}

const MATCH: Readonly<Record<L7Rule['compareType'], string>> = {
  EQUAL_TO: '-m str',
  STARTS_WITH: '-m beg',
  ENDS_WITH: '-m end',
  CONTAINS: '-m sub',
  REGEX: '-m reg',
};

/** The ACL criterion of one L7 rule (without its name or inversion, which the policy's condition applies). */
function renderRuleMatch(listener: Listener, rule: L7Rule): string {
  const what = `L7 rule ${rule.id}`;
  const value = () => singleQuoted(`${what} value`, rule.value);
  const key = () => {
    if (rule.key === null) throw new AmphoraConfigError(`${what} (${rule.type}) needs a key`);
    return token(`${what} key`, rule.key);
  };
  if (rule.type.startsWith('SSL_') && listener.protocol !== 'TERMINATED_HTTPS') {
    throw new AmphoraConfigError(`${what}: ${rule.type} needs a TERMINATED_HTTPS listener`);
  }
  const equalOnly = () => {
    if (rule.compareType !== 'EQUAL_TO') throw new AmphoraConfigError(`${what}: ${rule.type} compares with EQUAL_TO only`);
  };
  switch (rule.type) {
    case 'HOST_NAME':
      return `req.hdr(host) -i ${MATCH[rule.compareType]} ${value()}`;
    case 'PATH':
      return `path ${MATCH[rule.compareType]} ${value()}`;
    case 'FILE_TYPE':
      // The value is the extension (or a regular expression for it), matched at the end of the path.
      if (rule.compareType === 'EQUAL_TO') return `path -m end ${singleQuoted(`${what} value`, `.${rule.value}`)}`;
      if (rule.compareType === 'REGEX') return `path -m reg ${singleQuoted(`${what} value`, `\\.(${rule.value})$`)}`;
      throw new AmphoraConfigError(`${what}: FILE_TYPE compares with EQUAL_TO or REGEX only`);
    case 'HEADER':
      return `req.hdr(${key()}) ${MATCH[rule.compareType]} ${value()}`;
    case 'COOKIE':
      return `req.cook(${key()}) ${MATCH[rule.compareType]} ${value()}`;
    case 'SSL_CONN_HAS_CERT':
      // Octavia accepts only the value "True" here: the rule matches when the client presented a certificate.
      equalOnly();
      if (rule.value.toLowerCase() !== 'true') throw new AmphoraConfigError(`${what}: SSL_CONN_HAS_CERT takes the value True`);
      return 'ssl_c_used';
    case 'SSL_VERIFY_RESULT':
      equalOnly();
      if (!/^\d+$/.test(rule.value)) throw new AmphoraConfigError(`${what}: SSL_VERIFY_RESULT takes an OpenSSL verify code`);
      return `ssl_c_verify eq ${rule.value}`;
    case 'SSL_DN_FIELD':
      return `ssl_c_s_dn(${key()}) ${MATCH[rule.compareType]} ${value()}`;
  }
}

function renderBackend(listener: Listener, pool: Pool, options: HaproxyRenderOptions, peers: string | null): string {
  const mode = listenerMode(listener.protocol);
  const lines = [
    `mode ${mode}`,
    `balance ${BALANCE[pool.lbAlgorithm]}`,
    `timeout connect ${milliseconds(listener, 'timeoutMemberConnect', 1)}`,
    `timeout server ${milliseconds(listener, 'timeoutMemberData', 1)}`,
  ];
  lines.push(...renderPersistence(pool, mode, peers));
  const monitor = pool.healthMonitor?.adminStateUp ? pool.healthMonitor : null;
  if (monitor) lines.push(...renderMonitor(pool, monitor, options));
  const members = [...pool.members].sort((a, b) => compare(a.id, b.id));
  const seen = new Set<string>();
  for (const member of members) {
    if (seen.has(member.id)) throw new AmphoraConfigError(`member ${member.id} appears twice in pool ${pool.id}`);
    seen.add(member.id);
    lines.push(renderServer(pool, member, monitor));
  }
  return section(`backend ${backendName(pool.id, listener.id)}`, lines);
}

const BALANCE: Readonly<Record<Pool['lbAlgorithm'], string>> = { ROUND_ROBIN: 'roundrobin', LEAST_CONNECTIONS: 'leastconn', SOURCE_IP: 'source' };

/** Stick tables size; Octavia's default `stick_size`. */
const STICK_TABLE_SIZE = '10k';

function renderPersistence(pool: Pool, mode: 'http' | 'tcp', peers: string | null): string[] {
  const persistence = pool.sessionPersistence;
  if (persistence === null) return [];
  const shared = peers === null ? '' : ` peers ${peers}`;
  if (persistence.type === 'SOURCE_IP') {
    // An ipv6 table also keys IPv4 clients (as mapped addresses), so one form serves either VIP family.
    return [`stick-table type ipv6 size ${STICK_TABLE_SIZE}${shared}`, 'stick on src'];
  }
  if (mode !== 'http') throw new AmphoraConfigError(`pool ${pool.id}: ${persistence.type} session persistence needs an HTTP-mode listener`);
  if (persistence.type === 'HTTP_COOKIE') return ['cookie SRV insert indirect nocache'];
  const cookie = token(`pool ${pool.id} cookie_name`, persistence.cookieName);
  return [`stick-table type string len 64 size ${STICK_TABLE_SIZE}${shared}`, `stick store-response res.cook(${cookie})`, `stick match req.cook(${cookie})`];
}

function renderMonitor(pool: Pool, monitor: HealthMonitor, options: HaproxyRenderOptions): string[] {
  if (!MONITOR_TYPES_BY_POOL[pool.protocol].includes(monitor.type)) {
    throw new AmphoraConfigError(`pool ${pool.id} (${pool.protocol}) cannot have a ${monitor.type} health monitor`);
  }
  const lines = [`timeout check ${integerIn(`health monitor ${monitor.id} timeout`, monitor.timeout, 1, 86_400)}s`];
  switch (monitor.type) {
    case 'HTTP':
    case 'HTTPS':
      lines.push('option httpchk', renderHttpCheckSend(monitor), `http-check expect status ${expectedCodes(monitor)}`);
      break;
    case 'TLS-HELLO':
      lines.push('option ssl-hello-chk');
      break;
    case 'PING':
      lines.push('option external-check', `external-check command ${absolutePath('ping check command', options.pingCheckCommand ?? '')}`);
      break;
    case 'TCP':
      break;
    case 'UDP-CONNECT':
      throw new AmphoraConfigError(`health monitor ${monitor.id}: UDP-CONNECT belongs to UDP pools, which HAProxy does not serve`);
  }
  return lines;
}

/** Octavia's defaults when the API left them out: GET / expecting 200. */
function renderHttpCheckSend(monitor: HealthMonitor): string {
  const parts = [`http-check send meth ${monitor.httpMethod ?? 'GET'}`, `uri ${word(`health monitor ${monitor.id} url_path`, monitor.urlPath ?? '/')}`];
  if (monitor.urlPath !== null && !monitor.urlPath.startsWith('/')) throw new AmphoraConfigError(`health monitor ${monitor.id}: url_path must start with /`);
  if (monitor.httpVersion !== null) parts.push(`ver HTTP/${monitor.httpVersion === 1.1 ? '1.1' : '1.0'}`);
  if (monitor.domainName !== null) {
    if (monitor.httpVersion !== 1.1) throw new AmphoraConfigError(`health monitor ${monitor.id}: domain_name needs http_version 1.1`);
    parts.push(`hdr Host ${word(`health monitor ${monitor.id} domain_name`, monitor.domainName)}`);
  }
  return parts.join(' ');
}

function expectedCodes(monitor: HealthMonitor): string {
  const codes = (monitor.expectedCodes ?? '200').replace(/\s+/g, '');
  if (!/^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(codes)) throw new AmphoraConfigError(`health monitor ${monitor.id}: expected_codes ${JSON.stringify(monitor.expectedCodes)} is not a code, range or list`);
  return codes;
}

function renderServer(pool: Pool, member: Member, monitor: HealthMonitor | null): string {
  const what = `member ${member.id}`;
  const address = ipAddress(`${what} address`, member.address);
  const parts = [
    `server ${token('member id', member.id)} ${hostPort(address.address, address.family, port(`${what} protocol_port`, member.protocolPort))}`,
    `weight ${integerIn(`${what} weight`, member.weight, 0, 256)}`,
  ];
  if (monitor) {
    parts.push(
      `check inter ${integerIn(`health monitor ${monitor.id} delay`, monitor.delay, 1, 86_400)}s`,
      `fall ${integerIn(`health monitor ${monitor.id} max_retries_down`, monitor.maxRetriesDown, 1, 10)}`,
      `rise ${integerIn(`health monitor ${monitor.id} max_retries`, monitor.maxRetries, 1, 10)}`,
    );
    if (member.monitorAddress !== null) parts.push(`addr ${ipAddress(`${what} monitor_address`, member.monitorAddress).address}`);
    if (member.monitorPort !== null) parts.push(`port ${port(`${what} monitor_port`, member.monitorPort)}`);
    // Members are checked over TLS without verifying them: they are the tenant's own backends. A re-encrypting
    // pool's `ssl` already checks over TLS, with the pool's own verification.
    if (monitor.type === 'HTTPS' && pool.tls === null) parts.push('check-ssl verify none');
  }
  if (pool.protocol === 'PROXY') parts.push('send-proxy');
  if (pool.protocol === 'PROXYV2') parts.push('send-proxy-v2');
  if (pool.sessionPersistence?.type === 'HTTP_COOKIE') parts.push(`cookie ${member.id}`);
  if (member.backup) parts.push('backup');
  if (!member.adminStateUp) parts.push('disabled');
  if (pool.tls) parts.push(...renderServerTls(pool));
  return parts.join(' ');
}

/** A re-encrypting pool's server options, as Octavia's amphora renders them: members verified only against a CA. */
function renderServerTls(pool: Pool): string[] {
  const tls = pool.tls!;
  const what = `pool ${pool.id}`;
  const parts = ['ssl'];
  if (tls.clientCertificatePath !== null) parts.push(`crt ${absolutePath(`${what} client certificate`, tls.clientCertificatePath)}`);
  if (tls.caPath !== null) {
    parts.push(`ca-file ${absolutePath(`${what} CA`, tls.caPath)}`);
    if (tls.crlPath !== null) parts.push(`crl-file ${absolutePath(`${what} CRL`, tls.crlPath)}`);
    parts.push('verify required');
  } else {
    if (tls.crlPath !== null) throw new AmphoraConfigError(`${what}: a CRL needs a CA`);
    parts.push('verify none');
  }
  if (tls.tlsCiphers !== null) parts.push(`ciphers ${word(`${what} tls_ciphers`, tls.tlsCiphers)}`);
  if (tls.tlsVersions.length === 0) throw new AmphoraConfigError(`${what}: tls_versions is empty`);
  for (const [version, flag] of Object.entries(TLS_VERSION_FLAGS)) if (!tls.tlsVersions.includes(version as TlsVersion)) parts.push(flag);
  if (tls.alpnProtocols.length > 0) parts.push(`alpn ${tls.alpnProtocols.map((p) => word('ALPN protocol', p)).join(',')}`);
  return parts;
}

function milliseconds(listener: Listener, field: 'timeoutClientData' | 'timeoutMemberConnect' | 'timeoutMemberData' | 'timeoutTcpInspect', min: number): string {
  // Octavia's ceiling for every listener timeout is 24 days (HAProxy's own limit is 2^31-1 ms).
  return `${integerIn(`listener ${listener.id} ${field}`, listener[field], min, 2_073_600_000)}ms`;
}

function hostPort(address: string, family: 4 | 6, p: number): string {
  return family === 6 ? `[${address}]:${p}` : `${address}:${p}`;
}

function section(header: string, lines: string[]): string {
  return `${header}\n${lines.map((l) => `    ${l}\n`).join('')}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
