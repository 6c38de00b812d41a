import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelevanceIndex } from '../../../src/feed/relevance-index.js';
import { applyFeedMessage, emptyTargetState, type FeedMessage, type HostTargetState } from '../../../src/feed/target-state.js';
import type { LoggedChange } from '../../../src/store/changelog.js';

/** A small deterministic PRNG so a failure can be replayed from its seed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Wire = Record<string, unknown>;
const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const GROUPS = ['g1', 'g2', 'g3'];

function fold(messages: FeedMessage[], state: HostTargetState): HostTargetState {
  for (const m of messages) applyFeedMessage(state, m);
  return state;
}

function snapshotState(index: RelevanceIndex, host: string): HostTargetState {
  const state = emptyTargetState({ name: host, tunnelIp: '', providerInterfaces: {} });
  fold(index.slice(host), state);
  return state;
}

/** Held states compare by content; the order in which items arrived does not matter. */
function normalise(s: HostTargetState) {
  const sortRecord = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
  return {
    networks: sortRecord(s.networks),
    ports: sortRecord(s.ports),
    remotePorts: sortRecord(s.remotePorts),
    securityGroups: sortRecord(s.securityGroups),
    addressSets: sortRecord(s.addressSets),
  };
}

function runScenario(seed: number, steps: number) {
  const rand = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const index = new RelevanceIndex();
  const log: LoggedChange[] = [];
  const objects = new Map<string, Wire>();
  let revision = 0;
  const live = new Map(HOSTS.map((h) => [h, emptyTargetState({ name: h, tunnelIp: '', providerInterfaces: {} })]));

  const commit = (resource: string, id: string, body: Wire | null) => {
    const key = `${resource}:${id}`;
    const previous = objects.get(key) ?? null;
    if (body) objects.set(key, body);
    else objects.delete(key);
    const change: LoggedChange = {
      revision: ++revision,
      resource,
      id,
      projectId: 'p',
      action: body ? (previous ? 'update' : 'create') : 'delete',
      body,
      previous,
      createdAt: '',
    };
    log.push(change);
    index.apply(change);
    for (const [host, keys] of index.touched(change, 'live')) fold(index.messagesFor(host, keys), live.get(host)!);
  };

  for (const [i, h] of HOSTS.entries()) commit('host', h, { name: h, tunnel_ip: `198.18.0.${10 + i}`, provider_interfaces: {} });
  for (const [n, vni] of [
    ['n1', 1001],
    ['n2', 1002],
  ] as const) {
    commit('network', n, { id: n, 'provider:network_type': 'vxlan', 'provider:segmentation_id': vni, mtu: 1450 });
    commit('subnet', `s-${n}`, { id: `s-${n}`, network_id: n, cidr: n === 'n1' ? '198.18.1.0/24' : '198.18.2.0/24', ip_version: 4, gateway_ip: null });
  }
  const rulesFor = () =>
    Array.from({ length: Math.floor(rand() * 3) }, (_, k) => ({
      id: `r${k}`,
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
      remote_ip_prefix: null,
      remote_group_id: pick(GROUPS),
    }));
  for (const g of GROUPS) commit('security_group', g, { id: g, stateful: true, security_group_rules: rulesFor() });

  const sleeperAt = Math.floor(steps / 3);
  let sleeper: { revision: number; states: Map<string, HostTargetState> } | undefined;
  let nextPort = 0;
  const ports = () => [...objects.entries()].filter(([k]) => k.startsWith('port:')).map(([, v]) => v);

  for (let step = 0; step < steps; step++) {
    if (step === sleeperAt) sleeper = { revision, states: new Map(HOSTS.map((h) => [h, snapshotState(index, h)])) };
    const roll = rand();
    const existing = ports();
    if (roll < 0.35 || existing.length === 0) {
      const id = `p${nextPort++}`;
      const network = pick(['n1', 'n2']);
      commit('port', id, {
        id,
        network_id: network,
        'binding:host_id': rand() < 0.15 ? '' : pick(HOSTS),
        mac_address: `fa:16:3e:00:00:${(nextPort % 256).toString(16).padStart(2, '0')}`,
        fixed_ips: [{ subnet_id: `s-${network}`, ip_address: `198.18.${network === 'n1' ? 1 : 2}.${nextPort % 250}` }],
        allowed_address_pairs: rand() < 0.2 ? [{ ip_address: '198.18.64.0/18' }] : [],
        security_groups: GROUPS.filter(() => rand() < 0.4),
        port_security_enabled: true,
        admin_state_up: true,
        device_owner: 'compute:lab',
        device_id: id,
        status: 'DOWN',
      });
    } else if (roll < 0.55) {
      const p = pick(existing);
      commit('port', String(p.id), { ...p, 'binding:host_id': pick([...HOSTS, '']) });
    } else if (roll < 0.7) {
      const p = pick(existing);
      commit('port', String(p.id), { ...p, security_groups: GROUPS.filter(() => rand() < 0.5) });
    } else if (roll < 0.78) {
      const p = pick(existing);
      commit('port', String(p.id), { ...p, status: p.status === 'ACTIVE' ? 'DOWN' : 'ACTIVE' });
    } else if (roll < 0.9) {
      commit('port', String(pick(existing).id), null);
    } else if (roll < 0.95) {
      const g = pick(GROUPS);
      commit('security_group', g, { id: g, stateful: true, security_group_rules: rulesFor() });
    } else {
      const [i, h] = pick([...HOSTS.entries()]);
      commit('host', h, { name: h, tunnel_ip: `198.18.0.${100 + i + Math.floor(rand() * 50)}`, provider_interfaces: {} });
    }
    for (const h of HOSTS) {
      assert.deepEqual(normalise(live.get(h)!), normalise(snapshotState(index, h)), `seed ${seed}, step ${step}, host ${h}: live state differs from the slice`);
    }
  }

  // An agent that slept since `sleeperAt` catches up by replaying the log against today's index.
  for (const h of HOSTS) {
    const keys = new Set<string>();
    for (const change of log.filter((c) => c.revision > sleeper!.revision)) for (const k of index.touched(change).get(h) ?? []) keys.add(k);
    const state = fold([...index.messagesFor(h, keys), { type: 'revision', revision }], sleeper!.states.get(h)!);
    assert.deepEqual(normalise(state), normalise(snapshotState(index, h)), `seed ${seed}, host ${h}: replay differs from the slice`);
  }
  return { changes: log.length };
}

