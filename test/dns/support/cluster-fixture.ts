// The cluster most kubernetes tests resolve against (every record form of the specification),
// written into the project's Kubernetes API stand-in. Addresses: services in the stand-in's
// default service CIDRs (198.19.0.0/16, fd00:10:96::/108), endpoints and pods in 198.18.2.0+
// and fd00::/8.
import { createLogger } from '../../../src/lib/logger.js';
import { startKubeApiServer, type KubeApiServer } from '../../../src/kube/apiserver/server.js';
import { ENDPOINT_SLICES, NAMESPACES, PODS, SERVICES } from '../../../src/kube/apiserver/resources.js';

export type StandIn = KubeApiServer;

export function startStandIn(): Promise<StandIn> {
  return startKubeApiServer({ host: '127.0.0.1', port: 0, namespaceDeletionDelayMs: 0, logger: createLogger('kube-apiserver', process.env.CLOUDNET_LOG_LEVEL ?? 'silent') });
}

type Spec = Record<string, unknown>;
const clusterIp = (ips: string[]): Spec => ({ clusterIP: ips[0], clusterIPs: ips });

export function createNamespace(api: StandIn, name: string): void {
  api.registry.create(NAMESPACES, undefined, { metadata: { name } });
}

export function createService(api: StandIn, namespace: string, name: string, spec: Spec, labels?: Record<string, string>): void {
  api.registry.create(SERVICES, namespace, { metadata: { name, labels }, spec });
}

export function deleteService(api: StandIn, namespace: string, name: string): void {
  api.registry.delete(SERVICES, namespace, name);
}

export function sliceBody(service: string, name: string, addressType: 'IPv4' | 'IPv6', endpoints: unknown[], ports: unknown[], annotations?: Record<string, string>, labels?: Record<string, string>): Record<string, unknown> {
  return { metadata: { name, labels: { 'kubernetes.io/service-name': service, ...labels }, annotations }, addressType, endpoints, ports };
}

export function createSlice(api: StandIn, namespace: string, ...args: Parameters<typeof sliceBody>): void {
  api.registry.create(ENDPOINT_SLICES, namespace, sliceBody(...args));
}

/** A running pod: created, then its status set through the status subresource, as the kubelet does. */
export function createPod(api: StandIn, namespace: string, name: string, ip: string): void {
  api.registry.create(PODS, namespace, { metadata: { name }, spec: { containers: [{ name: 'app', image: 'app' }] } });
  api.registry.patch(PODS, namespace, name, 'merge', { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }, 'status');
}

export function loadClusterFixture(api: StandIn): void {
  createNamespace(api, 'other');
  createService(api, 'default', 'web', { type: 'ClusterIP', ...clusterIp(['198.19.1.10', 'fd00:10:96::a']), ipFamilyPolicy: 'RequireDualStack', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }, { app: 'web' });
  createSlice(api, 'default', 'web', 'web-abc', 'IPv4', [{ addresses: ['198.18.3.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-1' } }], [{ name: 'http', port: 8080, protocol: 'TCP' }], undefined, { app: 'web' });
  createService(api, 'default', 'db', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] });
  createSlice(
    api,
    'default',
    'db',
    'db-v4',
    'IPv4',
    [
      { addresses: ['198.18.2.1'], hostname: 'db-0', conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'db-0' } },
      { addresses: ['198.18.2.2'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'db-pod-1' } },
      { addresses: ['198.18.2.3'], conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'db-pod-2' } },
    ],
    [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 1500).toISOString() },
  );
  createSlice(api, 'default', 'db', 'db-v6', 'IPv6', [{ addresses: ['fd00::1:1'], hostname: 'db-0', conditions: { ready: true } }], [{ name: 'pg', port: 5432, protocol: 'TCP' }]);
  createService(api, 'default', 'ext', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' });
  createService(api, 'default', 'outside', { type: 'ExternalName', externalName: 'www.example.org' });
  createService(api, 'default', 'empty', { type: 'ClusterIP', ...clusterIp(['198.19.1.20']), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  createService(api, 'other', 'api', { type: 'ClusterIP', ...clusterIp(['198.19.1.30']), ports: [{ name: 'https', port: 443, protocol: 'TCP' }] });
  createPod(api, 'default', 'pod-a', '198.18.4.5');
}
