import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalElements } from '../../../../src/agents/host/addresses.js';
import { parseRuleset, type LiveRuleset } from '../../../../src/agents/host/live.js';
import { expectedRuleset, planNftables } from '../../../../src/agents/host/nft-plan.js';
import { allowedSources, portsChain, renderRuleset, renderSecurityGroupRule, ruleDigest } from '../../../../src/agents/host/ruleset.js';
import type { LocalPort, SecurityGroupRule } from '../../../../src/feed/target-state.js';
import { port, sampleTarget } from './fixtures.js';

/** Tap ifindex 9 for the sample port; the sample network's bridge has ifindex 4. */
const KEYS = () => ({ marks: new Map([['port1aaaaaaaaaaa', 9]]), zones: new Map([['brqnet1aaaaaaa', 4]]) });

const rule = (r: Partial<SecurityGroupRule>): SecurityGroupRule => ({
  id: 'r', direction: 'ingress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, ...r,
});

test('security group rules as nft rules (Neutron semantics)', () => {
  const cases: [Partial<SecurityGroupRule>, string | null][] = [
    [{}, 'meta nfproto ipv4 accept'],
    [{ direction: 'egress', ethertype: 'IPv6' }, 'meta nfproto ipv6 accept'],
    [{ protocol: '6', portRangeMin: 22, portRangeMax: 22 }, 'meta nfproto ipv4 meta l4proto 6 th dport 22 accept'],
    [{ protocol: 'udp', portRangeMin: 1000, portRangeMax: 2000, remoteIpPrefix: '198.18.0.7/16' }, 'meta nfproto ipv4 ip saddr 198.18.0.0/16 meta l4proto 17 th dport 1000-2000 accept'],
    [{ direction: 'egress', remoteIpPrefix: '198.18.5.5/32' }, 'meta nfproto ipv4 ip daddr 198.18.5.5 accept'],
    [{ remoteIpPrefix: '0.0.0.0/0' }, 'meta nfproto ipv4 accept'],
    [{ protocol: '1', portRangeMin: 8, portRangeMax: 0 }, 'meta nfproto ipv4 meta l4proto icmp icmp type 8 icmp code 0 accept'],
    [{ protocol: 'icmp' }, 'meta nfproto ipv4 meta l4proto icmp accept'],
    [{ ethertype: 'IPv6', protocol: 'icmp', portRangeMin: 128 }, 'meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 128 accept'],
    [{ remoteGroupId: 'g1', protocol: '6', portRangeMin: 22, portRangeMax: 22 }, 'meta nfproto ipv4 ip saddr @rg_g1_v4 meta l4proto 6 th dport 22 accept'],
    [{ ethertype: 'IPv6', direction: 'egress', remoteGroupId: 'g1' }, 'meta nfproto ipv6 ip6 daddr @rg_g1_v6 accept'],
    [{ protocol: '47' }, 'meta nfproto ipv4 meta l4proto 47 accept'],
    [{ protocol: 'bogus' }, null],
    [{ remoteIpPrefix: 'fd00::/8' }, null], // family mismatch: Neutron refuses it; never render it
  ];
  for (const [r, expected] of cases) assert.equal(renderSecurityGroupRule(rule(r)), expected, JSON.stringify(r));
});

test('interval elements: canonical, one family, contained prefixes dropped', () => {
  assert.deepEqual(intervalElements(['198.18.1.5', '198.18.1.0/24', '198.18.2.9/32', 'fd00::1', '198.18.1.77'], 4), ['198.18.1.0/24', '198.18.2.9']);
  assert.deepEqual(intervalElements(['FD00::1', 'fd00::/64', 'fd01::5/128'], 6), ['fd00::/64', 'fd01::5']);
});

