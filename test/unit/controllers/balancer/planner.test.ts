// The provisioning planner, table by table: observed state in, next steps out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  desiredRules,
  planBalancer,
  type ObservedAmphora,
  type ObservedPort,
  type ObservedState,
  type SecurityGroupRule,
} from '../../../../src/controllers/balancer/planner.js';

const LB = 'lb1';
const VIP_NET = 'net-public';
const MEMBER_NET = 'net-demo';

function rulesFor(ports: number[]): SecurityGroupRule[] {
  return desiredRules(ports.map((port) => ({ protocol: 'tcp', port })), false).map((r, i) => ({ ...r, id: `rule${i}` }));
}

type StateOverrides = Partial<Omit<ObservedState, 'balancer'>> & { balancer?: Partial<ObservedState['balancer']> };

function state(overrides: StateOverrides = {}): ObservedState {
  const { balancer, ...rest } = overrides;
  return {
    balancer: {
      id: LB,
      projectId: 'demo',
      provisioningStatus: 'PENDING_CREATE',
      operatingStatus: 'OFFLINE',
      topology: 'ACTIVE_STANDBY',
      vipNetworkId: VIP_NET,
      vipSubnetId: 'sub-public',
      vipAddress: '198.19.0.20',
      memberNetworkIds: [],
      configRevision: 50,
      listenerPorts: [],
      pendingForMs: 1000,
      ...balancer,
    },
    amphorae: [],
    ports: [{ id: 'vip', kind: 'vip', networkId: VIP_NET, amphoraId: null, host: '', address: '198.19.0.20' }],
    securityGroup: { id: 'sg', rules: rulesFor([]) },
    computeAvailable: true,
    provisioningTimeoutMs: 300_000,
    ...rest,
  };
}

function amphora(id: string, role: ObservedAmphora['role'], extra: Partial<ObservedAmphora> = {}): ObservedAmphora {
  return { id, role, status: 'ALLOCATED', computeId: id, host: `host-${id}`, appliedConfigRevision: 50, applyError: null, reporting: true, failoverRequested: false, ...extra };
}

function vrrpPort(amphoraId: string, host = `host-${amphoraId}`): ObservedPort {
  return { id: `vrrp-${amphoraId}`, kind: 'vrrp', networkId: VIP_NET, amphoraId, host, address: '198.19.0.30' };
}

function memberPort(amphoraId: string, host = `host-${amphoraId}`, networkId = MEMBER_NET): ObservedPort {
  return { id: `member-${amphoraId}-${networkId}`, kind: 'member', networkId, amphoraId, host, address: '198.18.1.30' };
}

const vip = state().ports[0];
const pair = () => [amphora('a', 'MASTER'), amphora('b', 'BACKUP')];

