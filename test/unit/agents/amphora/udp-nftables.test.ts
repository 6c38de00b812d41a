import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AmphoraConfigError } from '../../../../src/agents/amphora/config-tokens.js';
import { renderHaproxyConfig } from '../../../../src/agents/amphora/haproxy-config.js';
import type { LoadBalancer, Member, Pool } from '../../../../src/agents/amphora/types.js';
import { codeRanges, INITIAL_CHECK_STATE, nextCheckState, probeFor, type MemberCheckState } from '../../../../src/agents/amphora/udp-health.js';
import { udpPoolStatus } from '../../../../src/agents/amphora/udp-listeners.js';
import { REMOVE_UDP_TABLE, renderUdpNftables, servedUdpPools } from '../../../../src/agents/amphora/udp-nftables.js';
import { OPTIONS, balancer, listener, member, monitor, pool } from './fixtures.js';

const udpListener = (l: Parameters<typeof listener>[0] = {}) => listener({ id: 'u1', protocol: 'UDP', protocolPort: 53, ...l });
const udpPool = (p: Partial<Pool> = {}) => pool({ protocol: 'UDP', members: [member({ id: 'a', address: '198.18.1.1', protocolPort: 5353 }), member({ id: 'b', address: '198.18.1.2', protocolPort: 5353 })], ...p });
const udpBalancer = (b: Partial<LoadBalancer> = {}) => balancer({ listeners: [udpListener()], pools: [udpPool()], ...b });

/** The rules of one chain, without indentation. */
function chain(script: string, name: string): string[] {
  const lines = script.split('\n').map((l) => l.trim());
  const start = lines.indexOf(`chain ${name} {`);
  assert.ok(start >= 0, `no chain ${name} in:\n${script}`);
  return lines.slice(start + 2, lines.indexOf('}', start));
}

const dispatch = (lb: LoadBalancer, down: string[] = []) => chain(renderUdpNftables(lb, new Set(down))!.script, 'prerouting');

test('the whole table of one UDP listener: declared, deleted and defined in one script', () => {
  assert.equal(
    renderUdpNftables(udpBalancer(), new Set())!.script,
    [
      'table inet amphora_udp',
      'delete table inet amphora_udp',
      'table inet amphora_udp {',
      '\tcounter flows_0 {',
      '\t}',
      '\tcounter in_0 {',
      '\t}',
      '\tcounter out_0 {',
      '\t}',
      '\tchain prerouting {',
      '\t\ttype nat hook prerouting priority dstnat; policy accept;',
      '\t\tip daddr 198.18.0.10 udp dport 53 counter name flows_0 dnat ip to numgen inc mod 2 map { 0 : 198.18.1.1 . 5353, 1 : 198.18.1.2 . 5353 } comment "listener u1 pool p1"',
      '\t}',
      '\tchain forward {',
      '\t\ttype filter hook forward priority filter; policy drop;',
      '\t\tct state related ct status dnat ct original ip daddr 198.18.0.10 accept',
      '\t\tct status dnat ct original ip daddr 198.18.0.10 meta l4proto udp ct original proto-dst 53 ct direction original counter name in_0 accept',
      '\t\tct status dnat ct original ip daddr 198.18.0.10 meta l4proto udp ct original proto-dst 53 ct direction reply counter name out_0 accept',
      '\t}',
      '\tchain postrouting {',
      '\t\ttype nat hook postrouting priority srcnat; policy accept;',
      '\t\tct status dnat ct original ip daddr 198.18.0.10 meta l4proto udp masquerade',
      '\t}',
      '}',
      '',
    ].join('\n'),
  );
  assert.ok(renderUdpNftables(udpBalancer(), new Set())!.script.startsWith(REMOVE_UDP_TABLE));
});

test('a UDP pool is UP while a member can take flows, or while it has none (Octavia shows an empty pool ONLINE)', () => {
  const cases: [string, Pool, string[], 'UP' | 'DOWN'][] = [
    ['no member', pool({ protocol: 'UDP', members: [] }), [], 'UP'],
    ['one member up', pool({ protocol: 'UDP', members: [member({ id: 'm1' })] }), [], 'UP'],
    ['its only member down', pool({ protocol: 'UDP', members: [member({ id: 'm1' })] }), ['m1'], 'DOWN'],
    ['its only member disabled', pool({ protocol: 'UDP', members: [member({ id: 'm1', adminStateUp: false })] }), [], 'DOWN'],
    ['a backup left', pool({ protocol: 'UDP', members: [member({ id: 'm1' }), member({ id: 'm2', backup: true })] }), ['m1'], 'UP'],
  ];
  for (const [name, p, down, status] of cases) assert.equal(udpPoolStatus(p, new Set(down)), status, name);
});

