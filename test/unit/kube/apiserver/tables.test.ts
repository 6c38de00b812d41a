import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, toTable } from '../../../../src/kube/apiserver/tables.js';
import { RESOURCES } from '../../../../src/kube/apiserver/resources.js';
import type { KubeObject } from '../../../../src/kube/apiserver/store.js';

const byName = (name: string) => RESOURCES.find((r) => r.resource === name)!;

test('ages read as kubectl prints them', () => {
  const cases: Array<[number, string]> = [
    [-5, '<invalid>'],
    [-0.5, '0s'],
    [5, '5s'],
    [119, '119s'],
    [120, '2m'],
    [150, '2m30s'],
    [600, '10m'],
    [3 * 3600, '3h'],
    [3 * 3600 + 120, '3h2m'],
    [30 * 3600, '30h'],
    [3 * 86400 + 3600, '3d1h'],
    [40 * 86400, '40d'],
    [3 * 365 * 86400 + 86400, '3y1d'],
    [10 * 365 * 86400, '10y'],
  ];
  for (const [seconds, text] of cases) assert.equal(humanDuration(seconds), text, String(seconds));
});

const created = '2026-01-01T00:00:00Z';
const at = Date.parse(created) + 90_000;
const meta = (name: string) => ({ name, namespace: 'default', creationTimestamp: created, resourceVersion: '7' });

test('service rows show type, addresses and ports', () => {
  const services = [
    { metadata: meta('a'), spec: { type: 'ClusterIP', clusterIP: '198.19.0.5', ports: [{ port: 80, protocol: 'TCP' }], selector: { b: '2', a: '1' } } },
    { metadata: meta('b'), spec: { type: 'LoadBalancer', clusterIP: '198.19.0.6', ports: [{ port: 443, nodePort: 30443, protocol: 'TCP' }] }, status: { loadBalancer: {} } },
    { metadata: meta('c'), spec: { type: 'LoadBalancer', clusterIP: '198.19.0.7', ports: [] }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } },
    { metadata: meta('d'), spec: { type: 'ExternalName', externalName: 'example.com' } },
  ] as unknown as KubeObject[];
  const table = toTable(byName('services'), services, { resourceVersion: '7' }, 'PartialObjectMetadata', at) as any;
  assert.deepEqual(table.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
  assert.deepEqual(table.rows.map((r: { cells: unknown[] }) => r.cells), [
    ['a', 'ClusterIP', '198.19.0.5', '<none>', '80/TCP', '90s', 'a=1,b=2'],
    ['b', 'LoadBalancer', '198.19.0.6', '<pending>', '443:30443/TCP', '90s', '<none>'],
    ['c', 'LoadBalancer', '198.19.0.7', '203.0.113.9', '<none>', '90s', '<none>'],
    ['d', 'ExternalName', '<none>', 'example.com', '<none>', '90s', '<none>'],
  ]);
  assert.deepEqual(table.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta('a') });
  assert.equal((toTable(byName('services'), services, {}, 'None', at) as any).rows[0].object, undefined, 'includeObject=None');
});

test('node, pod and endpointslice rows', () => {
  const node = { metadata: { ...meta('n1'), labels: { 'node-role.kubernetes.io/control-plane': '' } }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } } };
  assert.deepEqual((toTable(byName('nodes'), [node as unknown as KubeObject], {}, 'None', at) as any).rows[0].cells.slice(0, 5), ['n1', 'Ready,SchedulingDisabled', 'control-plane', '90s', 'v1.32.0']);
  const pod = { metadata: meta('p'), spec: { containers: [{ name: 'a' }, { name: 'b' }] }, status: { phase: 'Running', containerStatuses: [{ ready: true, restartCount: 2 }, { ready: false, restartCount: 1 }] } };
  assert.deepEqual((toTable(byName('pods'), [pod as unknown as KubeObject], {}, 'None', at) as any).rows[0].cells.slice(0, 5), ['p', '1/2', 'Running', '3', '90s']);
  const slice = { metadata: meta('s'), addressType: 'IPv4', ports: [{ port: 80 }], endpoints: ['1', '2', '3', '4', '5'].map((n) => ({ addresses: [`10.0.0.${n}`] })) };
  assert.deepEqual((toTable(byName('endpointslices'), [slice as unknown as KubeObject], {}, 'None', at) as any).rows[0].cells, ['s', 'IPv4', '80', '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...', '90s']);
});
