import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFdb, parseLinks, parseNeighbours, parseRuleset } from '../../../../src/agents/host/live.js';

// Samples as iproute2 6.1 and nftables 1.0.6 print them (trimmed to the fields we read).
test('links: kind, master, VXLAN attributes and bridge port flags', () => {
  const links = parseLinks(JSON.stringify([
    { ifindex: 5, ifname: 'vxlan-100', flags: ['BROADCAST', 'UP'], mtu: 1450, master: 'brqabc',
      linkinfo: { info_kind: 'vxlan', info_data: { id: 100, local: '198.18.0.1', port: 4789, learning: false }, info_slave_kind: 'bridge', info_slave_data: { neigh_suppress: true } } },
    { ifindex: 6, ifname: 'tapx', flags: ['BROADCAST'], mtu: 1500, linkinfo: { info_kind: 'veth' } },
  ]));
  assert.deepEqual(links, [
    { ifindex: 5, name: 'vxlan-100', kind: 'vxlan', master: 'brqabc', mtu: 1450, up: true, vxlan: { id: 100, local: '198.18.0.1', port: 4789, learning: false }, neighSuppress: true },
    { ifindex: 6, name: 'tapx', kind: 'veth', master: null, mtu: 1500, up: false },
  ]);
});

test('fdb and neighbours', () => {
  assert.deepEqual(parseFdb('[{"mac":"00:00:00:00:00:00","ifname":"vxlan-100","dst":"198.18.0.2","flags":["self"],"state":"permanent"},{"mac":"fa:16:3e:00:00:09","ifname":"vxlan-100","flags":[],"master":"brqabc","state":"static"}]'), [
    { mac: '00:00:00:00:00:00', dev: 'vxlan-100', dst: '198.18.0.2', self: true, state: 'permanent' },
    { mac: 'fa:16:3e:00:00:09', dev: 'vxlan-100', dst: null, self: false, state: 'static' },
  ]);
  assert.deepEqual(parseNeighbours('[{"dst":"198.18.1.9","dev":"brqabc","lladdr":"fa:16:3e:00:00:09","state":["PERMANENT"]},{"dst":"198.18.1.7","dev":"brqabc","state":["FAILED"]}]'), [
    { ip: '198.18.1.9', dev: 'brqabc', mac: 'fa:16:3e:00:00:09' },
  ]);
});

test('ruleset: only our tables; sets, maps (verdicts and values), chains with rule digests in order', () => {
  const live = parseRuleset(JSON.stringify({ nftables: [
    { metainfo: { version: '1.0.6' } },
    { table: { family: 'inet', name: 'cloudnet', handle: 1 } },
    { table: { family: 'inet', name: 'someone-else', handle: 2 } },
    { chain: { family: 'inet', table: 'someone-else', name: 'input', handle: 1 } },
    { set: { family: 'inet', name: 'rg_x_v4', table: 'cloudnet', elem: [{ prefix: { addr: '198.18.1.0', len: 24 } }, '198.18.2.5', { range: ['198.18.3.1', '198.18.3.9'] }] } },
    { map: { family: 'inet', name: 'egress_ports', table: 'cloudnet', elem: [[5, { jump: { target: 'egress_p' } }]] } },
    { map: { family: 'inet', name: 'zones', table: 'cloudnet', elem: [['brqabc', 4]] } },
    { chain: { family: 'inet', table: 'cloudnet', name: 'prerouting', handle: 2, hook: 'prerouting' } },
    { rule: { family: 'inet', table: 'cloudnet', chain: 'prerouting', handle: 6, comment: 'cn:d1' } },
    { rule: { family: 'inet', table: 'cloudnet', chain: 'prerouting', handle: 7 } },
  ] }), 'cloudnet');
  assert.deepEqual([...live.keys()], ['inet cloudnet']);
  const t = live.get('inet cloudnet')!;
  assert.deepEqual([...t.sets.get('rg_x_v4')!], ['198.18.1.0/24', '198.18.2.5', '198.18.3.1-198.18.3.9']);
  assert.deepEqual([...t.maps.get('egress_ports')!], [['5', 'jump egress_p']]);
  assert.deepEqual([...t.maps.get('zones')!], [['brqabc', '4']]);
  // A rule without our digest (added by hand) shows as '' and makes the chain differ.
  assert.deepEqual(t.chains.get('prerouting'), { ruleDigests: ['cn:d1', ''] });
});