test('no UDP listener, no table', () => {
  assert.equal(renderUdpNftables(balancer(), new Set()), null);
  assert.equal(renderUdpNftables(balancer({ listeners: [] }), new Set()), null);
});

test('the dispatch rule by algorithm, weights, backups, admin state, health and connection limit', () => {
  const rule = (selector: string, map: string) => `ip daddr 198.18.0.10 udp dport 53 counter name flows_0 dnat ip to ${selector} map { ${map} } comment "listener u1 pool p1"`;
  const both = '0 : 198.18.1.1 . 5353, 1 : 198.18.1.2 . 5353';
  const members = (...m: Partial<Member>[]) => m.map((o, i) => member({ id: String.fromCharCode(97 + i), address: `198.18.1.${i + 1}`, protocolPort: 5353, ...o }));
  const cases: [string, LoadBalancer, string[], string[]][] = [
    ['round robin', udpBalancer(), [], [rule('numgen inc mod 2', both)]],
    ['least connections: weighted round robin', udpBalancer({ pools: [udpPool({ lbAlgorithm: 'LEAST_CONNECTIONS' })] }), [], [rule('numgen inc mod 2', both)]],
    ['source IP: a hash of the client address', udpBalancer({ pools: [udpPool({ lbAlgorithm: 'SOURCE_IP' })] }), [], [rule('jhash ip saddr mod 2', both)]],
    ['SOURCE_IP persistence on round robin: the same hash', udpBalancer({ pools: [udpPool({ sessionPersistence: { type: 'SOURCE_IP' } })] }), [], [rule('jhash ip saddr mod 2', both)]],
    ['SOURCE_IP persistence with a granularity: the hash of the client network', udpBalancer({ pools: [udpPool({ sessionPersistence: { type: 'SOURCE_IP', granularity: '255.255.255.0' } })] }), [],
      [rule('jhash ip saddr and 255.255.255.0 mod 2', both)]],
    ['weights: as many slots as the weight', udpBalancer({ pools: [udpPool({ members: members({ weight: 3 }, { weight: 1 }, { weight: 2 }) })] }), [],
      [rule('numgen inc mod 6', '0-2 : 198.18.1.1 . 5353, 3 : 198.18.1.2 . 5353, 4-5 : 198.18.1.3 . 5353')]],
    ['weight 0 and admin down: left out', udpBalancer({ pools: [udpPool({ members: members({ weight: 0 }, { adminStateUp: false }, {}) })] }), [], [rule('numgen inc mod 1', '0 : 198.18.1.3 . 5353')]],
    ['down by health: left out', udpBalancer(), ['a'], [rule('numgen inc mod 1', '0 : 198.18.1.2 . 5353')]],
    ['backup: unused while another member is usable', udpBalancer({ pools: [udpPool({ members: members({}, { backup: true }) })] }), [], [rule('numgen inc mod 1', '0 : 198.18.1.1 . 5353')]],
    ['backup: used when no other member is', udpBalancer({ pools: [udpPool({ members: members({}, { backup: true }, { backup: true }) })] }), ['a'], [rule('numgen inc mod 2', '0 : 198.18.1.2 . 5353, 1 : 198.18.1.3 . 5353')]],
    ['no usable member: no rule (the amphora answers port unreachable)', udpBalancer(), ['a', 'b'], []],
    ['disabled listener: no rule', udpBalancer({ listeners: [udpListener({ adminStateUp: false })] }), [], []],
    ['disabled pool: no rule', udpBalancer({ pools: [udpPool({ adminStateUp: false })] }), [], []],
    ['no default pool: no rule', udpBalancer({ listeners: [udpListener({ defaultPoolId: null })] }), [], []],
    ['connection limit: new flows beyond it dropped', udpBalancer({ listeners: [udpListener({ connectionLimit: 100 })] }), [],
      ['ip daddr 198.18.0.10 udp dport 53 ct state new add @limit_0 { ip daddr . udp dport ct count over 100 } drop', rule('numgen inc mod 2', both)]],
    ['allowed CIDRs: other sources dropped, sorted, deduplicated, of the VIP family only', udpBalancer({ listeners: [udpListener({ allowedCidrs: ['198.18.0.0/15', 'fd00::/8', '10.0.0.0/8', '198.18.0.0/15'] })] }), [],
      ['ip daddr 198.18.0.10 udp dport 53 ip saddr != { 10.0.0.0/8, 198.18.0.0/15 } drop', rule('numgen inc mod 2', both)]],
    ['allowed CIDRs of the other family only: nobody', udpBalancer({ listeners: [udpListener({ allowedCidrs: ['fd00::/8'] })] }), [],
      ['ip daddr 198.18.0.10 udp dport 53 drop', rule('numgen inc mod 2', both)]],
    ['monitor address: checks only, traffic to the member', udpBalancer({ pools: [udpPool({ members: members({ monitorAddress: '198.18.2.1', monitorPort: 99 }) })] }), [], [rule('numgen inc mod 1', '0 : 198.18.1.1 . 5353')]],
  ];
  for (const [name, lb, down, expected] of cases) assert.deepEqual(dispatch(lb, down), expected, name);
});

