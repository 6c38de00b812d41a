import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AmphoraHealthReport } from '../../../../src/agents/amphora/target.js';
import { authoritativeReport, operatingStatuses } from '../../../../src/server/loadbalancer/lifecycle.js';
import { checkAllowedCidrs, checkHealthMonitor, checkListener, checkPersistenceGranularity, checkPoolOnListener, checkPoolSupported, checkPoolTls, checkSessionPersistence, listenerPortConflicts } from '../../../../src/server/loadbalancer/rules.js';
import { parseAvailabilityZoneData } from '../../../../src/server/loadbalancer/operations.js';
import { listConstants } from '../../../../src/server/loadbalancer/routes.js';
import { ApiError } from '../../../../src/lib/errors.js';

const REF = 'http://127.0.0.1:1/key-manager/v1/containers/0b9f1a7e-4a3c-4a8f-9d55-0c1e0d4a1b2c';
const SECRET = 'http://127.0.0.1:1/key-manager/v1/secrets/5a1e7c3d-2b4f-4c6a-8e9d-1f2a3b4c5d6e';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 400);
    return err.message;
  }
  assert.fail('expected a 400');
}

describe('listener/pool protocol combinations (Octavia api-ref)', () => {
  // Every pair of the two protocol lists, with whether Octavia accepts it (SCTP left out).
  const VALID: Record<string, string[]> = {
    HTTP: ['HTTP', 'PROXY', 'PROXYV2'],
    HTTPS: ['HTTPS', 'PROXY', 'PROXYV2', 'TCP'],
    TCP: ['HTTP', 'HTTPS', 'PROXY', 'PROXYV2', 'TCP'],
    TERMINATED_HTTPS: ['HTTP', 'PROXY', 'PROXYV2'],
    UDP: ['UDP'],
  };
  for (const listener of Object.keys(VALID)) {
    for (const pool of ['HTTP', 'HTTPS', 'PROXY', 'PROXYV2', 'TCP', 'UDP']) {
      const ok = VALID[listener].includes(pool);
      test(`${listener} listener with a ${pool} pool: ${ok ? 'valid' : 'refused'}`, () => {
        const check = () => checkPoolOnListener(listener as never, { protocol: pool as never, session_persistence: null });
        if (ok) check();
        else assert.match(refusal(check), new RegExp(`pool protocol '${pool}' is invalid while the listener protocol is '${listener}'`));
      });
    }
  }

  test('cookie persistence needs a listener whose traffic is parsed as HTTP', () => {
    checkPoolOnListener('HTTP', { protocol: 'HTTP', session_persistence: { type: 'HTTP_COOKIE' } });
    checkPoolOnListener('TCP', { protocol: 'HTTP', session_persistence: { type: 'SOURCE_IP' } });
    assert.match(refusal(() => checkPoolOnListener('TCP', { protocol: 'HTTP', session_persistence: { type: 'APP_COOKIE' } })), /needs an HTTP/);
  });

  test('session persistence by pool protocol', () => {
    const sp = (type: string, extra = {}) => ({ type, cookie_name: null, persistence_timeout: null, persistence_granularity: null, ...extra });
    checkSessionPersistence('UDP', sp('SOURCE_IP', { persistence_timeout: 60 }));
    assert.match(refusal(() => checkSessionPersistence('UDP', sp('HTTP_COOKIE'))), /not supported for UDP/);
    assert.match(refusal(() => checkSessionPersistence('TCP', sp('SOURCE_IP', { persistence_timeout: 60 }))), /only valid for UDP/);
    checkSessionPersistence('HTTP', null);
  });
});

