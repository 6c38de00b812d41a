// The discovery documents clients read before anything else: kubectl and client-go map
// kinds and short names to URLs with them. Built from the resource table, pure.
import { RESOURCES, STATUS_VERBS, VERBS, apiVersionOf, type ResourceType } from './resources.js';

/** The version this stand-in claims; kubectl's dispatcher picks its client by this minor. */
export const SERVED_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-cloudnet-standin' };

export function versionInfo(): object {
  return {
    major: SERVED_VERSION.major,
    minor: SERVED_VERSION.minor,
    gitVersion: SERVED_VERSION.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'cloudnet',
    platform: `${process.platform}/${process.arch}`,
  };
}

interface GroupVersion {
  group: string;
  version: string;
}

function groupVersions(): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

function resourcesOf(group: string, version: string): ResourceType[] {
  return RESOURCES.filter((r) => r.group === group && r.version === version);
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: groupVersions().filter((gv) => gv.group === '').map((gv) => gv.version),
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string): object {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

function namedGroups(): string[] {
  return [...new Set(groupVersions().filter((gv) => gv.group !== '').map((gv) => gv.group))];
}

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: namedGroups().map(apiGroup) };
}

export function apiGroupDocument(group: string): object | undefined {
  if (!namedGroups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

export function apiResourceList(group: string, version: string): object | undefined {
  const served = resourcesOf(group, version);
  if (served.length === 0) return undefined;
  const resources = served.flatMap((r) => {
    const main = {
      name: r.resource,
      singularName: r.singularName,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...VERBS],
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    };
    const status = { name: `${r.resource}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: [...STATUS_VERBS] };
    return r.hasStatus ? [main, status] : [main];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

/** The media type newer clients ask for to get all of discovery in one response. */
export const AGGREGATED_DISCOVERY_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** `/api` (core only) or `/apis` (named groups) in the apidiscovery.k8s.io/v2 form. */
export function aggregatedDiscovery(core: boolean): object {
  const groups = core ? [''] : namedGroups();
  const items = groups.map((group) => ({
    metadata: { name: group },
    versions: groupVersions()
      .filter((gv) => gv.group === group)
      .map((gv) => ({
        version: gv.version,
        resources: resourcesOf(group, gv.version).map((r) => {
          const responseKind = { group: r.group, version: r.version, kind: r.kind };
          return {
            resource: r.resource,
            responseKind,
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singularName,
            verbs: [...VERBS],
            ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
            ...(r.categories.length ? { categories: r.categories } : {}),
            ...(r.hasStatus ? { subresources: [{ subresource: 'status', responseKind, verbs: [...STATUS_VERBS] }] } : {}),
          };
        }),
        freshness: 'Current',
      })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