test('live deltas keep every agent equal to its slice, and a replay catches a sleeper up (many random histories)', () => {
  for (let seed = 1; seed <= 25; seed++) runScenario(seed, 120);
});

test('a status-only change reaches no host', () => {
  const index = new RelevanceIndex();
  const port = { id: 'p', network_id: 'n', 'binding:host_id': 'h1', mac_address: 'fa:16:3e:00:00:01', fixed_ips: [], security_groups: [], status: 'DOWN' };
  index.apply({ revision: 1, resource: 'port', id: 'p', projectId: null, action: 'create', body: port, previous: null, createdAt: '' });
  const change: LoggedChange = { revision: 2, resource: 'port', id: 'p', projectId: null, action: 'update', body: { ...port, status: 'ACTIVE' }, previous: port, createdAt: '' };
  index.apply(change);
  assert.equal(index.touched(change).size, 0);
});

test('a member joining a group is one set element to each host that references the group, and nothing to others', () => {
  const index = new RelevanceIndex();
  let revision = 0;
  const apply = (resource: string, id: string, body: Wire, previous: Wire | null = null) => {
    const change: LoggedChange = { revision: ++revision, resource, id, projectId: null, action: previous ? 'update' : 'create', body, previous, createdAt: '' };
    index.apply(change);
    return index.touched(change);
  };
  apply('host', 'h1', { name: 'h1', tunnel_ip: '198.18.0.1' });
  apply('host', 'h2', { name: 'h2', tunnel_ip: '198.18.0.2' });
  apply('network', 'n', { id: 'n', mtu: 1450, 'provider:network_type': 'vxlan', 'provider:segmentation_id': 5 });
  apply('security_group', 'web', { id: 'web', security_group_rules: [{ id: 'r', direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_group_id: 'admins' }] });
  apply('security_group', 'admins', { id: 'admins', security_group_rules: [] });
  apply('port', 'server', { id: 'server', network_id: 'n', 'binding:host_id': 'h1', mac_address: 'fa:16:3e:00:00:01', fixed_ips: [{ subnet_id: 's', ip_address: '198.18.1.5' }], security_groups: ['web'] });
  const joined = apply('port', 'laptop', { id: 'laptop', network_id: 'n', 'binding:host_id': '', mac_address: 'fa:16:3e:00:00:02', fixed_ips: [{ subnet_id: 's', ip_address: '198.18.1.6' }], security_groups: ['admins'] });
  assert.deepEqual([...joined.keys()], ['h1']);
  assert.deepEqual(index.messagesFor('h1', joined.get('h1')!), [{ type: 'set_add', id: 'admins', addresses: ['198.18.1.6'] }]);
});

test('an index loaded from the database knows hosts by name, as ports and the log name them', () => {
  const index = new RelevanceIndex();
  // What indexSource reads: a host's body carries the agent's UUID as id and its name.
  index.load('host', { id: '0b6c1c8e-5f7b-4d4e-9a39-1f2a3b4c5d6e', name: 'h1', tunnel_ip: '198.18.0.1', provider_interfaces: {} });
  index.load('host', { id: '7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a', name: 'h2', tunnel_ip: '198.18.0.2', provider_interfaces: {} });
  index.load('network', { id: 'n', mtu: 1450, 'provider:network_type': 'vxlan', 'provider:segmentation_id': 5 });
  for (const [id, host] of [
    ['a', 'h1'],
    ['b', 'h2'],
  ]) {
    index.load('port', { id, network_id: 'n', 'binding:host_id': host, mac_address: `fa:16:3e:00:00:0${id === 'a' ? 1 : 2}`, fixed_ips: [], security_groups: [] });
  }
  const remotes = index.slice('h2').filter((m) => m.type === 'upsert' && m.kind === 'remotePort');
  assert.deepEqual(remotes.map((m) => (m as { value: { tunnelIp: string } }).value.tunnelIp), ['198.18.0.1']);
  assert.equal(index.hostInfo('h1')?.tunnelIp, '198.18.0.1');
});
