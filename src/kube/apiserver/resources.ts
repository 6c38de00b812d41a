// The kinds the stand-in serves, described the way discovery describes them. Everything
// else (routing, discovery documents, validation of names, field selectors) reads this table.

export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment. */
  resource: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Whether `/status` exists; if so the main resource ignores status changes, as the real strategies do. */
  hasStatus: boolean;
  /** Whether create drops the status the client sent (true for all but Nodes, which kubelets register with theirs). */
  resetStatusOnCreate: boolean;
  nameRule: NameRule;
  /** Fields beyond metadata.name/namespace that the real server accepts in a fieldSelector. */
  extraFieldSelectors: string[];
  /** Top-level fields whose change bumps metadata.generation; empty when the kind has no generation. */
  generationFields: string[];
  /** Delete answers with the object (true) or with a Success Status naming it (false). */
  returnDeletedObject: boolean;
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;
export const STATUS_VERBS = ['get', 'patch', 'update'] as const;

export const RESOURCES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singularName: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    categories: [],
    hasStatus: true,
    resetStatusOnCreate: true,
    nameRule: 'dns1123-label',
    extraFieldSelectors: ['status.phase'],
    generationFields: [],
    returnDeletedObject: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'services',
    singularName: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    hasStatus: true,
    resetStatusOnCreate: true,
    nameRule: 'dns1035-label',
    extraFieldSelectors: ['spec.clusterIP', 'spec.type'],
    generationFields: [],
    returnDeletedObject: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    singularName: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    hasStatus: true,
    resetStatusOnCreate: true,
    nameRule: 'dns1123-subdomain',
    extraFieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
    generationFields: ['spec'],
    returnDeletedObject: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'nodes',
    singularName: 'node',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    categories: [],
    hasStatus: true,
    resetStatusOnCreate: false,
    nameRule: 'dns1123-subdomain',
    extraFieldSelectors: ['spec.unschedulable'],
    generationFields: [],
    returnDeletedObject: true,
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    resource: 'endpointslices',
    singularName: 'endpointslice',
    kind: 'EndpointSlice',
    namespaced: true,
    shortNames: [],
    categories: [],
    hasStatus: false,
    resetStatusOnCreate: false,
    nameRule: 'dns1123-subdomain',
    extraFieldSelectors: [],
    generationFields: ['addressType', 'endpoints', 'ports'],
    returnDeletedObject: false,
  },
];

export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export function fieldSelectorsOf(r: ResourceType): string[] {
  return r.namespaced
    ? ['metadata.name', 'metadata.namespace', ...r.extraFieldSelectors]
    : ['metadata.name', ...r.extraFieldSelectors];
}

export function findResource(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export const NAMESPACES = RESOURCES.find((r) => r.resource === 'namespaces')!;
export const SERVICES = RESOURCES.find((r) => r.resource === 'services')!;
export const PODS = RESOURCES.find((r) => r.resource === 'pods')!;
export const NODES = RESOURCES.find((r) => r.resource === 'nodes')!;
export const ENDPOINT_SLICES = RESOURCES.find((r) => r.resource === 'endpointslices')!;
