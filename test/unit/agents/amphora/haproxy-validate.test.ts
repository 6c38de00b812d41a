import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHaproxyConfig, type HaproxyRenderOptions } from '../../../../src/agents/amphora/haproxy-config.js';
import { MONITOR_TYPES_BY_POOL, POOL_PROTOCOLS_BY_LISTENER, listenerMode } from '../../../../src/agents/amphora/protocols.js';
import type { LbAlgorithm, Listener, LoadBalancer, Pool, PoolProtocol, SessionPersistence } from '../../../../src/agents/amphora/types.js';
import { listener, member, monitor, policy, pool, rule } from './fixtures.js';

/**
 * Every rendered config is checked by the real HAProxy 2.6 (`haproxy -c`): it must be valid and draw no warning.
 * One rich balancer per listener/pool pair of Octavia's matrix, each with every option that pair allows.
 */

const dir = mkdtempSync(join(tmpdir(), 'cloudnet-amphora-haproxy-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
// Before HAProxy's first start the agent seeds the state file with its format version alone (a missing or
// empty one draws a warning); later it holds `show servers state` saved before each reload.
writeFileSync(join(dir, 'haproxy.state'), '1\n');

/** A throwaway self-signed certificate as HAProxy loads it: certificate and key in one PEM. */
function certificate(name: string, cn: string): string {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`], { stdio: 'ignore' });
  const bundle = join(dir, `${name}.pem`);
  execFileSync('sh', ['-c', `cat "${cert}" "${key}" > "${bundle}"`]);
  return bundle;
}

const OPTIONS: HaproxyRenderOptions = {
  statsSocketPath: join(dir, 'haproxy.sock'),
  serverStateFilePath: join(dir, 'haproxy.state'),
  maxconn: 50000,
  pingCheckCommand: '/bin/true',
  peers: null,
};

function haproxyCheck(config: string, name: string): { ok: boolean; output: string } {
  const file = join(dir, `${name}.cfg`);
  writeFileSync(file, config);
  const result = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  return { ok: result.status === 0 && !/\[(WARNING|ALERT)\]/.test(output), output };
}

const ALGORITHMS: LbAlgorithm[] = ['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP'];

function richPool(id: string, protocol: PoolProtocol, mode: 'http' | 'tcp', variant: number): Pool {
  const monitors = MONITOR_TYPES_BY_POOL[protocol].filter((t) => t !== 'UDP-CONNECT');
  const type = monitors[variant % monitors.length]!;
  const persistence: SessionPersistence[] = mode === 'http'
    ? [{ type: 'SOURCE_IP' }, { type: 'HTTP_COOKIE' }, { type: 'APP_COOKIE', cookieName: 'JSESSIONID' }]
    : [{ type: 'SOURCE_IP' }];
  const http = type === 'HTTP' || type === 'HTTPS';
  return pool({
    id,
    protocol,
    lbAlgorithm: ALGORITHMS[variant % ALGORITHMS.length]!,
    sessionPersistence: persistence[variant % persistence.length]!,
    healthMonitor: monitor({
      type,
      ...(http ? { httpMethod: 'GET', urlPath: '/healthz', expectedCodes: '200-204,301', httpVersion: 1.1, domainName: 'app.example' } : {}),
    }),
    members: [
      member({ id: `${id}-m1`, address: '198.18.1.11', monitorAddress: '198.18.1.12', monitorPort: 9000 }),
      member({ id: `${id}-m2`, address: 'fd00:18::b', weight: 0 }),
      member({ id: `${id}-m3`, address: '198.18.1.13', backup: true, weight: 256 }),
      member({ id: `${id}-m4`, address: '198.18.1.14', adminStateUp: false }),
    ],
  });
}

function richListener(id: string, protocol: Listener['protocol'], port: number, poolIds: string[]): Listener {
  const mode = listenerMode(protocol);
  const base = listener({
    id, protocol, protocolPort: port, connectionLimit: 2000, timeoutClientData: 30000, timeoutMemberConnect: 3000, timeoutMemberData: 60000, timeoutTcpInspect: 1000,
    allowedCidrs: ['198.18.0.0/15', 'fd00::/8'], defaultPoolId: poolIds[0]!,
  });
  if (protocol === 'TERMINATED_HTTPS') {
    base.tls = { defaultCertificatePath: certificate(`${id}-default`, 'default.example'), sniCertificatePaths: [certificate(`${id}-sni`, 'api.example')], alpnProtocols: ['h2', 'http/1.1'], tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384', clientAuthentication: 'NONE', clientCaPath: null, clientCrlPath: null };
  }
  if (mode === 'http') {
    base.insertHeaders = ['X-Forwarded-For', 'X-Forwarded-Port', 'X-Forwarded-Proto'];
    const ssl = protocol === 'TERMINATED_HTTPS' ? [rule({ id: `${id}-r-cert`, type: 'SSL_CONN_HAS_CERT', compareType: 'EQUAL_TO', value: 'True', invert: true }), rule({ id: `${id}-r-dn`, type: 'SSL_DN_FIELD', key: 'OU', compareType: 'CONTAINS', value: 'ops' }), rule({ id: `${id}-r-verify`, type: 'SSL_VERIFY_RESULT', compareType: 'EQUAL_TO', value: '0' })] : [];
    base.l7Policies = [
      policy({ id: `${id}-reject`, position: 1, action: 'REJECT', rules: [rule({ id: `${id}-r-admin`, type: 'PATH', compareType: 'REGEX', value: '^/admin(/.*)?$' }), rule({ id: `${id}-r-cookie`, type: 'COOKIE', key: 'trusted', compareType: 'EQUAL_TO', value: '1', invert: true }), ...ssl] }),
      policy({ id: `${id}-url`, position: 2, action: 'REDIRECT_TO_URL', redirectUrl: 'https://new.example/?a=1&b=2', redirectHttpCode: 301, rules: [rule({ id: `${id}-r-header`, type: 'HEADER', key: 'X-Old', compareType: 'STARTS_WITH', value: 'v1 beta' })] }),
      policy({ id: `${id}-prefix`, position: 3, action: 'REDIRECT_PREFIX', redirectPrefix: 'https://www.example', redirectHttpCode: 308, rules: [rule({ id: `${id}-r-img`, type: 'FILE_TYPE', compareType: 'REGEX', value: 'png|jpe?g' })] }),
      policy({ id: `${id}-pool`, position: 4, action: 'REDIRECT_TO_POOL', redirectPoolId: poolIds[1]!, rules: [rule({ id: `${id}-r-host`, type: 'HOST_NAME', compareType: 'ENDS_WITH', value: '.api.example' }), rule({ id: `${id}-r-txt`, type: 'FILE_TYPE', compareType: 'EQUAL_TO', value: 'txt', invert: true })] }),
    ];
  }
  return base;
}

test('every listener/pool pair of Octavia\'s matrix renders a config HAProxy 2.6 accepts without warnings', () => {
  let port = 1000;
  let variant = 0;
  const combinations = Object.entries(POOL_PROTOCOLS_BY_LISTENER).filter(([l]) => l !== 'UDP') as [Listener['protocol'], readonly PoolProtocol[]][];
  assert.equal(combinations.flatMap(([, p]) => p).length, 15);
  const everything: LoadBalancer = { id: 'lb-all', vipAddress: '198.18.0.10', listeners: [], pools: [] };
  for (const [listenerProtocol, poolProtocols] of combinations) {
    for (const poolProtocol of poolProtocols) {
      const name = `${listenerProtocol}-${poolProtocol}`.toLowerCase();
      const mode = listenerMode(listenerProtocol);
      // Two pools of the protocol: the default and an L7 target; several variants rotate algorithms, monitors and persistence.
      const pools = [richPool(`${name}-a`, poolProtocol, mode, variant++), richPool(`${name}-b`, poolProtocol, mode, variant++)];
      const l = richListener(name, listenerProtocol, port++, pools.map((p) => p.id));
      for (const vipAddress of ['198.18.0.10', 'fd00:18::10']) {
        const lb: LoadBalancer = { id: 'lb1', vipAddress, listeners: [l], pools };
        const { ok, output } = haproxyCheck(renderHaproxyConfig(lb, OPTIONS), `${name}-${vipAddress.includes(':') ? 6 : 4}`);
        assert.ok(ok, `${name} on ${vipAddress}: ${output}`);
      }
      everything.listeners.push(l);
      everything.pools.push(...pools);
    }
  }
  // All of them at once in one amphora.
  const { ok, output } = haproxyCheck(renderHaproxyConfig(everything, OPTIONS), 'everything');
  assert.ok(ok, output);
});

test('the check is real: HAProxy refuses a broken config', () => {
  const config = renderHaproxyConfig({ id: 'lb1', vipAddress: '198.18.0.10', listeners: [listener()], pools: [pool()] }, OPTIONS);
  assert.ok(haproxyCheck(config, 'plain').ok);
  assert.equal(haproxyCheck(config.replace('balance roundrobin', 'balance sideways'), 'broken').ok, false);
  // A warning counts as a failure too: a frontend without `timeout client`.
  assert.equal(haproxyCheck(config.replace('    timeout client 50000ms\n', ''), 'warning').ok, false);
});
