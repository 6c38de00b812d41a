import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendName, renderHaproxyConfig, renderPingCheckScript } from '../../../../src/agents/amphora/haproxy-config.js';
import { AmphoraConfigError } from '../../../../src/agents/amphora/config-tokens.js';
import type { ListenerTls, LoadBalancer } from '../../../../src/agents/amphora/types.js';
import { OPTIONS, balancer, listener, member, monitor, policy, pool, rule, sectionLines } from './fixtures.js';

const TLS: ListenerTls = {
  defaultCertificatePath: '/var/lib/cloudnet-amphora/certs/l1/default.pem',
  sniCertificatePaths: ['/var/lib/cloudnet-amphora/certs/l1/sni-0.pem'],
  alpnProtocols: ['h2', 'http/1.1'],
  tlsVersions: ['TLSv1.2', 'TLSv1.3'],
  tlsCiphers: null,
  clientAuthentication: 'NONE',
  clientCaPath: null,
  clientCrlPath: null,
};

const render = (lb: LoadBalancer) => renderHaproxyConfig(lb, OPTIONS);

test('the simplest balancer, whole: global with the runtime API socket, defaults, one frontend, one backend', () => {
  assert.equal(
    render(balancer()),
    [
      'global',
      '    maxconn 50000',
      '    stats socket /run/cloudnet-amphora/haproxy.sock mode 600 level admin expose-fd listeners',
      '    server-state-file /run/cloudnet-amphora/haproxy.state',
      '',
      'defaults',
      '    retries 3',
      '    option redispatch',
      '    load-server-state-from-file global',
      '',
      'frontend l1',
      '    mode http',
      '    bind 198.18.0.10:80',
      '    timeout client 50000ms',
      '    default_backend p1:l1',
      '',
      'backend p1:l1',
      '    mode http',
      '    balance roundrobin',
      '    timeout connect 5000ms',
      '    timeout server 50000ms',
      '    server m1 198.18.1.11:8080 weight 1',
      '',
    ].join('\n'),
  );
  assert.equal(backendName('p1', 'l1'), 'p1:l1');
});

