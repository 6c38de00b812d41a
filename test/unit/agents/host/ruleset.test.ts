import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalElements } from '../../../../src/agents/host/addresses.js';
import { parseRuleset, type LiveRuleset } from '../../../../src/agents/host/live.js';
import { planNftables } from '../../../../src/agents/host/nft-plan.js';
import { antiSpoofingRules, renderRuleset, renderSecurityGroupRule, ruleDigest } from '../../../../src/agents/host/ruleset.js';
import type { SecurityGroupRule } from '../../../../src/feed/target-state.js';
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

test('anti-spoofing honours allowed address pairs, CIDRs included', () => {
  const rules = antiSpoofingRules(
    port({ allowedAddressPairs: [{ ipAddress: '198.18.20.0/24', macAddress: '' }, { ipAddress: '198.18.30.3', macAddress: 'FA:16:3E:00:00:AA' }] }),
  );
  assert.deepEqual(rules, [
    'ether saddr != { fa:16:3e:00:00:01, fa:16:3e:00:00:aa } drop',
    'arp saddr ether != { fa:16:3e:00:00:01, fa:16:3e:00:00:aa } drop',
    'arp saddr ip != { 0.0.0.0, 198.18.10.1, 198.18.20.0/24, 198.18.30.3 } drop',
    'ip saddr 0.0.0.0 udp sport 68 udp dport 67 return',
    'ip saddr != { 198.18.10.1, 198.18.20.0/24, 198.18.30.3 } drop',
    'ip6 saddr != { ::, fe80::/64 } drop',
  ]);
});

test('ruleset: ports are marked by tap ifindex, dispatched through maps; remote groups are sets', () => {
  const [bridge, inet] = renderRuleset(sampleTarget(), KEYS());
  assert.deepEqual([...bridge!.maps.get('from_ports')!.elements], [['tapport1aaaaaa', 'jump from_port1aaaaaaaaaaa']]);
  assert.equal(bridge!.chains.get('from_port1aaaaaaaaaaa')!.rules[0], 'meta mark set 0x00000009');
  assert.deepEqual(bridge!.chains.get('to_port1aaaaaaaaaaa')!.rules, ['meta mark set meta mark & 0x0000ffff | 0x00090000']);
  assert.deepEqual([...inet!.maps.get('egress_ports')!.elements], [['9', 'jump egress_port1aaaaaaaaaaa']]);
  assert.deepEqual([...inet!.maps.get('ingress_ports')!.elements], [[String(9 << 16), 'jump ingress_port1aaaaaaaaaaa']]);
  assert.deepEqual([...inet!.maps.get('zones')!.elements], [['brqnet1aaaaaaa', '4']]);
  assert.deepEqual(inet!.sets.get('rg_sg1_v4')!.elements, ['198.18.10.1', '198.18.10.2']);
  assert.deepEqual(inet!.chains.get('ingress_port1aaaaaaaaaaa')!.rules.slice(-2), ['jump sg_sg1_ingress', 'drop']);
  assert.deepEqual(inet!.chains.get('sg_sg1_ingress')!.rules, ['meta nfproto ipv4 ip saddr @rg_sg1_v4 meta l4proto 6 th dport 22 accept']);

  // A port that is not plugged, or has port security off, gets nothing.
  const t = sampleTarget();
  t.ports.port1aaaaaaaaaaa!.portSecurityEnabled = false;
  const [b2] = renderRuleset(t, KEYS());
  assert.equal(b2!.maps.get('from_ports')!.elements.size, 0);
  const [b3] = renderRuleset(sampleTarget(), { marks: new Map(), zones: new Map() });
  assert.equal(b3!.chains.has('from_port1aaaaaaaaaaa'), false);
});

/** What `nft -j list ruleset` would show after applying a plan to an empty host, built from the desired tables. */
function liveFrom(target = sampleTarget(), keys = KEYS()): LiveRuleset {
  const nftables: unknown[] = [];
  for (const t of renderRuleset(target, keys)) {
    nftables.push({ table: { family: t.family, name: 'cloudnet' } });
    for (const [name, set] of t.sets) nftables.push({ set: { family: t.family, table: 'cloudnet', name, elem: set.elements.map((e) => (e.includes('/') ? { prefix: { addr: e.split('/')[0], len: Number(e.split('/')[1]) } } : e)) } });
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

test('nft plan: a port leaving removes its map elements before its chains', () => {
  const target = sampleTarget();
  delete target.ports.port1aaaaaaaaaaa;
  const script = planNftables(renderRuleset(target, { marks: new Map(), zones: new Map([['brqnet1aaaaaaa', 4]]) }), liveFrom(), 'cloudnet').trimEnd().split('\n');
  const firstFlush = script.findIndex((l) => l.startsWith('flush chain bridge cloudnet from_'));
  assert.ok(script.indexOf('delete element bridge cloudnet from_ports { "tapport1aaaaaa" }') < firstFlush);
  assert.ok(script.includes('delete element inet cloudnet ingress_ports { 589824 }'));
  assert.ok(script.includes('delete chain inet cloudnet egress_port1aaaaaaaaaaa'));
  assert.equal(script.some((l) => l.startsWith('delete set')), false); // sg1 is still on the host
});