test('IPv6: ip6 matches, hash and NAT; listeners by port; the same tree renders the same bytes', () => {
  const lb = balancer({
    vipAddress: 'fd00::10',
    listeners: [udpListener({ id: 'u2', protocolPort: 500, defaultPoolId: 'p1' }), udpListener({ id: 'u1', protocolPort: 53, defaultPoolId: 'p1' })],
    pools: [udpPool({ lbAlgorithm: 'SOURCE_IP', members: [member({ id: 'b', address: 'fd00:1::2', protocolPort: 7 }), member({ id: 'a', address: 'fd00:1::1', protocolPort: 7 })] })],
  });
  const rendered = renderUdpNftables(lb, new Set())!;
  assert.deepEqual(chain(rendered.script, 'prerouting'), [
    'ip6 daddr fd00::10 udp dport 53 counter name flows_0 dnat ip6 to jhash ip6 saddr mod 2 map { 0 : fd00:1::1 . 7, 1 : fd00:1::2 . 7 } comment "listener u1 pool p1"',
    'ip6 daddr fd00::10 udp dport 500 counter name flows_1 dnat ip6 to jhash ip6 saddr mod 2 map { 0 : fd00:1::1 . 7, 1 : fd00:1::2 . 7 } comment "listener u2 pool p1"',
  ]);
  assert.deepEqual(chain(rendered.script, 'postrouting'), ['ct status dnat ct original ip6 daddr fd00::10 meta l4proto udp masquerade']);
  assert.deepEqual(rendered.counters, { u1: { flows: 'flows_0', bytesIn: 'in_0', bytesOut: 'out_0' }, u2: { flows: 'flows_1', bytesIn: 'in_1', bytesOut: 'out_1' } });
  assert.deepEqual(rendered.destinations, [
    { listenerPort: 53, address: 'fd00:1::1', port: 7 },
    { listenerPort: 53, address: 'fd00:1::2', port: 7 },
    { listenerPort: 500, address: 'fd00:1::1', port: 7 },
    { listenerPort: 500, address: 'fd00:1::2', port: 7 },
  ]);
  const reordered = { ...lb, listeners: [...lb.listeners].reverse(), pools: [{ ...lb.pools[0]!, members: [...lb.pools[0]!.members].reverse() }] };
  assert.equal(renderUdpNftables(reordered, new Set())!.script, rendered.script);
});