test('allowed sources: each address bound to its MAC (fixed IPs and pairs without one: the port\'s), CIDRs included', () => {
  const cases: [string, Partial<LocalPort>, ReturnType<typeof allowedSources>][] = [
    [
      'fixed IP only',
      {},
      { macs: ['fa:16:3e:00:00:01'], v4: ['fa:16:3e:00:00:01 . 198.18.10.1'], v6: ['fa:16:3e:00:00:01 . ::', 'fa:16:3e:00:00:01 . fe80::/64'] },
    ],
    [
      'pairs with and without a MAC; a contained address dropped per MAC only',
      {
        allowedAddressPairs: [
          { ipAddress: '198.18.20.0/24', macAddress: '' },
          { ipAddress: '198.18.20.7', macAddress: 'FA:16:3E:00:00:AA' },
          { ipAddress: '198.18.20.9', macAddress: '' },
          { ipAddress: 'fd00::9', macAddress: 'fa:16:3e:00:00:aa' },
        ],
      },
      {
        macs: ['fa:16:3e:00:00:01', 'fa:16:3e:00:00:aa'],
        v4: ['fa:16:3e:00:00:01 . 198.18.10.1', 'fa:16:3e:00:00:01 . 198.18.20.0/24', 'fa:16:3e:00:00:aa . 198.18.20.7'],
        v6: ['fa:16:3e:00:00:01 . ::', 'fa:16:3e:00:00:01 . fe80::/64', 'fa:16:3e:00:00:aa . ::', 'fa:16:3e:00:00:aa . fd00::9', 'fa:16:3e:00:00:aa . fe80::/64'],
      },
    ],
    [
      'no fixed IP: the MAC alone',
      { fixedIps: [] },
      { macs: ['fa:16:3e:00:00:01'], v4: [], v6: ['fa:16:3e:00:00:01 . ::', 'fa:16:3e:00:00:01 . fe80::/64'] },
    ],
  ];
  for (const [what, overrides, expected] of cases) assert.deepEqual(allowedSources(port(overrides)), expected, what);
});

test('stateless groups: their ports\' chains never consult conntrack, and their traffic is not tracked either way', () => {
  const t = sampleTarget();
  t.securityGroups.sg1!.stateful = false;
  t.ports.port1aaaaaaaaaaa!.allowedAddressPairs = [{ ipAddress: '198.18.10.50', macAddress: 'fa:16:3e:00:00:aa' }];
  t.ports.port2aaaaaaaaaaa = port({ id: 'port2aaaaaaaaaaa', mac: 'fa:16:3e:00:00:03', securityGroupIds: ['sg2'] });
  t.securityGroups.sg2 = { id: 'sg2', stateful: true, rules: [] };
  const [, inet] = renderRuleset(t, { marks: new Map([['port1aaaaaaaaaaa', 9], ['port2aaaaaaaaaaa', 12]]), zones: new Map([['brqnet1aaaaaaa', 4]]) });
  const cases: [string, string[]][] = [
    [portsChain('egress', ['sg1']), ['icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } accept', 'udp sport 68 udp dport 67 accept', 'jump sg_sg1_egress', 'drop']],
    [portsChain('ingress', ['sg1']), ['icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept', 'udp sport 67 udp dport 68 accept', 'jump sg_sg1_ingress', 'drop']],
  ];
  for (const [chain, rules] of cases) assert.deepEqual(inet!.chains.get(chain)!.rules, rules, chain);
  // The stateful port keeps its conntrack shortcut.
  assert.equal(inet!.chains.get(portsChain('ingress', ['sg2']))!.rules[0], 'ct state established,related accept');
  assert.deepEqual(inet!.sets.get('stateless_marks')!.elements, ['9']);
  assert.deepEqual(inet!.sets.get('stateless_macs')!.elements, ['fa:16:3e:00:00:01', 'fa:16:3e:00:00:aa']);
  assert.deepEqual(inet!.chains.get('zone')!.rules.slice(0, 2), ['meta mark & 0x0000ffff @stateless_marks notrack accept', 'ether daddr @stateless_macs notrack accept']);
});

