// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for (`Accept: ...;as=Table`)
// so `kubectl get` shows the same columns it shows against a real cluster. Pure; the
// columns and cell formats follow the real server's printers.
import type { JsonObject } from './patch.js';
import type { KubeObject } from './store.js';
import type { ResourceType } from './resources.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: 'name';
  priority?: number;
  description: string;
  cell(o: any, now: number): string | number;
}

/** k8s.io/apimachinery's duration.HumanDuration, as the AGE column shows it. */
export function humanDuration(seconds: number): string {
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  const s = Math.floor(seconds);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (h < 24 * 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', cell: (o) => o.metadata.name };
const age: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o, now) => (o.metadata.creationTimestamp ? humanDuration((now - Date.parse(o.metadata.creationTimestamp)) / 1000) : '<unknown>'),
};

function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

function serviceExternalIp(svc: any): string {
  const spec = svc.spec ?? {};
  const external: string[] = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ExternalName':
      return spec.externalName ?? '<none>';
    case 'LoadBalancer': {
      const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i: { ip?: string; hostname?: string }) => i.ip || i.hostname).filter(Boolean);
      const all = [...ingress, ...external];
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return external.length ? external.join(',') : '<none>';
  }
}

function servicePorts(svc: any): string {
  const ports: Array<{ port: number; nodePort?: number; protocol?: string }> = svc.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

function nodeStatus(node: any): string {
  const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
  const status = ready ? (ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown') : 'Unknown';
  return node.spec?.unschedulable ? `${status},SchedulingDisabled` : status;
}

function nodeAddress(node: any, type: string): string {
  return (node.status?.addresses ?? []).find((a: { type: string }) => a.type === type)?.address ?? '<none>';
}

function nodeRoles(node: any): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .sort();
  return roles.length ? roles.join(',') : '<none>';
}

function podReady(pod: any): string {
  const total = (pod.spec?.containers ?? []).length;
  const ready = (pod.status?.containerStatuses ?? []).filter((c: { ready?: boolean }) => c.ready).length;
  return `${ready}/${total}`;
}

function sliceEndpoints(slice: any): string {
  const addresses: string[] = (slice.endpoints ?? []).flatMap((e: { addresses?: string[] }) => e.addresses ?? []);
  if (addresses.length === 0) return '<unset>';
  const shown = addresses.slice(0, 3).join(',');
  return addresses.length > 3 ? `${shown} + ${addresses.length - 3} more...` : shown;
}

const COLUMNS: Record<string, Column[]> = {
  namespaces: [name, { name: 'Status', type: 'string', description: 'The status of the namespace', cell: (o) => o.status?.phase ?? '' }, age],
  services: [
    name,
    { name: 'Type', type: 'string', description: 'The type of service.', cell: (o) => o.spec?.type ?? '' },
    { name: 'Cluster-IP', type: 'string', description: 'The cluster IP of the service.', cell: (o) => (o.spec?.clusterIP ? o.spec.clusterIP : '<none>') },
    { name: 'External-IP', type: 'string', description: 'The external IP of the service.', cell: serviceExternalIp },
    { name: 'Port(s)', type: 'string', description: 'The ports of the service.', cell: servicePorts },
    age,
    { name: 'Selector', type: 'string', priority: 1, description: 'The selector of the service.', cell: (o) => formatLabels(o.spec?.selector) },
  ],
  pods: [
    name,
    { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', cell: podReady },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', cell: (o) => o.status?.reason ?? o.status?.phase ?? '' },
    {
      name: 'Restarts',
      type: 'string',
      description: 'The number of times the containers in this pod have been restarted.',
      cell: (o) => String((o.status?.containerStatuses ?? []).reduce((n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0), 0)),
    },
    age,
    { name: 'IP', type: 'string', priority: 1, description: 'The IP address assigned to the pod.', cell: (o) => o.status?.podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, description: 'The node the pod is assigned to.', cell: (o) => o.spec?.nodeName ?? '<none>' },
    { name: 'Nominated Node', type: 'string', priority: 1, description: 'The node the pod may be preempted onto.', cell: (o) => o.status?.nominatedNodeName ?? '<none>' },
    { name: 'Readiness Gates', type: 'string', priority: 1, description: 'The readiness gates of the pod.', cell: (o) => ((o.spec?.readinessGates ?? []).length ? String(o.spec.readinessGates.length) : '<none>') },
  ],
  nodes: [
    name,
    { name: 'Status', type: 'string', description: 'The status of the node.', cell: nodeStatus },
    { name: 'Roles', type: 'string', description: 'The roles of the node.', cell: nodeRoles },
    age,
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
    { name: 'Internal-IP', type: 'string', priority: 1, description: 'The node internal IP.', cell: (o) => nodeAddress(o, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, description: 'The node external IP.', cell: (o) => nodeAddress(o, 'ExternalIP') },
    { name: 'OS-Image', type: 'string', priority: 1, description: 'OS image reported by the node.', cell: (o) => o.status?.nodeInfo?.osImage ?? '<unknown>' },
    { name: 'Kernel-Version', type: 'string', priority: 1, description: 'Kernel version reported by the node.', cell: (o) => o.status?.nodeInfo?.kernelVersion ?? '<unknown>' },
    { name: 'Container-Runtime', type: 'string', priority: 1, description: 'Container runtime reported by the node.', cell: (o) => o.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>' },
  ],
  endpointslices: [
    name,
    { name: 'AddressType', type: 'string', description: 'The type of addresses in this slice.', cell: (o) => o.addressType ?? '' },
    {
      name: 'Ports',
      type: 'string',
      description: 'The ports of the endpoints in this slice.',
      cell: (o) => ((o.ports ?? []).length ? o.ports.map((p: { port?: number }) => (p.port === undefined ? '<unset>' : String(p.port))).join(',') : '<unset>'),
    },
    { name: 'Endpoints', type: 'string', description: 'The addresses of the endpoints in this slice.', cell: sliceEndpoints },
    age,
  ],
};

export type IncludeObject = 'None' | 'Object' | 'PartialObjectMetadata';

export const TABLE_CONTENT_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export function toTable(r: ResourceType, objects: KubeObject[], listMetadata: JsonObject, include: IncludeObject, now = Date.now()): JsonObject {
  const columns = COLUMNS[r.resource] ?? [name, age];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMetadata,
    columnDefinitions: columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 })),
    rows: objects.map((o) => {
      const row: JsonObject = { cells: columns.map((c) => c.cell(o, now)) };
      if (include === 'Object') row.object = o;
      else if (include === 'PartialObjectMetadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
      return row;
    }),
  };
}