const cases: { name: string; state: ObservedState; actions: unknown[]; waitingFor?: RegExp }[] = [
  { name: 'a new balancer gets its VIP port first', state: state({ ports: [], securityGroup: null }), actions: [{ kind: 'createVipPort' }] },
  { name: 'then its security group', state: state({ securityGroup: null }), actions: [{ kind: 'createSecurityGroup' }] },
  {
    name: 'then two amphorae, MASTER and BACKUP, for ACTIVE_STANDBY',
    state: state(),
    actions: [{ kind: 'createAmphora', role: 'MASTER' }, { kind: 'createAmphora', role: 'BACKUP' }],
  },
  { name: 'one STANDALONE amphora for SINGLE', state: state({ balancer: { topology: 'SINGLE' } }), actions: [{ kind: 'createAmphora', role: 'STANDALONE' }] },
  {
    name: 'new amphora rows get their VRRP ports',
    state: state({ amphorae: [amphora('a', 'MASTER', { status: 'BOOTING', computeId: null, host: null }), amphora('b', 'BACKUP', { status: 'BOOTING', computeId: null, host: null })] }),
    actions: [{ kind: 'createVrrpPort', amphoraId: 'a' }, { kind: 'createVrrpPort', amphoraId: 'b' }],
  },
  {
    name: 'then a port on each member network, before the VM',
    state: state({
      balancer: { memberNetworkIds: [MEMBER_NET] },
      amphorae: [amphora('a', 'MASTER', { status: 'BOOTING', computeId: null, host: null })],
      ports: [vip, vrrpPort('a', '')],
    }),
    actions: [{ kind: 'createAmphora', role: 'BACKUP' }, { kind: 'createMemberPort', amphoraId: 'a', networkId: MEMBER_NET }],
  },
  {
    name: 'VMs: ports in order (VRRP first), away from the other amphora’s host',
    state: state({
      balancer: { memberNetworkIds: [MEMBER_NET] },
      amphorae: [amphora('a', 'MASTER'), amphora('b', 'BACKUP', { status: 'BOOTING', computeId: null, host: null })],
      ports: [vip, vrrpPort('a'), memberPort('a'), vrrpPort('b', ''), memberPort('b', '')],
    }),
    actions: [{ kind: 'createVm', amphoraId: 'b', portIds: ['vrrp-b', `member-b-${MEMBER_NET}`], avoidHosts: ['host-a'] }],
  },
  {
    name: 'a member network added later: a port for each amphora, then plugged into the running VMs',
    state: state({ balancer: { memberNetworkIds: [MEMBER_NET], provisioningStatus: 'PENDING_UPDATE' }, amphorae: pair(), ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [
      { kind: 'createMemberPort', amphoraId: 'a', networkId: MEMBER_NET },
      { kind: 'createMemberPort', amphoraId: 'b', networkId: MEMBER_NET },
    ],
  },
  {
    name: 'unplugged member ports of running VMs are plugged',
    state: state({ balancer: { memberNetworkIds: [MEMBER_NET] }, amphorae: pair(), ports: [vip, vrrpPort('a'), vrrpPort('b'), memberPort('a', ''), memberPort('b')] }),
    actions: [{ kind: 'attachPort', amphoraId: 'a', computeId: 'a', portId: `member-a-${MEMBER_NET}` }],
  },
  {
    name: 'a member network no longer used: its ports go',
    state: state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'ONLINE' }, amphorae: pair(), ports: [vip, vrrpPort('a'), vrrpPort('b'), memberPort('a'), memberPort('b')] }),
    actions: [{ kind: 'deletePort', portId: `member-a-${MEMBER_NET}` }, { kind: 'deletePort', portId: `member-b-${MEMBER_NET}` }],
  },
  {
    name: 'everything made, an amphora behind the latest revision: wait',
    state: state({ amphorae: [amphora('a', 'MASTER'), amphora('b', 'BACKUP', { appliedConfigRevision: 49 })], ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [],
    waitingFor: /amphorae b to apply revision 50/,
  },
  {
    name: 'everything made, an amphora not reporting yet: wait',
    state: state({ amphorae: [amphora('a', 'MASTER'), amphora('b', 'BACKUP', { reporting: false })], ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [],
    waitingFor: /amphorae b/,
  },
  {
    name: 'both applied the latest revision: complete',
    state: state({ amphorae: [amphora('a', 'MASTER', { appliedConfigRevision: 51 }), amphora('b', 'BACKUP')], ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [{ kind: 'complete' }],
  },
  {
    name: 'an amphora that could not apply its configuration fails the change',
    state: state({ balancer: { provisioningStatus: 'PENDING_UPDATE' }, amphorae: [amphora('a', 'MASTER', { applyError: 'haproxy -c: bad' }), amphora('b', 'BACKUP')], ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [{ kind: 'fail', reason: 'amphora a could not apply the configuration: haproxy -c: bad' }],
  },
  {
    name: 'pending longer than the provisioning timeout: ERROR',
    state: state({ balancer: { pendingForMs: 400_000 } }),
    actions: [{ kind: 'fail', reason: 'the balancer was not ready within 300 s' }],
  },
  {
    name: 'no compute service: a new balancer fails with the reason',
    state: state({ computeAvailable: false }),
    actions: [{ kind: 'fail', reason: 'no compute service is configured to run amphorae (start cloudnet server with --compute)' }],
  },
  {
    name: 'an amphora failed (silent, or failover asked): retire it and make one of the same role',
    state: state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'DEGRADED' }, amphorae: [amphora('a', 'MASTER', { status: 'ERROR' }), amphora('b', 'BACKUP')], ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [{ kind: 'retireAmphora', amphoraId: 'a', computeId: 'a' }, { kind: 'createAmphora', role: 'MASTER' }],
  },
  {
    name: 'balancer failover (both asked): one amphora at a time',
    state: state({ balancer: { provisioningStatus: 'PENDING_UPDATE' }, amphorae: [amphora('a', 'MASTER', { failoverRequested: true }), amphora('b', 'BACKUP', { failoverRequested: true })], ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [{ kind: 'retireAmphora', amphoraId: 'a', computeId: 'a' }, { kind: 'createAmphora', role: 'MASTER' }],
  },
  {
    name: 'balancer failover: the second waits while the first one’s replacement boots',
    state: state({ balancer: { provisioningStatus: 'PENDING_UPDATE' }, amphorae: [amphora('b', 'BACKUP', { failoverRequested: true }), amphora('c', 'MASTER', { reporting: false })], ports: [vip, vrrpPort('b'), vrrpPort('c')] }),
    actions: [],
    waitingFor: /amphorae c/,
  },
  {
    name: 'balancer failover: then the second',
    state: state({ balancer: { provisioningStatus: 'PENDING_UPDATE' }, amphorae: [amphora('b', 'BACKUP', { failoverRequested: true }), amphora('c', 'MASTER')], ports: [vip, vrrpPort('b'), vrrpPort('c')] }),
    actions: [{ kind: 'retireAmphora', amphoraId: 'b', computeId: 'b' }, { kind: 'createAmphora', role: 'BACKUP' }],
  },
  {
    name: 'the replacement is made: ONLINE again is left to the reports',
    state: state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'DEGRADED' }, amphorae: [amphora('c', 'MASTER'), amphora('b', 'BACKUP')], ports: [vip, vrrpPort('c'), vrrpPort('b')] }),
    actions: [],
  },
  {
    name: 'ACTIVE and ONLINE with an amphora not reporting: DEGRADED',
    state: state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'ONLINE' }, amphorae: [amphora('c', 'MASTER', { reporting: false }), amphora('b', 'BACKUP')], ports: [vip, vrrpPort('c'), vrrpPort('b')] }),
    actions: [{ kind: 'setDegraded' }],
  },
  {
    name: 'already DEGRADED: nothing more',
    state: state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'DEGRADED' }, amphorae: [amphora('c', 'MASTER', { reporting: false }), amphora('b', 'BACKUP')], ports: [vip, vrrpPort('c'), vrrpPort('b')] }),
    actions: [],
  },
  {
    name: 'converged: nothing to do',
    state: state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'ONLINE' }, amphorae: pair(), ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [],
  },
  {
    name: 'two of one role after a crash mid-replacement: the newer one goes',
    state: state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'ONLINE' }, amphorae: [...pair(), amphora('c', 'MASTER')], ports: [vip, vrrpPort('a'), vrrpPort('b'), vrrpPort('c')] }),
    actions: [{ kind: 'retireAmphora', amphoraId: 'c', computeId: 'c' }],
  },
  {
    name: 'listener ports follow the listeners; unwanted rules go',
    state: state({
      balancer: { provisioningStatus: 'PENDING_UPDATE', listenerPorts: [{ protocol: 'tcp', port: 80 }] },
      securityGroup: { id: 'sg', rules: [...rulesFor([]), { id: 'old', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteSelf: false, ethertype: 'IPv4' }] },
      amphorae: pair(),
      ports: [vip, vrrpPort('a'), vrrpPort('b')],
    }),
    actions: [
      { kind: 'removeSecurityGroupRule', ruleId: 'old' },
      { kind: 'addSecurityGroupRule', rule: { protocol: 'tcp', portRangeMin: 80, portRangeMax: 80, remoteSelf: false, ethertype: 'IPv4' } },
    ],
  },
  {
    name: 'delete: amphorae (with their VMs and ports), the VIP port, the group, then done',
    state: state({ balancer: { provisioningStatus: 'PENDING_DELETE' }, amphorae: [amphora('a', 'MASTER'), amphora('b', 'BACKUP', { computeId: null })], ports: [vip, vrrpPort('a'), vrrpPort('b')] }),
    actions: [
      { kind: 'retireAmphora', amphoraId: 'a', computeId: 'a' },
      { kind: 'retireAmphora', amphoraId: 'b', computeId: null },
      { kind: 'deletePort', portId: 'vip' },
      { kind: 'deleteSecurityGroup', securityGroupId: 'sg' },
      { kind: 'complete' },
    ],
  },
  {
    name: 'delete of a balancer that got nothing yet: just done',
    state: state({ balancer: { provisioningStatus: 'PENDING_DELETE' }, ports: [], securityGroup: null }),
    actions: [{ kind: 'complete' }],
  },
  { name: 'ERROR: left alone', state: state({ balancer: { provisioningStatus: 'ERROR' }, ports: [] }), actions: [] },
];

