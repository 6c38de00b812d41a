import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceInvalid, ServiceNetworking } from '../../../../src/kube/apiserver/services.js';
import { parseCidr } from '../../../../src/kube/apiserver/service-allocator.js';
import type { JsonObject } from '../../../../src/kube/apiserver/patch.js';

const V4 = '198.19.0.0/24';
const V6 = 'fd00:10:96::/120';
const dualStack = () => new ServiceNetworking([parseCidr(V4), parseCidr(V6)], { first: 30000, last: 30010 });
const singleStack = () => new ServiceNetworking([parseCidr(V4)], { first: 30000, last: 30010 });

const svc = (spec: JsonObject): JsonObject => ({ metadata: { name: 's', namespace: 'default' }, spec: { ports: [{ port: 80 }], ...spec } });
const specOf = (o: JsonObject) => o.spec as Record<string, any>;

function invalidFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ServiceInvalid) return e.errors.map((x) => `${x.field}: ${x.detail}`);
    throw e;
  }
  assert.fail('expected ServiceInvalid');
}

test('a plain service gets the defaults and one address of the primary family', () => {
  const spec = specOf(dualStack().admit(svc({})));
  assert.equal(spec.type, 'ClusterIP');
  assert.equal(spec.sessionAffinity, 'None');
  assert.equal(spec.internalTrafficPolicy, 'Cluster');
  assert.equal(spec.ipFamilyPolicy, 'SingleStack');
  assert.deepEqual(spec.ipFamilies, ['IPv4']);
  assert.match(spec.clusterIP, /^198\.19\.0\.\d+$/);
  assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
  assert.deepEqual(spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
});

test('ipFamilies and ipFamilyPolicy choose the families, as on a dual-stack cluster', () => {
  const cases: Array<[JsonObject, string[]]> = [
    [{ ipFamilyPolicy: 'PreferDualStack' }, ['IPv4', 'IPv6']],
    [{ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6'] }, ['IPv6', 'IPv4']],
    [{ ipFamilies: ['IPv6'] }, ['IPv6']],
    [{ clusterIP: 'fd00:10:96::10' }, ['IPv6']],
  ];
  for (const [spec, families] of cases) {
    const out = specOf(dualStack().admit(svc(spec)));
    assert.deepEqual(out.ipFamilies, families, JSON.stringify(spec));
    assert.equal(out.clusterIPs.length, families.length);
    assert.deepEqual(out.clusterIPs.map((ip: string) => (ip.includes(':') ? 'IPv6' : 'IPv4')), families);
  }
  assert.deepEqual(specOf(singleStack().admit(svc({ ipFamilyPolicy: 'PreferDualStack' }))).ipFamilies, ['IPv4']);
  assert.deepEqual(invalidFields(() => singleStack().admit(svc({ ipFamilyPolicy: 'RequireDualStack' }))), [
    'spec.ipFamilyPolicy: this cluster is not configured for dual-stack services',
  ]);
  assert.deepEqual(invalidFields(() => singleStack().admit(svc({ ipFamilies: ['IPv6'] }))), ['spec.ipFamilies[0]: not configured on this cluster']);
});

test('headless and ExternalName services get no address', () => {
  const headless = specOf(dualStack().admit(svc({ clusterIP: 'None', selector: { app: 'x' } })));
  assert.deepEqual([headless.clusterIP, headless.clusterIPs, headless.ipFamilies], ['None', ['None'], ['IPv4']]);
  const selectorless = specOf(dualStack().admit(svc({ clusterIP: 'None' })));
  assert.deepEqual([selectorless.ipFamilyPolicy, selectorless.ipFamilies], ['RequireDualStack', ['IPv4', 'IPv6']]);
  const external = specOf(dualStack().admit(svc({ type: 'ExternalName', externalName: 'example.com', ports: [] })));
  assert.equal(external.clusterIP, undefined);
  assert.equal(external.ipFamilies, undefined);
  assert.deepEqual(invalidFields(() => dualStack().admit(svc({ type: 'ExternalName' }))), ['spec.externalName: ']);
});

test('explicit addresses and node ports are checked against the ranges and each other', () => {
  const n = dualStack();
  n.admit(svc({ clusterIP: '198.19.0.10', type: 'NodePort', ports: [{ port: 80, nodePort: 30005 }] }));
  assert.deepEqual(invalidFields(() => n.admit(svc({ clusterIP: '198.19.0.10' }))), [
    'spec.clusterIPs: failed to allocate IP 198.19.0.10: provided IP is already allocated',
  ]);
  assert.deepEqual(invalidFields(() => n.admit(svc({ clusterIP: '10.0.0.1' }))), [
    'spec.clusterIPs: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 198.19.0.0/24',
  ]);
  assert.deepEqual(invalidFields(() => n.admit(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30005 }] }))), [
    'spec.ports[0].nodePort: failed to allocate port: provided port is already allocated',
  ]);
  assert.deepEqual(invalidFields(() => n.admit(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }))), [
    'spec.ports[0].nodePort: provided port is not in the valid range. The range of valid ports is 30000-30010',
  ]);
  // A rejected service takes nothing: its address is still free afterwards.
  invalidFields(() => n.admit(svc({ clusterIP: '198.19.0.11', type: 'NodePort', ports: [{ port: 80, nodePort: 30005 }] })));
  assert.equal(specOf(n.admit(svc({ clusterIP: '198.19.0.11' }))).clusterIP, '198.19.0.11');
});

test('NodePort and LoadBalancer services get node ports; updates keep and release them', () => {
  const n = dualStack();
  const created = n.admit(svc({ type: 'LoadBalancer', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 443 }] }));
  const spec = specOf(created);
  assert.equal(spec.externalTrafficPolicy, 'Cluster');
  assert.equal(spec.allocateLoadBalancerNodePorts, true);
  const ports = spec.ports.map((p: { nodePort: number }) => p.nodePort);
  assert.ok(ports.every((p: number) => p >= 30000 && p <= 30010));

  // An update that omits the allocated values keeps them.
  const kept = specOf(n.admit(svc({ type: 'LoadBalancer', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 443 }] }), created));
  assert.equal(kept.clusterIP, spec.clusterIP);
  assert.deepEqual(kept.ports.map((p: { nodePort: number }) => p.nodePort), ports);
  assert.deepEqual(invalidFields(() => n.admit(svc({ clusterIP: '198.19.0.200' }), created)), ['spec.clusterIPs[0]: may not change once set']);

  // Back to ClusterIP: the node ports go, and are free again once released.
  const clusterIp = n.admit(svc({ type: 'ClusterIP', clusterIP: spec.clusterIP, ports: spec.ports }), created);
  assert.ok(specOf(clusterIp).ports.every((p: JsonObject) => p.nodePort === undefined));
  n.released(created, clusterIp);
  const again = specOf(n.admit(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: ports[0] }] })));
  assert.equal(again.ports[0].nodePort, ports[0]);
});

test('ports are validated as the real server validates them', () => {
  assert.deepEqual(invalidFields(() => dualStack().admit(svc({ ports: [] }))), ['spec.ports: ']);
  assert.deepEqual(invalidFields(() => dualStack().admit(svc({ ports: [{ port: 80 }, { port: 81 }] }))), ['spec.ports[0].name: ', 'spec.ports[1].name: ']);
  assert.deepEqual(invalidFields(() => dualStack().admit(svc({ ports: [{ port: 70000, protocol: 'ICMP' }] }))), [
    'spec.ports[0].protocol: supported values: "SCTP", "TCP", "UDP"',
    'spec.ports[0].port: must be between 1 and 65535, inclusive',
  ]);
});
