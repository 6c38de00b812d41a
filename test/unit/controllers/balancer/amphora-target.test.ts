// What an amphora is sent, and when the health manager gives up on one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAmphoraTarget, type AmphoraTargetInput } from '../../../../src/controllers/balancer/amphora-target.js';
import { isSilent, isWhole } from '../../../../src/controllers/balancer/health-manager.js';
import { balancerOfChange } from '../../../../src/controllers/balancer/config-revisions.js';
import type { LoadBalancer } from '../../../../src/agents/amphora/types.js';

const tree: LoadBalancer = { id: 'lb1', vipAddress: '198.19.0.20', listeners: [], pools: [] };

function input(overrides: Partial<AmphoraTargetInput> = {}): AmphoraTargetInput {
  return {
    amphora: { id: 'a', role: 'MASTER', vrrpIp: '198.19.0.31', vrrpId: 1 },
    peers: [{ id: 'b', vrrpIp: '198.19.0.32' }],
    balancer: { id: 'lb1', topology: 'ACTIVE_STANDBY', vipAddress: '198.19.0.20', vipPrefixLength: 24, deleting: false },
    tree,
    certificates: { 'cert-1': 'PEM' },
    configRevision: 42,
    ...overrides,
  };
}

test('ACTIVE_STANDBY: VRRP on eth0 with the peer, the VIP with its subnet prefix, adverts every 0.1 s', () => {
  assert.deepEqual(buildAmphoraTarget(input()), {
    amphoraId: 'a',
    loadBalancerId: 'lb1',
    configRevision: 42,
    loadBalancer: tree,
    vrrp: {
      role: 'MASTER',
      interface: 'eth0',
      virtualRouterId: 1,
      unicastSrcIp: '198.19.0.31',
      unicastPeers: ['198.19.0.32'],
      vips: ['198.19.0.20/24'],
      advertIntervalSeconds: 0.1,
    },
    vipInterface: 'eth0',
    certificates: { 'cert-1': 'PEM' },
    haproxyPeers: {
      localPeer: 'a',
      peers: [
        { name: 'a', address: '198.19.0.31' },
        { name: 'b', address: '198.19.0.32' },
      ],
      port: 1025,
    },
  });
});

test('a peer being replaced that has no VRRP address yet is left out, of VRRP and of HAProxy peers', () => {
  const target = buildAmphoraTarget(input({ peers: [{ id: 'b', vrrpIp: null }] }));
  assert.deepEqual(target.vrrp?.unicastPeers, []);
  assert.deepEqual(target.haproxyPeers?.peers, [{ name: 'a', address: '198.19.0.31' }]);
});

test('SINGLE: no VRRP, the VIP on eth0', () => {
  const target = buildAmphoraTarget(input({ amphora: { id: 'a', role: 'STANDALONE', vrrpIp: '198.19.0.31', vrrpId: 1 }, peers: [], balancer: { ...input().balancer, topology: 'SINGLE' } }));
  assert.equal(target.vrrp, null);
  assert.equal(target.haproxyPeers, null);
  assert.equal(target.vipInterface, 'eth0');
});

test('a balancer being deleted: stop serving (no tree, no certificates)', () => {
  const target = buildAmphoraTarget(input({ balancer: { ...input().balancer, deleting: true } }));
  assert.equal(target.loadBalancer, null);
  assert.deepEqual(target.certificates, {});
});

const rules = { heartbeatTimeoutMs: 3000, bootTimeoutMs: 60_000 };
const at = (iso: string) => Date.parse(iso);
for (const [name, row, now, silent] of [
  ['reported 2 s ago', { status: 'ALLOCATED', heartbeat_at: '2026-01-01T00:00:08.000Z', updated_at: null, created_at: '2026-01-01T00:00:00Z' }, '2026-01-01T00:00:10.000Z', false],
  ['reported 3.5 s ago', { status: 'ALLOCATED', heartbeat_at: '2026-01-01T00:00:06.500Z', updated_at: null, created_at: '2026-01-01T00:00:00Z' }, '2026-01-01T00:00:10.000Z', true],
  ['VM made 30 s ago, no report yet (booting)', { status: 'ALLOCATED', heartbeat_at: null, updated_at: '2026-01-01T00:00:00Z', created_at: '2026-01-01T00:00:00Z' }, '2026-01-01T00:00:30.000Z', false],
  ['VM made 61 s ago, never reported', { status: 'ALLOCATED', heartbeat_at: null, updated_at: '2026-01-01T00:00:00Z', created_at: '2026-01-01T00:00:00Z' }, '2026-01-01T00:01:01.000Z', true],
  ['no VM yet', { status: 'BOOTING', heartbeat_at: null, updated_at: '2026-01-01T00:00:00Z', created_at: '2026-01-01T00:00:00Z' }, '2026-01-01T01:00:00.000Z', false],
  ['already failed', { status: 'ERROR', heartbeat_at: '2026-01-01T00:00:00.000Z', updated_at: null, created_at: '2026-01-01T00:00:00Z' }, '2026-01-01T01:00:00.000Z', false],
] as const) {
  test(`health manager: ${name} -> ${silent ? 'silent' : 'alive'}`, () => assert.equal(isSilent(row, at(now), rules), silent));
}

test('config revisions: balancer and amphora changes name their balancer; others none', () => {
  assert.equal(balancerOfChange({ resource: 'loadbalancer', id: 'lb1', body: {}, previous: null }), 'lb1');
  assert.equal(balancerOfChange({ resource: 'amphora', id: 'a', body: { loadbalancer_id: 'lb1' }, previous: null }), 'lb1');
  assert.equal(balancerOfChange({ resource: 'amphora', id: 'a', body: null, previous: { loadbalancer_id: 'lb2' } }), 'lb2');
  assert.equal(balancerOfChange({ resource: 'port', id: 'p', body: { loadbalancer_id: 'lb1' }, previous: null }), undefined);
});

test('whole: every role held by an allocated, reporting amphora not asked to fail over', () => {
  const now = at('2026-01-01T00:00:10.000Z');
  const ok = { status: 'ALLOCATED', failover_requested: 0, heartbeat_at: '2026-01-01T00:00:09.500Z' };
  assert.equal(isWhole('ACTIVE_STANDBY', [{ ...ok, role: 'MASTER' }, { ...ok, role: 'BACKUP' }], now, 3000), true);
  assert.equal(isWhole('ACTIVE_STANDBY', [{ ...ok, role: 'BACKUP' }], now, 3000), false);
  assert.equal(isWhole('ACTIVE_STANDBY', [{ ...ok, role: 'MASTER' }, { ...ok, role: 'BACKUP', heartbeat_at: '2026-01-01T00:00:05.000Z' }], now, 3000), false);
  assert.equal(isWhole('ACTIVE_STANDBY', [{ ...ok, role: 'MASTER', failover_requested: 1 }, { ...ok, role: 'BACKUP' }], now, 3000), false);
  assert.equal(isWhole('ACTIVE_STANDBY', [{ ...ok, role: 'MASTER', status: 'BOOTING' }, { ...ok, role: 'BACKUP' }], now, 3000), false);
  assert.equal(isWhole('SINGLE', [{ ...ok, role: 'STANDALONE' }], now, 3000), true);
});