for (const c of cases) {
  test(c.name, () => {
    const plan = planBalancer(c.state);
    assert.deepEqual(plan.actions, c.actions);
    if (c.waitingFor) assert.match(plan.waitingFor ?? '', c.waitingFor);
    else assert.equal(plan.waitingFor, null);
  });
}

test('desired rules: one per listener port and protocol, then VRRP and HAProxy peers between the pair, in the VIP family', () => {
  assert.deepEqual(
    desiredRules(
      [
        { protocol: 'tcp', port: 443 },
        { protocol: 'tcp', port: 80 },
        { protocol: 'tcp', port: 80 },
        { protocol: 'udp', port: 53 },
      ],
      true,
    ),
    [
      { protocol: 'udp', portRangeMin: 53, portRangeMax: 53, remoteSelf: false, ethertype: 'IPv6' },
      { protocol: 'tcp', portRangeMin: 80, portRangeMax: 80, remoteSelf: false, ethertype: 'IPv6' },
      { protocol: 'tcp', portRangeMin: 443, portRangeMax: 443, remoteSelf: false, ethertype: 'IPv6' },
      { protocol: '112', portRangeMin: null, portRangeMax: null, remoteSelf: true, ethertype: 'IPv6' },
      { protocol: 'tcp', portRangeMin: 1025, portRangeMax: 1025, remoteSelf: true, ethertype: 'IPv6' },
    ],
  );
});

test('the plan is idempotent: a converged balancer planned twice gives nothing twice', () => {
  const converged = state({ balancer: { provisioningStatus: 'ACTIVE', operatingStatus: 'ONLINE' }, amphorae: pair(), ports: [vip, vrrpPort('a'), vrrpPort('b')] });
  assert.deepEqual(planBalancer(converged), planBalancer(converged));
  assert.deepEqual(planBalancer(converged).actions, []);
});
