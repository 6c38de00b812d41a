import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedForwarding, planLinks, type LiveLinkLayer } from '../../../../src/agents/host/link-plan.js';
import type { LiveLink } from '../../../../src/agents/host/live.js';
import { bridgeAddress } from '../../../../src/agents/host/names.js';
import { sampleTarget } from './fixtures.js';

const link = (l: Partial<LiveLink> & { name: string }): LiveLink => ({ ifindex: 1, kind: null, master: null, mtu: 1500, up: true, ...l });

/** The live state that sampleTarget() converges to (what the first plan creates). */
function converged(): LiveLinkLayer {
  return {
    links: [
      link({ name: 'brqnet1aaaaaaa', kind: 'bridge', mtu: 1450 }),
      link({ name: 'brqpub1aaaaaaa', kind: 'bridge' }),
      link({ name: 'vxlan-1001', kind: 'vxlan', master: 'brqnet1aaaaaaa', mtu: 1450, neighSuppress: true, vxlan: { id: 1001, local: '198.18.0.1', port: 4789, learning: false } }),
      link({ name: 'eth-public', kind: 'veth', master: 'brqpub1aaaaaaa' }),
      link({ name: 'tapport1aaaaaa', kind: 'veth', master: 'brqnet1aaaaaaa', mtu: 1450, ifindex: 9 }),
    ],
    fdb: [
      { mac: 'fa:16:3e:00:00:02', dev: 'vxlan-1001', dst: '198.18.0.2', self: true, state: 'permanent' },
      { mac: '00:00:00:00:00:00', dev: 'vxlan-1001', dst: '198.18.0.2', self: true, state: 'permanent' },
      { mac: 'fa:16:3e:00:00:02', dev: 'vxlan-1001', dst: null, self: false, state: 'static' },
      // learned and the device's own entries are not ours to manage
      { mac: '3a:00:00:00:00:01', dev: 'vxlan-1001', dst: null, self: false, state: 'permanent' },
    ],
    neighbours: [{ ip: '198.18.10.2', dev: 'brqnet1aaaaaaa', mac: 'fa:16:3e:00:00:02' }],
  };
}

test('an empty host gets bridges, the VXLAN device, FDB and neighbour entries, and then the tap wiring', () => {
  const live: LiveLinkLayer = {
    links: [link({ name: 'eth-public', kind: 'veth' }), link({ name: 'tapport1aaaaaa', kind: 'veth', mtu: 1500, up: false })],
    fdb: [],
    neighbours: [],
  };
  assert.deepEqual(planLinks(sampleTarget(), live), {
    ip: [
      'link add brqnet1aaaaaaa address 02:7d:73:8c:03:74 type bridge',
      'link set brqnet1aaaaaaa up',
      'link add vxlan-1001 type vxlan id 1001 local 198.18.0.1 dstport 4789 nolearning',
      'link set vxlan-1001 master brqnet1aaaaaaa mtu 1450 up',
      'link add brqpub1aaaaaaa address 02:ab:d5:19:b0:30 type bridge',
      'link set brqpub1aaaaaaa up',
      'link set eth-public master brqpub1aaaaaaa up',
      'neigh replace 198.18.10.2 lladdr fa:16:3e:00:00:02 dev brqnet1aaaaaaa nud permanent',
    ],
    bridge: [
      'link set dev vxlan-1001 neigh_suppress on',
      'fdb append 00:00:00:00:00:00 dev vxlan-1001 dst 198.18.0.2 self permanent',
      'fdb replace fa:16:3e:00:00:02 dev vxlan-1001 dst 198.18.0.2 self permanent',
      'fdb replace fa:16:3e:00:00:02 dev vxlan-1001 master static',
    ],
    plug: ['link set tapport1aaaaaa master brqnet1aaaaaaa mtu 1450 up'],
  });
});

test('bridge addresses: locally administered unicast, fixed per host and network', () => {
  const a = bridgeAddress('net1aaaaaaaaaaaa', '198.18.0.1');
  assert.match(a, /^02(:[0-9a-f]{2}){5}$/);
  assert.equal(bridgeAddress('net1aaaaaaaaaaaa', '198.18.0.1'), a);
  // One network's bridges on two hosts meet over VXLAN: they must not share a MAC.
  assert.notEqual(bridgeAddress('net1aaaaaaaaaaaa', '198.18.0.2'), a);
  assert.notEqual(bridgeAddress('pub1aaaaaaaaaaaa', '198.18.0.1'), a);
});

test('a converged host plans nothing (a restart touches nothing)', () => {
  assert.deepEqual(planLinks(sampleTarget(), converged()), { ip: [], bridge: [], plug: [] });
});