test('ruleset: per-port state is only elements; ports with the same groups share chains; remote groups are sets', () => {
  const t = sampleTarget();
  t.ports.port2aaaaaaaaaaa = port({ id: 'port2aaaaaaaaaaa', mac: 'fa:16:3e:00:00:03', fixedIps: [{ subnetId: 's1', ipAddress: '198.18.10.3' }] });
  const [bridge, inet] = renderRuleset(t, { marks: new Map([['port1aaaaaaaaaaa', 9], ['port2aaaaaaaaaaa', 12]]), zones: new Map([['brqnet1aaaaaaa', 4]]) });
  assert.deepEqual(bridge!.sets.get('protected')!.elements, ['tapport1aaaaaa', 'tapport2aaaaaa']);
  // Unprotected ports' frames leave the anti-spoofing chain after one lookup; no later rule asks again.
  const prerouting = bridge!.chains.get('prerouting')!.rules;
  assert.deepEqual(prerouting.slice(0, 2), ['meta mark set iifname map @in_marks', 'iifname != @protected accept']);
  assert.deepEqual(prerouting.filter((r) => r.includes('@protected')), ['iifname != @protected accept']);
  assert.deepEqual(bridge!.sets.get('mac_ok')!.elements, ['tapport1aaaaaa . fa:16:3e:00:00:01', 'tapport2aaaaaa . fa:16:3e:00:00:03']);
  assert.deepEqual(bridge!.sets.get('mac_ip4_ok')!.elements, ['tapport1aaaaaa . fa:16:3e:00:00:01 . 198.18.10.1', 'tapport2aaaaaa . fa:16:3e:00:00:03 . 198.18.10.3']);
  assert.deepEqual([...bridge!.maps.get('in_marks')!.elements], [['tapport1aaaaaa', '9'], ['tapport2aaaaaa', '12']]);
  assert.deepEqual([...bridge!.maps.get('out_marks')!.elements], [['tapport1aaaaaa', String(9 << 16)], ['tapport2aaaaaa', String(12 << 16)]]);
  const egress = portsChain('egress', ['sg1']);
  assert.deepEqual([...inet!.maps.get('egress_ports')!.elements], [['9', `jump ${egress}`], ['12', `jump ${egress}`]]);
  assert.deepEqual([...inet!.maps.get('zones')!.elements], [['brqnet1aaaaaaa', '4']]);
  assert.deepEqual(inet!.sets.get('rg_sg1_v4')!.elements, ['198.18.10.1', '198.18.10.2']);
  assert.deepEqual(inet!.chains.get(portsChain('ingress', ['sg1']))!.rules.slice(-2), ['jump sg_sg1_ingress', 'drop']);
  assert.deepEqual(inet!.chains.get('sg_sg1_ingress')!.rules, ['meta nfproto ipv4 ip saddr @rg_sg1_v4 meta l4proto 6 th dport 22 accept']);
  // One chain pair for both ports: 3 base chains, 2 group chains, 2 port chains.
  assert.equal(inet!.chains.size, 7);

  // A port that is not plugged, or has port security off, gets nothing.
  const off = sampleTarget();
  off.ports.port1aaaaaaaaaaa!.portSecurityEnabled = false;
  const [b2] = renderRuleset(off, KEYS());
  assert.equal(b2!.maps.get('in_marks')!.elements.size, 0);
  assert.equal(b2!.sets.get('protected')!.elements.length, 0);
  const [b3] = renderRuleset(sampleTarget(), { marks: new Map(), zones: new Map() });
  assert.equal(b3!.sets.get('mac_ok')!.elements.length, 0);
});

/** An element as `nft -j` lists it: prefixes as objects, concatenations as `concat` arrays. */
function listed(e: string): unknown {
  if (e.includes(' . ')) return { concat: e.split(' . ').map(listed) };
  return e.includes('/') ? { prefix: { addr: e.split('/')[0], len: Number(e.split('/')[1]) } } : e;
}

/** What `nft -j list ruleset` would show after applying a plan to an empty host, built from the desired tables. */
function liveFrom(target = sampleTarget(), keys = KEYS()): LiveRuleset {
  const nftables: unknown[] = [];
  for (const t of renderRuleset(target, keys)) {
    nftables.push({ table: { family: t.family, name: 'cloudnet' } });
    for (const [name, set] of t.sets) nftables.push({ set: { family: t.family, table: 'cloudnet', name, elem: set.elements.map(listed) } });
    for (const [name, map] of t.maps) nftables.push({ map: { family: t.family, table: 'cloudnet', name, elem: [...map.elements].map(([k, v]) => [map.quoteKeys ? k : Number(k), v.startsWith('jump ') ? { jump: { target: v.split(' ')[1] } } : Number(v)]) } });
    let handle = 1;
    for (const [name, chain] of t.chains) {
      nftables.push({ chain: { family: t.family, table: 'cloudnet', name } });
      for (const r of chain.rules) nftables.push({ rule: { family: t.family, table: 'cloudnet', chain: name, handle: handle++, comment: ruleDigest(r) } });
    }
  }
  return parseRuleset(JSON.stringify({ nftables }), 'cloudnet');
}

