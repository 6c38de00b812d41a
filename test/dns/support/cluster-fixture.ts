// The cluster most kubernetes tests resolve against: every record form of the specification.
import { k8s, PATHS, type FakeKubeApi } from './fake-kube-api.js';

export function loadClusterFixture(api: FakeKubeApi): void {
  for (const ns of ['default', 'other']) api.upsert(PATHS.namespaces, k8s.namespace(ns));
  api.upsert(PATHS.services, k8s.service('default', 'web', { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:10:96::a'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }, { app: 'web' }));
  api.upsert(PATHS.slices, k8s.slice('default', 'web-abc', 'web', 'IPv4', [{ addresses: ['10.1.1.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-1' } }], [{ name: 'http', port: 8080, protocol: 'TCP' }], undefined, { app: 'web' }));
  api.upsert(PATHS.services, k8s.service('default', 'db', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }));
  api.upsert(
    PATHS.slices,
    k8s.slice(
      'default',
      'db-v4',
      'db',
      'IPv4',
      [
        { addresses: ['10.1.0.1'], hostname: 'db-0', conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'db-0' } },
        { addresses: ['10.1.0.2'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'db-pod-1' } },
        { addresses: ['10.1.0.3'], conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'db-pod-2' } },
      ],
      [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 1500).toISOString() },
    ),
  );
  api.upsert(PATHS.slices, k8s.slice('default', 'db-v6', 'db', 'IPv6', [{ addresses: ['fd00::1:1'], hostname: 'db-0', conditions: { ready: true } }], [{ name: 'pg', port: 5432, protocol: 'TCP' }]));
  api.upsert(PATHS.services, k8s.service('default', 'ext', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }));
  api.upsert(PATHS.services, k8s.service('default', 'outside', { type: 'ExternalName', externalName: 'www.example.org' }));
  api.upsert(PATHS.services, k8s.service('default', 'empty', { type: 'ClusterIP', clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  api.upsert(PATHS.services, k8s.service('other', 'api', { type: 'ClusterIP', clusterIP: '10.96.0.30', clusterIPs: ['10.96.0.30'], ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }));
  api.upsert(PATHS.pods, k8s.pod('default', 'pod-a', '10.2.0.5'));
}