describe('listener rules', () => {
  const base = { protocol: 'HTTP', insert_headers: {}, sni_container_refs: [], default_tls_container_ref: null, client_authentication: 'NONE', allowed_cidrs: [] };
  const cases: Array<[string, Record<string, unknown>, RegExp | null]> = [
    ['HTTP with X-Forwarded-For', { insert_headers: { 'X-Forwarded-For': 'True' } }, null],
    ['TCP with insert_headers', { protocol: 'TCP', insert_headers: { 'X-Forwarded-For': 'True' } }, /not supported for listeners of protocol TCP/],
    ['TERMINATED_HTTPS without a certificate', { protocol: 'TERMINATED_HTTPS' }, /must be provided for TERMINATED_HTTPS/],
    ['TERMINATED_HTTPS with a certificate', { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF }, null],
    ['HTTP with a certificate', { default_tls_container_ref: REF }, /only allowed on TERMINATED_HTTPS/],
    ['HTTPS (pass-through) with SNI refs', { protocol: 'HTTPS', sni_container_refs: [REF] }, /only allowed on TERMINATED_HTTPS/],
    ['TCP with tls_versions', { protocol: 'TCP', tls_versions: ['TLSv1.3'] }, /only allowed on TERMINATED_HTTPS/],
    ['HTTP with alpn_protocols', { alpn_protocols: ['h2'] }, /only allowed on TERMINATED_HTTPS/],
    ['TERMINATED_HTTPS with no TLS version', { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF, tls_versions: [] }, /at least one/],
    ['UDP with allowed_cidrs (the amphora filters them in nftables)', { protocol: 'UDP', allowed_cidrs: ['198.18.0.0/16'] }, null],
    ['MANDATORY client authentication with a client CA', { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF, client_authentication: 'MANDATORY', client_ca_tls_container_ref: SECRET, client_crl_container_ref: SECRET }, null],
    ['MANDATORY without a client CA', { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF, client_authentication: 'MANDATORY' }, /setting MANDATORY requires a client CA container reference/],
    ['OPTIONAL without a client CA', { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF, client_authentication: 'OPTIONAL' }, /setting OPTIONAL requires a client CA/],
    ['a client CRL without a client CA', { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF, client_crl_container_ref: SECRET }, /CA reference is required to specify a client authentication revocation list/],
    ['a client CA on HTTP', { client_ca_tls_container_ref: SECRET }, /only allowed on TERMINATED_HTTPS/],
    ['client_authentication on HTTP', { client_authentication: 'OPTIONAL' }, /client_authentication is only allowed on TERMINATED_HTTPS/],
    ['X-SSL-Client-CN on TERMINATED_HTTPS', { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF, insert_headers: { 'X-SSL-Client-CN': 'true', 'X-Forwarded-For': 'true' } }, null],
    ['X-SSL-Client-CN on HTTP', { insert_headers: { 'X-SSL-Client-CN': 'true', 'X-Forwarded-For': 'true' } }, /headers: X-SSL-Client-CN are not supported for listeners of protocol HTTP/],
  ];
  for (const [name, values, refused] of cases) {
    test(name, () => {
      const check = () => checkListener({ ...base, ...values });
      if (refused) assert.match(refusal(check), refused);
      else check();
    });
  }

  describe('pool TLS (re-encryption)', () => {
    const pool = { protocol: 'HTTP', tls_enabled: false, tls_container_ref: null, ca_tls_container_ref: null, crl_container_ref: null, tls_versions: null, tls_ciphers: null, alpn_protocols: null };
    const poolCases: Array<[string, Record<string, unknown>, RegExp | null]> = [
      ['HTTP pool with everything', { tls_enabled: true, tls_container_ref: SECRET, ca_tls_container_ref: SECRET, crl_container_ref: SECRET, tls_versions: ['TLSv1.3'], alpn_protocols: ['h2'] }, null],
      ['TCP pool', { protocol: 'TCP', tls_enabled: true }, null],
      ['PROXY pool', { protocol: 'PROXY', tls_enabled: true }, null],
      ['UDP pool with tls_enabled', { protocol: 'UDP', tls_enabled: true }, /TLS is not supported for UDP pools/],
      ['UDP pool with a CA', { protocol: 'UDP', ca_tls_container_ref: SECRET }, /TLS is not supported for UDP pools \(tls_enabled, ca_tls_container_ref\)/],
      ['a CRL without a CA', { tls_enabled: true, crl_container_ref: SECRET }, /CA reference is required to specify a certificate revocation list/],
      ['no TLS version', { tls_enabled: true, tls_versions: [] }, /at least one/],
    ];
    for (const [name, values, refused] of poolCases) {
      test(name, () => {
        const check = () => checkPoolTls({ ...pool, ...values });
        if (refused) assert.match(refusal(check), refused);
        else check();
      });
    }
  });

  test('TERMINATED_HTTPS takes Octavia defaults for TLS versions and ALPN; other protocols store none', () => {
    const tls = checkListener({ ...base, protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF });
    assert.deepEqual(tls.tls_versions, ['TLSv1.2', 'TLSv1.3']);
    assert.deepEqual(tls.alpn_protocols, ['h2', 'http/1.1', 'http/1.0']);
    const explicit = checkListener({ ...base, protocol: 'TERMINATED_HTTPS', default_tls_container_ref: REF, alpn_protocols: ['http/1.1'] });
    assert.deepEqual(explicit.alpn_protocols, ['http/1.1']);
    const plain = checkListener(base);
    assert.equal(plain.tls_versions, null);
    assert.equal(plain.alpn_protocols, null);
  });

  test('ports: TCP-based listeners share none, TCP and UDP may share one', () => {
    assert.equal(listenerPortConflicts({ protocol: 'HTTP', protocol_port: 80 }, { protocol: 'TCP', protocol_port: 80 }), true);
    assert.equal(listenerPortConflicts({ protocol: 'UDP', protocol_port: 53 }, { protocol: 'TCP', protocol_port: 53 }), false);
    assert.equal(listenerPortConflicts({ protocol: 'UDP', protocol_port: 53 }, { protocol: 'UDP', protocol_port: 53 }), true);
    assert.equal(listenerPortConflicts({ protocol: 'HTTP', protocol_port: 80 }, { protocol: 'HTTP', protocol_port: 81 }), false);
  });
});