test('frontend options', () => {
  const cases: [string, Parameters<typeof listener>[0], string[]][] = [
    ['TCP listener: tcp mode', { protocol: 'TCP', protocolPort: 5432 }, ['mode tcp', 'bind 198.18.0.10:5432', 'timeout client 50000ms', 'default_backend p1:l1']],
    ['HTTPS pass-through: tcp mode, no TLS', { protocol: 'HTTPS', protocolPort: 443 }, ['mode tcp', 'bind 198.18.0.10:443', 'timeout client 50000ms', 'default_backend p1:l1']],
    ['connection limit and inspect delay', { connectionLimit: 1000, timeoutTcpInspect: 2500, timeoutClientData: 1200 },
      ['mode http', 'bind 198.18.0.10:80', 'maxconn 1000', 'timeout client 1200ms', 'tcp-request inspect-delay 2500ms', 'default_backend p1:l1']],
    ['allowed CIDRs: deduplicated, sorted, one inline ACL', { allowedCidrs: ['198.18.0.0/15', 'fd00::/8', '10.0.0.0/8', '198.18.0.0/15'] },
      ['mode http', 'bind 198.18.0.10:80', 'timeout client 50000ms', 'tcp-request connection reject if !{ src 10.0.0.0/8 198.18.0.0/15 fd00::/8 }', 'default_backend p1:l1']],
    ['insert headers on HTTP', { insertHeaders: ['X-Forwarded-Proto', 'X-Forwarded-For', 'X-Forwarded-Port'] },
      ['mode http', 'bind 198.18.0.10:80', 'timeout client 50000ms', 'option forwardfor', 'http-request set-header X-Forwarded-Port %[dst_port]', 'http-request set-header X-Forwarded-Proto http', 'default_backend p1:l1']],
    ['disabled listener keeps its section, binds nothing', { adminStateUp: false }, ['disabled', 'mode http', 'bind 198.18.0.10:80', 'timeout client 50000ms', 'default_backend p1:l1']],
    ['no default pool: no default_backend (HAProxy answers 503)', { defaultPoolId: null }, ['mode http', 'bind 198.18.0.10:80', 'timeout client 50000ms']],
    ['TERMINATED_HTTPS: default certificate first, SNI certificates, ALPN, versions, ciphers',
      { protocol: 'TERMINATED_HTTPS', protocolPort: 443, insertHeaders: ['X-Forwarded-Proto'], tls: { ...TLS, tlsVersions: ['TLSv1.2'], tlsCiphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' } },
      ['mode http',
        'bind 198.18.0.10:443 ssl crt /var/lib/cloudnet-amphora/certs/l1/default.pem crt /var/lib/cloudnet-amphora/certs/l1/sni-0.pem alpn h2,http/1.1 no-sslv3 no-tlsv10 no-tlsv11 no-tlsv13 ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384',
        'timeout client 50000ms', 'http-request set-header X-Forwarded-Proto https', 'default_backend p1:l1']],
    ['TERMINATED_HTTPS without ALPN', { protocol: 'TERMINATED_HTTPS', protocolPort: 443, tls: { ...TLS, sniCertificatePaths: [], alpnProtocols: [] } },
      ['mode http', 'bind 198.18.0.10:443 ssl crt /var/lib/cloudnet-amphora/certs/l1/default.pem no-sslv3 no-tlsv10 no-tlsv11', 'timeout client 50000ms', 'default_backend p1:l1']],
  ];
  for (const [name, l, expected] of cases) {
    const p = l?.protocol === 'TCP' || l?.protocol === 'HTTPS' ? pool({ protocol: 'TCP' }) : pool();
    assert.deepEqual(sectionLines(render(balancer({ listeners: [listener(l)], pools: [p] })), 'frontend l1'), expected, name);
  }
});

test('IPv6 VIP and members are bracketed', () => {
  const config = render(balancer({ vipAddress: 'fd00::10', pools: [pool({ members: [member({ address: 'fd00::b' })] })] }));
  assert.ok(sectionLines(config, 'frontend l1').includes('bind [fd00::10]:80'));
  assert.ok(sectionLines(config, 'backend p1:l1').includes('server m1 [fd00::b]:8080 weight 1'));
});

test('backend options: algorithms, persistence, proxy protocol, member states, health checks', () => {
  const cases: [string, Parameters<typeof pool>[0], string[], Parameters<typeof listener>[0]?][] = [
    ['least connections', { lbAlgorithm: 'LEAST_CONNECTIONS' }, ['balance leastconn', 'server m1 198.18.1.11:8080 weight 1']],
    ['source IP algorithm with source IP persistence', { lbAlgorithm: 'SOURCE_IP', sessionPersistence: { type: 'SOURCE_IP' } },
      ['balance source', 'stick-table type ipv6 size 10k', 'stick on src', 'server m1 198.18.1.11:8080 weight 1']],
    ['HTTP cookie persistence names the member', { sessionPersistence: { type: 'HTTP_COOKIE' } },
      ['balance roundrobin', 'cookie SRV insert indirect nocache', 'server m1 198.18.1.11:8080 weight 1 cookie m1']],
    ['application cookie persistence', { sessionPersistence: { type: 'APP_COOKIE', cookieName: 'JSESSIONID' } },
      ['balance roundrobin', 'stick-table type string len 64 size 10k', 'stick store-response res.cook(JSESSIONID)', 'stick match req.cook(JSESSIONID)', 'server m1 198.18.1.11:8080 weight 1']],
    ['PROXY pool', { protocol: 'PROXY' }, ['balance roundrobin', 'server m1 198.18.1.11:8080 weight 1 send-proxy']],
    ['PROXYV2 pool', { protocol: 'PROXYV2' }, ['balance roundrobin', 'server m1 198.18.1.11:8080 weight 1 send-proxy-v2']],
    ['members sorted by id; drained, backup, disabled', {
      members: [member({ id: 'm3', adminStateUp: false }), member({ id: 'm2', weight: 0 }), member({ id: 'm1', backup: true, weight: 256 })] },
      ['balance roundrobin', 'server m1 198.18.1.11:8080 weight 256 backup', 'server m2 198.18.1.11:8080 weight 0', 'server m3 198.18.1.11:8080 weight 1 disabled']],
    ['TCP monitor with monitor address and port', { healthMonitor: monitor(), members: [member({ monitorAddress: '198.18.1.99', monitorPort: 9000 })] },
      ['balance roundrobin', 'timeout check 3s', 'server m1 198.18.1.11:8080 weight 1 check inter 5s fall 3 rise 2 addr 198.18.1.99 port 9000']],
    ['HTTP monitor with Octavia defaults', { healthMonitor: monitor({ type: 'HTTP' }) },
      ['balance roundrobin', 'timeout check 3s', 'option httpchk', 'http-check send meth GET uri /', 'http-check expect status 200', 'server m1 198.18.1.11:8080 weight 1 check inter 5s fall 3 rise 2']],
    ['HTTP monitor, HTTP/1.1 with Host, a range and a list', { healthMonitor: monitor({ type: 'HTTP', httpMethod: 'HEAD', urlPath: '/healthz', expectedCodes: '200-204, 301', httpVersion: 1.1, domainName: 'app.example' }) },
      ['balance roundrobin', 'timeout check 3s', 'option httpchk', 'http-check send meth HEAD uri /healthz ver HTTP/1.1 hdr Host app.example', 'http-check expect status 200-204,301', 'server m1 198.18.1.11:8080 weight 1 check inter 5s fall 3 rise 2']],
    ['HTTPS monitor checks over TLS', { healthMonitor: monitor({ type: 'HTTPS', urlPath: '/', httpVersion: 1.0 }) },
      ['balance roundrobin', 'timeout check 3s', 'option httpchk', 'http-check send meth GET uri / ver HTTP/1.0', 'http-check expect status 200', 'server m1 198.18.1.11:8080 weight 1 check inter 5s fall 3 rise 2 check-ssl verify none']],
    ['TLS-HELLO monitor', { protocol: 'HTTPS', healthMonitor: monitor({ type: 'TLS-HELLO' }) },
      ['balance roundrobin', 'timeout check 3s', 'option ssl-hello-chk', 'server m1 198.18.1.11:8080 weight 1 check inter 5s fall 3 rise 2'], { protocol: 'TCP' }],
    ['disabled monitor: no checks', { healthMonitor: monitor({ type: 'HTTP', adminStateUp: false }) }, ['balance roundrobin', 'server m1 198.18.1.11:8080 weight 1']],
  ];
  for (const [name, p, expected, l] of cases) {
    const lines = sectionLines(render(balancer({ listeners: [listener(l)], pools: [pool(p)] })), 'backend p1:l1');
    const mode = l?.protocol === 'TCP' ? 'tcp' : 'http';
    assert.deepEqual(lines, [`mode ${mode}`, expected[0], 'timeout connect 5000ms', 'timeout server 50000ms', ...expected.slice(1)], name);
  }
});

test('PING monitors run the external check command, which global must allow', () => {
  const lb = balancer({ pools: [pool({ healthMonitor: monitor({ type: 'PING' }) })] });
  const config = renderHaproxyConfig(lb, { ...OPTIONS, pingCheckCommand: '/usr/lib/cloudnet/ping-check' });
  assert.deepEqual(sectionLines(config, 'global').slice(-2), ['external-check', 'insecure-fork-wanted']);
  assert.deepEqual(sectionLines(config, 'backend p1:l1').slice(4, 7), ['timeout check 3s', 'option external-check', 'external-check command /usr/lib/cloudnet/ping-check']);
  assert.throws(() => render(lb), /pingCheckCommand/);
  // A balancer without PING monitors does not let HAProxy fork.
  assert.ok(!render(balancer()).includes('insecure-fork-wanted'));
  // The check pings the member's address (HAProxy's argument 3) by path, since HAProxy clears PATH.
  assert.equal(renderPingCheckScript('/usr/bin/ping'), '#!/bin/sh\nexec /usr/bin/ping -q -n -c 1 -W 1 "$3" >/dev/null 2>&1\n');
  assert.throws(() => renderPingCheckScript('ping'), /absolute/);
});

test('L7: rules as ACLs, REJECT first, then redirects, then pools, each in position order', () => {
  const lb = balancer({
    listeners: [listener({
      l7Policies: [
        policy({ id: 'toApi', position: 1, action: 'REDIRECT_TO_POOL', redirectPoolId: 'p2', rules: [rule({ id: 'r-api' }), rule({ id: 'r-host', type: 'HOST_NAME', compareType: 'EQUAL_TO', value: 'api.example.com' })] }),
        policy({ id: 'moved', position: 2, action: 'REDIRECT_TO_URL', redirectUrl: 'https://new.example.com/', redirectHttpCode: 301, rules: [rule({ id: 'r-old', type: 'HEADER', key: 'X-Old', compareType: 'CONTAINS', value: 'yes' })] }),
        policy({ id: 'deny', position: 3, action: 'REJECT', rules: [rule({ id: 'r-admin', type: 'PATH', compareType: 'REGEX', value: '^/admin(/.*)?$' }), rule({ id: 'r-trusted', type: 'COOKIE', key: 'trusted', compareType: 'EQUAL_TO', value: '1', invert: true })] }),
        policy({ id: 'prefix', position: 0, action: 'REDIRECT_PREFIX', redirectPrefix: 'https://www.example.com', redirectHttpCode: 302, rules: [rule({ id: 'r-img', type: 'FILE_TYPE', compareType: 'EQUAL_TO', value: 'jpg' })] }),
        policy({ id: 'off', position: 4, action: 'REJECT', adminStateUp: false, rules: [rule({ id: 'r-off' })] }),
        policy({ id: 'empty', position: 5, action: 'REJECT', rules: [rule({ id: 'r-disabled', adminStateUp: false })] }),
        policy({ id: 'ends', position: 6, action: 'REDIRECT_TO_POOL', redirectPoolId: 'p2', rules: [rule({ id: 'r-ext', type: 'FILE_TYPE', compareType: 'REGEX', value: 'png|gif' }), rule({ id: 'r-suffix', type: 'HOST_NAME', compareType: 'ENDS_WITH', value: '.example.org' })] }),
      ],
    })],
    pools: [pool(), pool({ id: 'p2' })],
  });
  const config = render(lb);
  assert.deepEqual(sectionLines(config, 'frontend l1'), [
    'mode http', 'bind 198.18.0.10:80', 'timeout client 50000ms',
    "acl r-admin path -m reg '^/admin(/.*)?$'",
    "acl r-trusted req.cook(trusted) -m str '1'",
    "acl r-img path -m end '.jpg'",
    "acl r-old req.hdr(X-Old) -m sub 'yes'",
    "acl r-api path -m beg '/api'",
    "acl r-host req.hdr(host) -i -m str 'api.example.com'",
    "acl r-ext path -m reg '\\.(png|gif)$'",
    "acl r-suffix req.hdr(host) -i -m end '.example.org'",
    'http-request deny if r-admin !r-trusted',
    "http-request redirect prefix 'https://www.example.com' code 302 if r-img",
    "http-request redirect location 'https://new.example.com/' code 301 if r-old",
    'use_backend p2:l1 if r-api r-host',
    'use_backend p2:l1 if r-ext r-suffix',
    'default_backend p1:l1',
  ]);
  // Each pool the listener routes to gets one backend.
  assert.deepEqual(config.split('\n').filter((l) => l.startsWith('backend ')), ['backend p1:l1', 'backend p2:l1']);
});

test('L7 SSL rules on TERMINATED_HTTPS', () => {
  const cases: [Parameters<typeof rule>[0], string][] = [
    [{ type: 'SSL_CONN_HAS_CERT', compareType: 'EQUAL_TO', value: 'True' }, 'acl r1 ssl_c_used'],
    [{ type: 'SSL_VERIFY_RESULT', compareType: 'EQUAL_TO', value: '0' }, 'acl r1 ssl_c_verify eq 0'],
    [{ type: 'SSL_DN_FIELD', key: 'CN', compareType: 'STARTS_WITH', value: 'ops-' }, "acl r1 ssl_c_s_dn(CN) -m beg 'ops-'"],
  ];
  for (const [r, expected] of cases) {
    const l = listener({ protocol: 'TERMINATED_HTTPS', protocolPort: 443, tls: TLS, l7Policies: [policy({ action: 'REJECT', rules: [rule(r)] })] });
    assert.ok(sectionLines(render(balancer({ listeners: [l] })), 'frontend l1').includes(expected), expected);
  }
});

test('a disabled pool gets no backend and no traffic', () => {
  const lb = balancer({
    listeners: [listener({ l7Policies: [policy({ action: 'REDIRECT_TO_POOL', redirectPoolId: 'p2' })] })],
    pools: [pool({ adminStateUp: false }), pool({ id: 'p2', adminStateUp: false })],
  });
  const config = render(lb);
  assert.deepEqual(sectionLines(config, 'frontend l1'), ['mode http', 'bind 198.18.0.10:80', 'timeout client 50000ms', "acl r1 path -m beg '/api'"]);
  assert.ok(!config.includes('backend '));
});

test('a pool shared by two listeners gets one backend per listener; listeners ordered by port', () => {
  const lb = balancer({
    listeners: [listener({ id: 'l9', protocolPort: 8080 }), listener({ id: 'l2', protocol: 'TCP', protocolPort: 81, defaultPoolId: 'p1' })],
    pools: [pool({ protocol: 'PROXY' })],
  });
  const headers = render(lb).split('\n').filter((l) => /^(frontend|backend) /.test(l));
  assert.deepEqual(headers, ['frontend l2', 'backend p1:l2', 'frontend l9', 'backend p1:l9']);
  assert.equal(sectionLines(render(lb), 'backend p1:l2')[0], 'mode tcp');
});

test('deterministic: input order does not change the output', () => {
  const members = [member({ id: 'a' }), member({ id: 'b' }), member({ id: 'c' })];
  const l1 = listener({ id: 'x', protocolPort: 80 });
  const l2 = listener({ id: 'y', protocolPort: 81, allowedCidrs: ['198.18.0.0/16', '10.0.0.0/8'] });
  const one = render(balancer({ listeners: [l1, l2], pools: [pool({ members })] }));
  const two = render(balancer({ listeners: [{ ...l2, allowedCidrs: ['10.0.0.0/8', '198.18.0.0/16'] }, l1], pools: [pool({ members: [...members].reverse() })] }));
  assert.equal(one, two);
});

test('refused: what HAProxy cannot serve or the tree does not allow, with a clear error', () => {
  const cases: [string, LoadBalancer, RegExp][] = [
    ['invalid listener/pool pair', balancer({ pools: [pool({ protocol: 'TCP' })] }), /HTTP\) cannot use pool p1 \(TCP\)/],
    ['HTTPS pool behind TERMINATED_HTTPS', balancer({ listeners: [listener({ protocol: 'TERMINATED_HTTPS', tls: TLS })], pools: [pool({ protocol: 'HTTPS' })] }), /cannot use pool/],
    ['missing pool', balancer({ pools: [] }), /refers to pool p1, which is not in the tree/],
    ['duplicate port', balancer({ listeners: [listener(), listener({ id: 'l2' })] }), /port 80 is already used/],
    ['TERMINATED_HTTPS without certificate', balancer({ listeners: [listener({ protocol: 'TERMINATED_HTTPS' })] }), /needs a default TLS certificate/],
    ['TLS on plain HTTP', balancer({ listeners: [listener({ tls: TLS })] }), /TLS settings need protocol TERMINATED_HTTPS/],
    ['no TLS versions', balancer({ listeners: [listener({ protocol: 'TERMINATED_HTTPS', tls: { ...TLS, tlsVersions: [] } })] }), /tls_versions is empty/],
    ['relative certificate path', balancer({ listeners: [listener({ protocol: 'TERMINATED_HTTPS', tls: { ...TLS, defaultCertificatePath: 'a.pem' } })] }), /absolute path/],
    ['headers on TCP', balancer({ listeners: [listener({ protocol: 'TCP', insertHeaders: ['X-Forwarded-For'] })], pools: [pool({ protocol: 'TCP' })] }), /insert_headers needs an HTTP/],
    ['L7 on TCP', balancer({ listeners: [listener({ protocol: 'TCP', l7Policies: [policy({ action: 'REJECT' })] })], pools: [pool({ protocol: 'TCP' })] }), /L7 policies need an HTTP/],
    ['SSL rule on HTTP', balancer({ listeners: [listener({ l7Policies: [policy({ action: 'REJECT', rules: [rule({ type: 'SSL_CONN_HAS_CERT', compareType: 'EQUAL_TO', value: 'True' })] })] })] }), /needs a TERMINATED_HTTPS listener/],
    ['HEADER without key', balancer({ listeners: [listener({ l7Policies: [policy({ action: 'REJECT', rules: [rule({ type: 'HEADER' })] })] })] }), /needs a key/],
    ['FILE_TYPE STARTS_WITH', balancer({ listeners: [listener({ l7Policies: [policy({ action: 'REJECT', rules: [rule({ type: 'FILE_TYPE' })] })] })] }), /EQUAL_TO or REGEX only/],
    ['quote in a rule value', balancer({ listeners: [listener({ l7Policies: [policy({ action: 'REJECT', rules: [rule({ value: "/a'b" })] })] })] }), /single quote/],
    ['bad redirect code', balancer({ listeners: [listener({ l7Policies: [policy({ action: 'REDIRECT_TO_URL', redirectUrl: 'https://x/', redirectHttpCode: 300 as number as 301 })] })] }), /redirect_http_code 300/],
    ['cookie persistence in tcp mode', balancer({ listeners: [listener({ protocol: 'TCP' })], pools: [pool({ sessionPersistence: { type: 'HTTP_COOKIE' } })] }), /needs an HTTP-mode listener/],
    ['UDP-CONNECT monitor on a TCP pool', balancer({ pools: [pool({ healthMonitor: monitor({ type: 'UDP-CONNECT' }) })] }), /cannot have a UDP-CONNECT health monitor/],
    ['bad expected codes', balancer({ pools: [pool({ healthMonitor: monitor({ type: 'HTTP', expectedCodes: '2xx' }) })] }), /expected_codes/],
    ['domain name on HTTP/1.0', balancer({ pools: [pool({ healthMonitor: monitor({ type: 'HTTP', domainName: 'a.example', httpVersion: 1.0 }) })] }), /domain_name needs http_version 1.1/],
    ['weight above 256', balancer({ pools: [pool({ members: [member({ weight: 257 })] })] }), /weight 257/],
    ['member address not an IP', balancer({ pools: [pool({ members: [member({ address: 'backend.local' })] })] }), /not an IP address/],
    ['duplicate member', balancer({ pools: [pool({ members: [member(), member()] })] }), /appears twice/],
    ['id with a space', balancer({ listeners: [listener({ id: 'l 1' })] }), /not a plain token/],
    ['bad CIDR', balancer({ listeners: [listener({ allowedCidrs: ['198.18.0.0/33'] })] }), /not a CIDR/],
    ['timeout out of range', balancer({ listeners: [listener({ timeoutClientData: 0 })] }), /timeoutClientData 0/],
  ];
  for (const [name, lb, message] of cases) {
    assert.throws(() => render(lb), (e: unknown) => e instanceof AmphoraConfigError && message.test(e.message), name);
  }
});