test('the forwarding a pass expects to have written plans the same as the kernel listing it', () => {
  const target = sampleTarget();
  assert.deepEqual(planLinks(target, { links: converged().links, ...expectedForwarding(target) }), { ip: [], bridge: [], plug: [] });
  const moved = sampleTarget();
  moved.remotePorts.r1!.tunnelIp = '198.18.0.3';
  assert.deepEqual(planLinks(moved, { links: converged().links, ...expectedForwarding(target) }), planLinks(moved, converged()));
});

test('drift and changes become the smallest set of commands', () => {
  const cases: { name: string; edit: (t: ReturnType<typeof sampleTarget>, l: LiveLinkLayer) => void; ip: string[]; bridge: string[]; plug?: string[] }[] = [
    {
      name: 'a hand-deleted FDB entry comes back',
      edit: (_t, l) => l.fdb.splice(0, 1),
      ip: [],
      bridge: ['fdb replace fa:16:3e:00:00:02 dev vxlan-1001 dst 198.18.0.2 self permanent'],
    },
    {
      name: 'a remote port moves to another host: its entry and the flood list follow',
      edit: (t) => (t.remotePorts.r1!.tunnelIp = '198.18.0.3'),
      ip: [],
      bridge: [
        'fdb del fa:16:3e:00:00:02 dev vxlan-1001 dst 198.18.0.2 self',
        'fdb del 00:00:00:00:00:00 dev vxlan-1001 dst 198.18.0.2 self',
        'fdb append 00:00:00:00:00:00 dev vxlan-1001 dst 198.18.0.3 self permanent',
        'fdb replace fa:16:3e:00:00:02 dev vxlan-1001 dst 198.18.0.3 self permanent',
      ],
    },
    {
      name: 'a remote port leaves: entries and neighbour go',
      edit: (t) => delete t.remotePorts.r1,
      ip: ['neigh del 198.18.10.2 dev brqnet1aaaaaaa'],
      bridge: [
        'fdb del fa:16:3e:00:00:02 dev vxlan-1001 dst 198.18.0.2 self',
        'fdb del 00:00:00:00:00:00 dev vxlan-1001 dst 198.18.0.2 self',
        'fdb del fa:16:3e:00:00:02 dev vxlan-1001 master',
      ],
    },
    {
      name: 'the local port leaves: its tap is unplugged, not deleted',
      edit: (t) => delete t.ports.port1aaaaaaaaaaa,
      ip: ['link set tapport1aaaaaa nomaster'],
      bridge: [],
    },
    {
      name: 'a network leaves: its devices go, entries with them',
      edit: (t) => {
        delete t.networks.net1aaaaaaaaaaaa;
        delete t.ports.port1aaaaaaaaaaa;
        delete t.remotePorts.r1;
      },
      ip: ['link del vxlan-1001', 'link del brqnet1aaaaaaa', 'link set tapport1aaaaaa nomaster'],
      bridge: [],
    },
    {
      name: 'port MTU and admin state follow the port',
      edit: (t) => Object.assign(t.ports.port1aaaaaaaaaaa!, { mtu: 1400, adminStateUp: false }),
      ip: [],
      bridge: [],
      plug: ['link set tapport1aaaaaa mtu 1400 down'],
    },
    {
      name: 'a tap whose ifindex cannot be a mark is taken out of its bridge: no rule could filter it',
      edit: (_t, l) => (l.links[4]!.ifindex = 65536),
      ip: ['link set tapport1aaaaaa nomaster'],
      bridge: [],
    },
    {
      name: 'a tap whose ifindex cannot be a mark is never plugged',
      edit: (_t, l) => Object.assign(l.links[4]!, { ifindex: 70000, master: null }),
      ip: [],
      bridge: [],
    },
    {
      name: 'a VXLAN device with the wrong VNI is replaced',
      edit: (_t, l) => (l.links[2]!.vxlan!.id = 5),
      ip: [
        'link del vxlan-1001',
        'link add vxlan-1001 type vxlan id 1001 local 198.18.0.1 dstport 4789 nolearning',
        'link set vxlan-1001 master brqnet1aaaaaaa mtu 1450 up',
      ],
      bridge: ['link set dev vxlan-1001 neigh_suppress on'],
    },
  ];
  for (const c of cases) {
    const target = sampleTarget();
    const live = converged();
    c.edit(target, live);
    assert.deepEqual(planLinks(target, live), { ip: c.ip, bridge: c.bridge, plug: c.plug ?? [] }, c.name);
  }
});