test('refused: what the table cannot express, with a clear error', () => {
  const cases: [string, LoadBalancer, RegExp][] = [
    ['member of the other family', udpBalancer({ pools: [udpPool({ members: [member({ address: 'fd00:1::1' })] })] }), /not of the VIP's address family/],
    ['TCP pool behind a UDP listener', udpBalancer({ pools: [pool({ protocol: 'TCP' })] }), /UDP\) cannot use pool p1 \(TCP\)/],
    ['two UDP listeners on one port', udpBalancer({ listeners: [udpListener(), udpListener({ id: 'u2' })] }), /UDP port 53 is already used/],
    ['missing pool', udpBalancer({ pools: [] }), /not in the tree/],
    ['listener id with a space', udpBalancer({ listeners: [udpListener({ id: 'u 1' })] }), /not a plain token/],
    ['bad allowed CIDR', udpBalancer({ listeners: [udpListener({ allowedCidrs: ['198.18.0.0/33'] })] }), /not a CIDR/],
    ['granularity of the other family', udpBalancer({ pools: [udpPool({ sessionPersistence: { type: 'SOURCE_IP', granularity: 'ffff:ffff::' } })] }), /persistence_granularity ffff:ffff:: is not a netmask of the VIP's address family/],
    ['weight above 256', udpBalancer({ pools: [udpPool({ members: [member({ weight: 257 })] })] }), /weight 257/],
  ];
  for (const [name, lb, error] of cases) {
    assert.throws(() => renderUdpNftables(lb, new Set()), (err: Error) => err instanceof AmphoraConfigError && error.test(err.message), name);
  }
});

test('HAProxy leaves UDP listeners and pools out: a TCP listener beside them renders as alone', () => {
  const tcp = balancer({ listeners: [listener({ protocol: 'TCP', protocolPort: 53 })], pools: [pool({ protocol: 'TCP' })] });
  const mixed = { ...tcp, listeners: [...tcp.listeners, udpListener({ defaultPoolId: 'pu' })], pools: [...tcp.pools, udpPool({ id: 'pu', healthMonitor: monitor({ type: 'UDP-CONNECT' }) })] };
  assert.equal(renderHaproxyConfig(mixed, OPTIONS), renderHaproxyConfig(tcp, OPTIONS));
  assert.deepEqual(servedUdpPools(mixed).map((p) => p.id), ['pu']);
});

test('member checks: max_retries_down failures take a member down, max_retries successes bring it back', () => {
  const hm = { maxRetries: 2, maxRetriesDown: 3 };
  const run = (results: boolean[]) => results.reduce<MemberCheckState[]>((states, ok) => [...states, nextCheckState(states.at(-1)!, ok, hm)], [INITIAL_CHECK_STATE]).slice(1).map((s) => (s.up ? 'up' : 'down'));
  assert.deepEqual(run([false, false, true, false, false, false]), ['up', 'up', 'up', 'up', 'up', 'down'], 'a success resets the failure count');
  assert.deepEqual(run([false, false, false, true, false, true, true]), ['up', 'up', 'down', 'down', 'down', 'down', 'up'], 'a failure resets the success count');
});

test('what each monitor type checks a member with', () => {
  const m = member({ address: '198.18.1.1', protocolPort: 5353 });
  assert.deepEqual(probeFor(monitor({ type: 'UDP-CONNECT', timeout: 2 }), m), { type: 'UDP-CONNECT', address: '198.18.1.1', port: 5353, timeoutMs: 2000 });
  assert.deepEqual(probeFor(monitor({ type: 'TCP' }), { ...m, monitorAddress: '198.18.2.1', monitorPort: 80 }), { type: 'TCP', address: '198.18.2.1', port: 80, timeoutMs: 3000 });
  assert.deepEqual(probeFor(monitor({ type: 'HTTP', urlPath: '/healthz', expectedCodes: '200-204,302', domainName: 'a.example', httpVersion: 1.1 }), m), {
    type: 'HTTP', address: '198.18.1.1', port: 5353, timeoutMs: 3000, method: 'GET', path: '/healthz', host: 'a.example', codes: [[200, 204], [302, 302]],
  });
  assert.equal(probeFor(monitor({ type: 'PING' }), m), null);
  assert.deepEqual(codeRanges('200'), [[200, 200]]);
});

test('nft accepts the rendered tables (IPv4 and IPv6, every option) and replaces them in place', { skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, () => {
  const netns = `cn-${randomBytes(3).toString('hex')}-udp`;
  const nft = (script: string) => execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script });
  execFileSync('ip', ['netns', 'add', netns]);
  try {
    for (const [vip, a, b, mask] of [['198.18.0.10', '198.18.1.1', '198.18.1.2', '255.255.255.0'], ['fd00::10', 'fd00:1::1', 'fd00:1::2', 'ffff:ffff:ffff:ffff::']] as const) {
      const lb = balancer({
        vipAddress: vip,
        listeners: [udpListener({ connectionLimit: 10, allowedCidrs: ['198.18.0.0/15', 'fd00::/8'] }), udpListener({ id: 'u2', protocolPort: 54, defaultPoolId: 'p2' })],
        pools: [
          udpPool({ members: [member({ id: 'a', address: a, weight: 3 }), member({ id: 'b', address: b, backup: true })] }),
          udpPool({ id: 'p2', lbAlgorithm: 'SOURCE_IP', sessionPersistence: { type: 'SOURCE_IP', granularity: mask }, members: [member({ id: 'c', address: a })] }),
        ],
      });
      nft(renderUdpNftables(lb, new Set())!.script);
      nft(renderUdpNftables(lb, new Set(['a']))!.script);
      const listed = execFileSync('ip', ['netns', 'exec', netns, 'nft', 'list', 'table', 'inet', 'amphora_udp']).toString();
      assert.match(listed, new RegExp(`numgen inc mod 1 map \\{ 0 : ${b.replace(/\./g, '\\.')} \\. 8080 \\}`), listed);
      assert.ok(listed.includes(`saddr & ${mask} mod 1`), listed);
      nft(REMOVE_UDP_TABLE);
      nft(REMOVE_UDP_TABLE);
      assert.equal(execFileSync('ip', ['netns', 'exec', netns, 'nft', 'list', 'tables']).toString().trim(), '');
    }
  } finally {
    execFileSync('ip', ['netns', 'del', netns]);
  }
});