describe('health monitor rules', () => {
  const hm = (type: string, extra: Record<string, unknown> = {}) => ({ type, delay: 5, timeout: 3, max_retries: 3, ...extra });
  const cases: Array<[string, string, Record<string, unknown>, RegExp | null]> = [
    ['HTTP on an HTTP pool', 'HTTP', hm('HTTP'), null],
    ['PING on a TCP pool', 'TCP', hm('PING'), null],
    ['TLS-HELLO on an HTTPS pool', 'HTTPS', hm('TLS-HELLO'), null],
    ['UDP-CONNECT on a UDP pool', 'UDP', hm('UDP-CONNECT'), null],
    ['UDP-CONNECT on a TCP pool', 'TCP', hm('UDP-CONNECT'), /not compatible/],
    // Octavia's udp_connect_min_interval_health_monitor (default 3); octavia-tempest-plugin uses delay 3 for them.
    ['UDP-CONNECT every 3 s', 'UDP', hm('UDP-CONNECT', { delay: 3 }), null],
    ['UDP-CONNECT every 2 s', 'UDP', hm('UDP-CONNECT', { delay: 2 }), /delay value 2 should be larger than 3/],
    ['TCP every second on a UDP pool', 'UDP', hm('TCP', { delay: 1 }), null],
    ['PING on a UDP pool', 'UDP', hm('PING'), /not compatible/],
    ['TCP with a url_path', 'TCP', hm('TCP', { url_path: '/health' }), /url_path is not a valid option/],
    ['domain_name without HTTP/1.1', 'HTTP', hm('HTTP', { domain_name: 'example.com' }), /http_version 1.1/],
    ['domain_name with HTTP/1.1', 'HTTP', hm('HTTP', { domain_name: 'example.com', http_version: 1.1 }), null],
    // Octavia accepts it, and octavia-tempest-plugin creates every monitor with delay 2 and timeout 3.
    ['timeout above delay', 'HTTP', hm('HTTP', { timeout: 9 }), null],
  ];
  for (const [name, pool, values, refused] of cases) {
    test(name, () => {
      const check = () => checkHealthMonitor(pool as never, values);
      if (refused) assert.match(refusal(check), refused);
      else check();
    });
  }

  test('HTTP monitors get Octavia defaults, others none', () => {
    const http = checkHealthMonitor('HTTP', hm('HTTP'));
    assert.deepEqual([http.http_method, http.url_path, http.expected_codes], ['GET', '/', '200']);
    const tcp = checkHealthMonitor('TCP', hm('TCP'));
    assert.deepEqual([tcp.http_method, tcp.url_path, tcp.expected_codes], [null, null, null]);
  });
});