test('nft plan: nothing when in sync; element changes for membership; one chain rewritten for drift', () => {
  const target = sampleTarget();
  const desired = renderRuleset(target, KEYS());
  assert.equal(planNftables(desired, liveFrom(), 'cloudnet'), '');
  // What a pass expects to have written is, to the next plan, the same as the kernel's listing of it.
  assert.equal(planNftables(desired, expectedRuleset(desired, 'cloudnet'), 'cloudnet'), '');
  const next = renderRuleset(target, KEYS());
  next[1]!.sets.get('rg_sg1_v4')!.elements.push('198.18.10.9');
  assert.equal(planNftables(next, expectedRuleset(desired, 'cloudnet'), 'cloudnet'), planNftables(next, liveFrom(), 'cloudnet'));

  target.addressSets.sg1!.addresses.push('198.18.10.3');
  assert.equal(planNftables(renderRuleset(target, KEYS()), liveFrom(), 'cloudnet'), 'add element inet cloudnet rg_sg1_v4 { 198.18.10.3 }\n');

  const drifted = liveFrom();
  drifted.get('inet cloudnet')!.chains.get('sg_sg1_ingress')!.ruleDigests.pop();
  assert.equal(
    planNftables(desired, drifted, 'cloudnet'),
    'flush chain inet cloudnet sg_sg1_ingress\n' +
      `add rule inet cloudnet sg_sg1_ingress meta nfproto ipv4 ip saddr @rg_sg1_v4 meta l4proto 6 th dport 22 accept comment "${ruleDigest('meta nfproto ipv4 ip saddr @rg_sg1_v4 meta l4proto 6 th dport 22 accept')}"\n`,
  );
});

test('nft plan: a port leaving removes its elements; chains no port uses go after the elements that jump to them', () => {
  const target = sampleTarget();
  delete target.ports.port1aaaaaaaaaaa;
  const script = planNftables(renderRuleset(target, { marks: new Map(), zones: new Map([['brqnet1aaaaaaa', 4]]) }), liveFrom(), 'cloudnet').trimEnd().split('\n');
  assert.ok(script.includes('delete element bridge cloudnet protected { "tapport1aaaaaa" }'), script.join('\n'));
  assert.ok(script.includes('delete element bridge cloudnet mac_ok { "tapport1aaaaaa" . fa:16:3e:00:00:01 }'));
  assert.ok(script.includes('delete element bridge cloudnet in_marks { "tapport1aaaaaa" }'));
  assert.ok(script.includes('delete element inet cloudnet ingress_ports { 589824 }'));
  // No port uses sg1's combination any more: its port chains go, after the map elements that jump to them.
  const chainDelete = script.indexOf(`delete chain inet cloudnet ${portsChain('egress', ['sg1'])}`);
  assert.ok(chainDelete > script.indexOf('delete element inet cloudnet egress_ports { 9 }'));
  assert.equal(script.some((l) => l.startsWith('delete set')), false); // sg1 is still on the host
});

test('gratuitous ARP for allowed-pair addresses is copied to the VXLAN device; the chain is named by its devices', () => {
  const t = sampleTarget();
  t.ports.port1aaaaaaaaaaa!.allowedAddressPairs = [{ ipAddress: '198.18.10.48/29', macAddress: '' }, { ipAddress: 'fd00::5', macAddress: '' }];
  const [, , netdev] = renderRuleset(t, KEYS());
  assert.deepEqual(netdev!.sets.get('vip4')!.elements, ['tapport1aaaaaa . 198.18.10.48/29']);
  assert.deepEqual([...netdev!.maps.get('flood')!.elements], [['tapport1aaaaaa', 'vxlan-1001']]);
  const [[name, chain]] = [...netdev!.chains];
  assert.match(name!, /^garp_[0-9a-f]{16}$/);
  assert.equal(chain!.spec, 'type filter hook ingress devices = { "tapport1aaaaaa" } priority 0; policy accept;');
  // The same tap recreated (another ifindex) needs a new hook: a new chain name.
  const [, , again] = renderRuleset(t, { ...KEYS(), marks: new Map([['port1aaaaaaaaaaa', 10]]) });
  assert.notEqual([...again!.chains.keys()][0], name);
  // No allowed pairs, no chain (a netdev chain cannot have an empty device list).
  assert.equal(renderRuleset(sampleTarget(), KEYS())[2]!.chains.size, 0);
  const script = planNftables(renderRuleset(t, KEYS()), liveFrom(), 'cloudnet');
  assert.ok(script.includes('add element netdev cloudnet flood { "tapport1aaaaaa" : "vxlan-1001" }'), script);
});
