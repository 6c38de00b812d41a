// Just enough OpenAPI v3 for kubectl: before create/apply/patch it reads /openapi/v3 to learn
// whether the server validates fields itself (the `fieldValidation` parameter on the kind's
// PATCH operation). Declaring it lets kubectl skip client-side schema validation, for which
// the stand-in carries no schemas. Pure.
import { RESOURCES, type ResourceType } from './resources.js';
import { SERVED_VERSION } from './discovery.js';

function prefixOf(r: ResourceType): string {
  return r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
}

function hashOf(prefix: string): string {
  return Buffer.from(`${SERVED_VERSION.gitVersion}/${prefix}`).toString('hex').slice(0, 32).toUpperCase();
}

/** GET /openapi/v3: one entry per group version. */
export function openApiV3Index(): object {
  const prefixes = [...new Set(RESOURCES.map(prefixOf))];
  return { paths: Object.fromEntries(prefixes.map((p) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(p)}` }])) };
}

const queryParam = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
const WRITE_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation'].map(queryParam);
const OK = { responses: { '200': { description: 'OK' } } };

/** GET /openapi/v3/api/v1 or /openapi/v3/apis/GROUP/VERSION; undefined for an unknown group version. */
export function openApiV3Document(prefix: string): object | undefined {
  const served = RESOURCES.filter((r) => prefixOf(r) === prefix);
  if (served.length === 0) return undefined;
  const paths: Record<string, object> = {};
  for (const r of served) {
    const gvk = { 'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind } };
    const base = `/${prefix}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
    paths[base] = {
      get: { ...OK, ...gvk, 'x-kubernetes-action': 'list' },
      post: { ...OK, ...gvk, 'x-kubernetes-action': 'post', parameters: WRITE_PARAMS },
    };
    const item = {
      get: { ...OK, ...gvk, 'x-kubernetes-action': 'get' },
      put: { ...OK, ...gvk, 'x-kubernetes-action': 'put', parameters: WRITE_PARAMS },
      patch: { ...OK, ...gvk, 'x-kubernetes-action': 'patch', parameters: [...WRITE_PARAMS, queryParam('force')] },
      delete: { ...OK, ...gvk, 'x-kubernetes-action': 'delete', parameters: [queryParam('dryRun')] },
    };
    paths[`${base}/{name}`] = item;
    if (r.hasStatus) paths[`${base}/{name}/status`] = { get: item.get, put: item.put, patch: item.patch };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes API stand-in (cloudnet)', version: SERVED_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}

// kubectl before 1.27 reads /openapi/v2, protobuf-encoded (gnostic's openapi_v2.Document), to
// validate objects on the client; on a 404 it fails. A document without definitions makes it
// skip validation of every kind, as it does for kinds a real server has no schema for.
export const OPENAPI_V2_PROTOBUF_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const OPENAPI_V2_TITLE = 'Kubernetes API stand-in (cloudnet)';

/** GET /openapi/v2 as JSON. */
export function openApiV2Document(): object {
  return { swagger: '2.0', info: { title: OPENAPI_V2_TITLE, version: SERVED_VERSION.gitVersion }, paths: {} };
}

// A protobuf length-delimited field (wire type 2) of a message or string; all parts here are short.
function lengthDelimited(field: number, body: Buffer): Buffer {
  if (body.length > 127) throw new Error('openapi v2 field too long for a one-byte length');
  return Buffer.concat([Buffer.from([(field << 3) | 2, body.length]), body]);
}

/** GET /openapi/v2 as protobuf: Document { swagger = 1, info = 2 { title = 1, version = 2 }, paths = 8 }. */
export function openApiV2Protobuf(): Buffer {
  const info = Buffer.concat([lengthDelimited(1, Buffer.from(OPENAPI_V2_TITLE)), lengthDelimited(2, Buffer.from(SERVED_VERSION.gitVersion))]);
  return Buffer.concat([lengthDelimited(1, Buffer.from('2.0')), lengthDelimited(2, info), lengthDelimited(8, Buffer.alloc(0))]);
}