describe('operating status from health reports', () => {
  const stats = { activeConnections: 0, totalConnections: 0, bytesIn: 0, bytesOut: 0, requestErrors: 0 };
  const report = (r: Partial<AmphoraHealthReport>): AmphoraHealthReport => ({
    appliedConfigRevision: 1,
    applyError: null,
    haproxy: 'RUNNING',
    vrrpState: 'MASTER',
    listeners: {},
    pools: {},
    ...r,
  });
  const tree = {
    listeners: [
      { id: 'l1', adminStateUp: true },
      { id: 'l2', adminStateUp: false },
    ],
    pools: [
      { id: 'p1', adminStateUp: true, monitored: true, members: [{ id: 'm1', adminStateUp: true }, { id: 'm2', adminStateUp: true }, { id: 'm3', adminStateUp: false }] },
      { id: 'p2', adminStateUp: true, monitored: false, members: [{ id: 'm4', adminStateUp: true }] },
    ],
  };

  const cases: Array<[string, Partial<AmphoraHealthReport>, Record<string, string>]> = [
    [
      'all healthy: ONLINE, admin-down objects OFFLINE, unmonitored members NO_MONITOR',
      { listeners: { l1: { status: 'OPEN', stats } }, pools: { p1: { status: 'UP', members: { m1: 'UP', m2: 'UP' } }, p2: { status: 'UP', members: { m4: 'NO_CHECK' } } } },
      { lb: 'ONLINE', l1: 'ONLINE', l2: 'OFFLINE', p1: 'ONLINE', m1: 'ONLINE', m2: 'ONLINE', m3: 'OFFLINE', p2: 'ONLINE', m4: 'NO_MONITOR' },
    ],
    [
      'a member down degrades its pool and the balancer',
      { listeners: { l1: { status: 'OPEN', stats } }, pools: { p1: { status: 'UP', members: { m1: 'UP', m2: 'DOWN' } }, p2: { status: 'UP', members: { m4: 'NO_CHECK' } } } },
      { lb: 'DEGRADED', l1: 'ONLINE', p1: 'DEGRADED', m1: 'ONLINE', m2: 'ERROR' },
    ],
    [
      'a backend down is a pool ERROR; drained and maintained members',
      { listeners: { l1: { status: 'FULL', stats } }, pools: { p1: { status: 'DOWN', members: { m1: 'DRAIN', m2: 'MAINT' } } } },
      { lb: 'DEGRADED', l1: 'DEGRADED', p1: 'ERROR', m1: 'DRAINING', m2: 'OFFLINE', p2: 'OFFLINE', m4: 'NO_MONITOR' },
    ],
    [
      'nothing reported (HAProxy not yet running the listener): OFFLINE, monitored members OFFLINE',
      { haproxy: 'STOPPED' },
      { lb: 'ONLINE', l1: 'OFFLINE', p1: 'OFFLINE', m1: 'OFFLINE', m4: 'NO_MONITOR' },
    ],
    ['a listener DOWN is ERROR', { listeners: { l1: { status: 'DOWN', stats } } }, { lb: 'DEGRADED', l1: 'ERROR' }],
  ];
  for (const [name, r, expected] of cases) {
    test(name, () => {
      const out = operatingStatuses(tree, report(r));
      const all = new Map([['lb', out.loadBalancer], ...out.listeners, ...out.pools, ...out.members]);
      for (const [id, status] of Object.entries(expected)) assert.equal(all.get(id), status, id);
    });
  }

  test('the master speaks for the balancer, else an amphora whose HAProxy runs', () => {
    const backup = report({ vrrpState: 'BACKUP' });
    const master = report({ vrrpState: 'MASTER' });
    assert.equal(authoritativeReport([backup, master]), master);
    const stopped = report({ vrrpState: 'FAULT', haproxy: 'STOPPED' });
    const running = report({ vrrpState: 'BACKUP' });
    assert.equal(authoritativeReport([stopped, running]), running);
    assert.equal(authoritativeReport([]), undefined);
  });
});

describe('allowed_cidrs against the VIP’s IP version', () => {
  const v4 = { address: '198.18.60.10', version: 4 as const };
  const v6 = { address: 'fd00::10', version: 6 as const };
  const cases: Array<[string, typeof v4 | typeof v6, string[], RegExp | null]> = [
    ['IPv4 CIDRs on an IPv4 VIP', v4, ['192.0.1.0/24', '10.0.0.0/8'], null],
    ['none at all', v4, [], null],
    ['an IPv6 CIDR on an IPv4 VIP', v4, ['192.0.1.0/24', '2001:db8:a0b:12f0::/64'], /^Validation failure: CIDR 2001:db8:a0b:12f0::\/64 IP version incompatible with VIP 198.18.60.10 IP version\.$/],
    ['IPv6 CIDRs on an IPv6 VIP', v6, ['2001:db8::/32'], null],
    ['an IPv4 CIDR on an IPv6 VIP', v6, ['192.0.1.0/24'], /CIDR 192.0.1.0\/24 IP version incompatible with VIP fd00::10/],
  ];
  for (const [name, vip, cidrs, refused] of cases) {
    test(`${name}: ${refused ? '400' : 'accepted'}`, () => {
      if (refused) assert.match(refusal(() => checkAllowedCidrs(vip, cidrs)), refused);
      else checkAllowedCidrs(vip, cidrs);
    });
  }
});

