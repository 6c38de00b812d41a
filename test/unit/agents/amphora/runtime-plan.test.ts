import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendsOf } from '../../../../src/agents/amphora/haproxy-config.js';
import { memberStateCommands, planRuntimeUpdate } from '../../../../src/agents/amphora/runtime-plan.js';
import type { LoadBalancer } from '../../../../src/agents/amphora/types.js';
import { OPTIONS, balancer, listener, member, monitor, policy, pool } from './fixtures.js';

/** Pool p1 serves two listeners (default of l1, L7 target of l2), so each member change goes to two backends. */
const tree = (members = [member({ id: 'm1' }), member({ id: 'm2', weight: 5 })]): LoadBalancer =>
  balancer({
    listeners: [
      listener({ id: 'l1', protocolPort: 80 }),
      listener({ id: 'l2', protocolPort: 8080, defaultPoolId: 'p2', l7Policies: [policy({ action: 'REDIRECT_TO_POOL', redirectPoolId: 'p1' })] }),
    ],
    pools: [pool({ id: 'p1', members }), pool({ id: 'p2', members: [member({ id: 'm9' })] })],
  });

test('backends of a tree, in config order, with their pools', () => {
  assert.deepEqual(backendsOf(tree()), [
    { name: 'p1:l1', poolId: 'p1' },
    { name: 'p1:l2', poolId: 'p1' },
    { name: 'p2:l2', poolId: 'p2' },
  ]);
});

test('member weight and admin state changes go through the runtime API, on every backend of the pool', () => {
  const cases: [string, LoadBalancer, string[]][] = [
    ['nothing changed', tree(), []],
    ['drain m1', tree([member({ id: 'm1', weight: 0 }), member({ id: 'm2', weight: 5 })]), ['set server p1:l1/m1 weight 0', 'set server p1:l2/m1 weight 0']],
    ['disable m2 and reweight it', tree([member({ id: 'm1' }), member({ id: 'm2', weight: 7, adminStateUp: false })]),
      ['set server p1:l1/m2 weight 7', 'disable server p1:l1/m2', 'set server p1:l2/m2 weight 7', 'disable server p1:l2/m2']],
  ];
  for (const [name, next, commands] of cases) assert.deepEqual(planRuntimeUpdate(tree(), next, OPTIONS), { reload: false, commands }, name);
  const disabled = tree([member({ id: 'm1', adminStateUp: false }), member({ id: 'm2', weight: 5 })]);
  assert.deepEqual(planRuntimeUpdate(disabled, tree(), OPTIONS), {
    reload: false,
    commands: ['enable server p1:l1/m1', 'set server p1:l1/m1 health up', 'enable server p1:l2/m1', 'set server p1:l2/m1 health up'],
  });
});

test('the commands that set every member to its state, backend by backend; unchecked enabled members declared up', () => {
  assert.deepEqual(memberStateCommands(tree([member({ id: 'm2', weight: 0 }), member({ id: 'm1', adminStateUp: false })])), [
    'set server p1:l1/m1 weight 1',
    'disable server p1:l1/m1',
    'set server p1:l1/m2 weight 0',
    'enable server p1:l1/m2',
    'set server p1:l1/m2 health up',
    'set server p1:l2/m1 weight 1',
    'disable server p1:l2/m1',
    'set server p1:l2/m2 weight 0',
    'enable server p1:l2/m2',
    'set server p1:l2/m2 health up',
    'set server p2:l2/m9 weight 1',
    'enable server p2:l2/m9',
    'set server p2:l2/m9 health up',
  ]);
  // A pool whose enabled monitor checks its members leaves their health to the checks; a disabled monitor does not.
  const checked = (adminStateUp: boolean) => ({ ...tree(), pools: tree().pools.map((p) => ({ ...p, healthMonitor: monitor({ adminStateUp }) })) });
  assert.ok(!memberStateCommands(checked(true)).some((c) => c.endsWith('health up')));
  assert.equal(memberStateCommands(checked(false)).filter((c) => c.endsWith('health up')).length, 5);
});

test('a new member is added through the runtime API on every backend of its pool, with its rendered server line', () => {
  const next = tree([member({ id: 'm1' }), member({ id: 'm2', weight: 5 }), member({ id: 'm3', address: '198.18.1.13', weight: 2 })]);
  assert.deepEqual(planRuntimeUpdate(tree(), next, OPTIONS), {
    reload: false,
    commands: [
      'add server p1:l1/m3 198.18.1.13:8080 weight 2',
      'add server p1:l2/m3 198.18.1.13:8080 weight 2',
      'set server p1:l1/m3 weight 2',
      'enable server p1:l1/m3',
      'set server p1:l1/m3 health up',
      'set server p1:l2/m3 weight 2',
      'enable server p1:l2/m3',
      'set server p1:l2/m3 health up',
    ],
  });
  // Checked: its checks are enabled too, and its health left to them.
  const checked = (lb: LoadBalancer): LoadBalancer => ({ ...lb, pools: lb.pools.map((p) => ({ ...p, healthMonitor: monitor() })) });
  const plan = planRuntimeUpdate(checked(tree()), checked(next), OPTIONS);
  assert.equal(plan.reload, false);
  assert.deepEqual(plan.reload === false && plan.commands.filter((c) => !c.startsWith('set server')), [
    'add server p1:l1/m3 198.18.1.13:8080 weight 2 check inter 5s fall 3 rise 2',
    'enable health p1:l1/m3',
    'add server p1:l2/m3 198.18.1.13:8080 weight 2 check inter 5s fall 3 rise 2',
    'enable health p1:l2/m3',
    'enable server p1:l1/m3',
    'enable server p1:l2/m3',
  ]);
  // A map-based source hash takes no server at runtime.
  const bySource = (lb: LoadBalancer): LoadBalancer => ({ ...lb, pools: lb.pools.map((p) => ({ ...p, lbAlgorithm: 'SOURCE_IP' as const })) });
  assert.deepEqual(planRuntimeUpdate(bySource(tree()), bySource(next), OPTIONS), { reload: true });
});

test('anything else reloads', () => {
  const cases: [string, LoadBalancer][] = [
    ['member added with another change', { ...tree([member({ id: 'm1' }), member({ id: 'm2', weight: 5 }), member({ id: 'm3' })]), listeners: tree().listeners.map((l) => ({ ...l, timeoutClientData: 1000 })) }],
    ['member removed', tree([member({ id: 'm1' })])],
    ['member address changed', tree([member({ id: 'm1', address: '198.18.1.99' }), member({ id: 'm2', weight: 5 })])],
    ['member became backup', tree([member({ id: 'm1', backup: true }), member({ id: 'm2', weight: 5 })])],
    ['pool algorithm', { ...tree(), pools: tree().pools.map((p) => ({ ...p, lbAlgorithm: 'LEAST_CONNECTIONS' as const })) }],
    ['health monitor', { ...tree(), pools: tree().pools.map((p) => ({ ...p, healthMonitor: monitor() })) }],
    ['listener timeout', { ...tree(), listeners: tree().listeners.map((l) => ({ ...l, timeoutClientData: 1000 })) }],
  ];
  for (const [name, next] of cases) assert.deepEqual(planRuntimeUpdate(tree(), next, OPTIONS), { reload: true }, name);
});