describe('a UDP pool’s persistence_granularity against the VIP’s IP version', () => {
  const v4 = { address: '198.18.60.10', version: 4 as const };
  const v6 = { address: 'fd00::10', version: 6 as const };
  const sp = (granularity: string | null) => ({ type: 'SOURCE_IP', persistence_timeout: 60, persistence_granularity: granularity });
  const cases: Array<[string, typeof v4 | typeof v6, Record<string, unknown> | null, RegExp | null]> = [
    ['an IPv4 netmask on an IPv4 VIP', v4, sp('255.255.255.0'), null],
    ['an IPv6 netmask on an IPv6 VIP', v6, sp('ffff:ffff:ffff:ffff::'), null],
    ['no granularity', v6, sp(null), null],
    ['no persistence', v4, null, null],
    ['an IPv6 netmask on an IPv4 VIP', v4, sp('ffff:ffff::'), /^Validation failure: persistence_granularity ffff:ffff:: IP version incompatible with VIP 198.18.60.10 IP version\.$/],
    ['an IPv4 netmask on an IPv6 VIP', v6, sp('255.255.0.0'), /persistence_granularity 255.255.0.0 IP version incompatible with VIP fd00::10/],
  ];
  for (const [name, vip, persistence, refused] of cases) {
    test(`${name}: ${refused ? '400' : 'accepted'}`, () => {
      if (refused) assert.match(refusal(() => checkPersistenceGranularity(vip, persistence)), refused);
      else checkPersistenceGranularity(vip, persistence);
    });
  }
});

describe('what the amphora provider refuses (501, Octavia’s ProviderUnsupportedOptionError)', () => {
  const cases: Array<[Record<string, unknown>, boolean]> = [
    [{ lb_algorithm: 'ROUND_ROBIN' }, false],
    [{ lb_algorithm: 'LEAST_CONNECTIONS' }, false],
    [{ lb_algorithm: 'SOURCE_IP' }, false],
    [{ lb_algorithm: 'SOURCE_IP_PORT' }, true],
    [{ name: 'an update without an algorithm' }, false],
  ];
  for (const [pool, refused] of cases) {
    test(`${JSON.stringify(pool)}: ${refused ? '501' : 'accepted'}`, () => {
      if (!refused) return checkPoolSupported(pool);
      assert.throws(() => checkPoolSupported(pool), (err: unknown) => err instanceof ApiError && err.status === 501 && /^Provider 'amphora' does not support a requested option: /.test(err.message));
    });
  }
});

describe('availability zone data of the amphora provider', () => {
  const net = '3f1e8f0c-6b0a-4c41-8d0e-6f1b1c3b2a11';
  const cases: Array<[string, string, number | null]> = [
    ['compute zone and management network (what the plugin sends)', JSON.stringify({ compute_zone: 'az1', management_network: net }), null],
    ['valid VIP networks', JSON.stringify({ valid_vip_networks: [net] }), null],
    ['empty', '{}', null],
    ['not JSON', '{compute_zone', 400],
    ['a list', '[]', 400],
    ['volume_zone (no volumes here)', JSON.stringify({ volume_zone: 'v1' }), 501],
    ['an unknown key', JSON.stringify({ compute_flavor: 'm1' }), 501],
    ['a management network that is no ID', JSON.stringify({ management_network: 'mgmt' }), 501],
    ['VIP networks that are no list', JSON.stringify({ valid_vip_networks: net }), 501],
    ['an empty compute zone', JSON.stringify({ compute_zone: '' }), 501],
  ];
  for (const [name, text, status] of cases) {
    test(`${name}: ${status ?? 'accepted'}`, () => {
      if (status === null) return void assert.deepEqual(parseAvailabilityZoneData(text), JSON.parse(text));
      assert.throws(() => parseAvailabilityZoneData(text), (err: unknown) => err instanceof ApiError && err.status === status);
    });
  }
});

describe('providers and capabilities lists: filters and fields', () => {
  const items = [
    { name: 'a', description: 'first' },
    { name: 'b', description: 'second' },
  ];
  const cases: Array<[Record<string, string | string[]>, Record<string, string>[]]> = [
    [{}, items],
    [{ fields: 'name' }, [{ name: 'a' }, { name: 'b' }]],
    [{ fields: ['name', 'description'] }, items],
    [{ fields: 'description', name: 'b' }, [{ description: 'second' }]],
    [{ fields: 'name', name: 'b' }, [{ name: 'b' }]],
    [{ description: 'first' }, [items[0]]],
    [{ name: 'c' }, []],
    [{ fields: 'name,description', name: ['a', 'b'] }, items],
  ];
  for (const [query, expected] of cases) {
    test(JSON.stringify(query), () => assert.deepEqual(listConstants(items, query), expected));
  }
});
