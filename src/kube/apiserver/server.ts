// HTTP front of the Kubernetes API stand-in: URL layout, content types, watch streaming.
// For tests and the lab only: no authentication, no authorization, memory only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createLogger, type Logger } from '../../lib/logger.js';
import { ObjectStore, type KubeObject } from './store.js';
import type { JsonObject } from './patch.js';
import { Registry, type DeleteOptions, type PatchType, type Watcher } from './registry.js';
import { ServiceNetworking } from './services.js';
import { NODE_PORT_RANGE, parseCidr } from './service-allocator.js';
import { findResource, type ResourceType } from './resources.js';
import {
  AGGREGATED_DISCOVERY_TYPE,
  aggregatedDiscovery,
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  apiVersions,
  versionInfo,
} from './discovery.js';
import { ApiError, badRequest, internalError, methodNotAllowed, pathNotFound, unsupportedMediaType, type Status } from './status.js';
import type { WatchEvent } from './watch.js';
import { OPENAPI_V2_PROTOBUF_TYPE, openApiV2Document, openApiV2Protobuf, openApiV3Document, openApiV3Index } from './openapi.js';
import { asksFor } from './media-types.js';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from './protobuf.js';
import { TABLE_CONTENT_TYPE, toTable, type IncludeObject } from './tables.js';

export const DEFAULT_SERVICE_CIDRS = ['198.19.0.0/16', 'fd00:10:96::/108'];

export interface KubeApiServerOptions {
  /** Loopback by default; the stand-in has no authentication. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** One range, or one per IP family (the first is the primary family), like --service-cluster-ip-range. */
  serviceCidrs?: string[];
  nodePortRange?: { first: number; last: number };
  /** How many changes are kept for watches and lists from a past resourceVersion. */
  historyLimit?: number;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK. */
  bookmarkIntervalMs?: number;
  /** How long a deleted namespace stays Terminating before it and its contents go (default 1000). */
  namespaceDeletionDelayMs?: number;
  /** PEM certificate and key: serve https instead of http (clients then need the CA that signed it). */
  tls?: { cert: string; key: string };
  logger?: Logger;
}

export interface KubeApiServer {
  /** e.g. http://127.0.0.1:38211 */
  url: string;
  host: string;
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
};

interface Target {
  resource: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function sendStatus(res: ServerResponse, status: Status): void {
  sendJson(res, status.code, status);
}

// JSON bodies, and protobuf only as far as protobuf.ts reads it: the Kubernetes protobuf
// and CBOR encodings need every kind's schema. 415 tells the client what to send instead.
async function readBody(req: IncomingMessage, accepted = ['application/json']): Promise<unknown> {
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  const protobuf = contentType === PROTOBUF_CONTENT_TYPE && accepted.includes('application/json');
  if (!accepted.includes(contentType) && !protobuf) throw unsupportedMediaType(accepted);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw badRequest('the request body is too large');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  if (protobuf) {
    try {
      return decodeProtobufObject(raw);
    } catch (e) {
      throw unsupportedMediaType(accepted, (e as Error).message);
    }
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** /api/v1/... and /apis/GROUP/VERSION/... into the resource, namespace, name and subresource. */
function resolveTarget(group: string, version: string, segments: string[]): Target | undefined {
  const find = (plural: string | undefined) => (plural === undefined ? undefined : findResource(group, version, plural));
  if (segments[0] === 'namespaces' && segments.length >= 3) {
    const namespaced = find(segments[2]);
    if (namespaced?.namespaced && segments.length <= 5) {
      return { resource: namespaced, namespace: segments[1], name: segments[3], subresource: segments[4] };
    }
  }
  const resource = find(segments[0]);
  if (!resource || segments.length > 3) return undefined;
  // A namespaced kind without a namespace is only a collection (a list across namespaces).
  if (resource.namespaced && segments.length > 1) return undefined;
  return { resource, name: segments[1], subresource: segments[2] };
}

/** How the client wants rows' objects when it asked for a Table; undefined when it did not. */
function tableRequest(req: IncomingMessage, query: URLSearchParams): IncludeObject | undefined {
  if (!asksFor(req.headers.accept, 'meta.k8s.io', 'v1', 'Table')) return undefined;
  const include = query.get('includeObject');
  return include === 'None' || include === 'Object' ? include : 'PartialObjectMetadata';
}

/** A list or an object as JSON, or as the Table the client asked for. */
function sendObjects(res: ServerResponse, table: IncludeObject | undefined, r: ResourceType, body: JsonObject): void {
  if (!table) return sendJson(res, 200, body);
  const isList = Array.isArray(body.items);
  const objects = (isList ? body.items : [body]) as KubeObject[];
  const metadata = isList ? (body.metadata as JsonObject) : { resourceVersion: (body.metadata as JsonObject).resourceVersion };
  sendJson(res, 200, toTable(r, objects, metadata, table), TABLE_CONTENT_TYPE);
}

function flag(value: string | null): boolean {
  return value === 'true' || value === '1';
}

function optional(value: string | null): string | undefined {
  return value === null ? undefined : value;
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger ?? createLogger('kube-apiserver');
  const cidrs = (options.serviceCidrs ?? DEFAULT_SERVICE_CIDRS).map(parseCidr);
  const registry = new Registry({
    store: new ObjectStore(options.historyLimit ?? 10000),
    services: new ServiceNetworking(cidrs, options.nodePortRange ?? NODE_PORT_RANGE),
    namespaceDeletionDelayMs: options.namespaceDeletionDelayMs ?? 1000,
  });
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  const watches = new Set<() => void>();
  const sockets = new Set<Socket>();
  let serverAddress = '';

  function serveWatch(req: IncomingMessage, res: ServerResponse, target: Target, query: URLSearchParams, table: IncludeObject | undefined): void {
    const timers: NodeJS.Timeout[] = [];
    // Events produced while the watch starts wait here, so that a bad request (a malformed
    // selector) still gets its 400 Status instead of an empty 200 stream.
    let pending: string[] | undefined = [];
    let watcher: Watcher | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      watcher?.stop();
      watches.delete(finish);
      if (!pending) res.end();
    };
    const send = (event: WatchEvent) => {
      if (finished) return;
      const printed = table && event.type !== 'BOOKMARK' && event.type !== 'ERROR'
        ? { type: event.type, object: toTable(target.resource, [event.object as KubeObject], {}, table) }
        : event;
      const line = `${JSON.stringify(printed)}\n`;
      if (pending) pending.push(line);
      else res.write(line);
    };
    const fieldSelector = target.name
      ? [query.get('fieldSelector'), `metadata.name=${target.name}`].filter(Boolean).join(',')
      : optional(query.get('fieldSelector'));
    const sendInitialEvents = query.get('sendInitialEvents');
    watcher = registry.watch(
      target.resource,
      target.namespace,
      {
        labelSelector: optional(query.get('labelSelector')),
        fieldSelector,
        resourceVersion: optional(query.get('resourceVersion')),
        allowWatchBookmarks: flag(query.get('allowWatchBookmarks')),
        sendInitialEvents: sendInitialEvents === null ? undefined : flag(sendInitialEvents),
      },
      send,
      finish,
    );
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    for (const line of pending) res.write(line);
    pending = undefined;
    if (finished) return void res.end();
    watches.add(finish);
    // Like the real server, an unbounded watch still ends after a randomized 30 to 60 minutes.
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 1800 * (1 + Math.random()));
    timers.push(setTimeout(finish, timeoutSeconds * 1000));
    if (flag(query.get('allowWatchBookmarks'))) {
      const tick = () => {
        send(watcher!.bookmark());
        timers.push(setTimeout(tick, bookmarkIntervalMs));
      };
      timers.push(setTimeout(tick, bookmarkIntervalMs));
    }
    // The response's close, not the request's: a request closes once its (empty) body is read.
    res.on('close', finish);
    res.on('error', finish);
  }

  async function serveResource(req: IncomingMessage, res: ServerResponse, target: Target, query: URLSearchParams): Promise<void> {
    const { resource: r, namespace, name, subresource } = target;
    const method = req.method ?? 'GET';
    const table = tableRequest(req, query);
    const dryRunValues = query.getAll('dryRun');
    if (dryRunValues.some((v) => v !== 'All')) throw badRequest(`dryRun: Unsupported value: "${dryRunValues.find((v) => v !== 'All')}": supported values: "All"`);
    const write = { dryRun: dryRunValues.length > 0 };
    if (subresource !== undefined && (subresource !== 'status' || !r.hasStatus)) throw pathNotFound();
    if (name === undefined) {
      switch (method) {
        case 'GET':
          if (flag(query.get('watch'))) return serveWatch(req, res, target, query, table);
          return sendObjects(res, table, r, registry.list(r, namespace, {
            labelSelector: optional(query.get('labelSelector')),
            fieldSelector: optional(query.get('fieldSelector')),
            limit: query.get('limit') ? Number(query.get('limit')) : undefined,
            continue: optional(query.get('continue')),
            resourceVersion: optional(query.get('resourceVersion')),
            resourceVersionMatch: optional(query.get('resourceVersionMatch')),
          }));
        case 'POST':
          if (r.namespaced && namespace === undefined) throw methodNotAllowed();
          return sendJson(res, 201, registry.create(r, namespace, await readBody(req), write));
        case 'DELETE':
          // Like create, deletecollection of a namespaced kind needs a namespace in the path.
          if (r.namespaced && namespace === undefined) throw methodNotAllowed();
          return sendJson(res, 200, registry.deleteCollection(r, namespace, {
            labelSelector: optional(query.get('labelSelector')),
            fieldSelector: optional(query.get('fieldSelector')),
          }, write));
        default:
          throw methodNotAllowed();
      }
    }
    const status = subresource === 'status' ? 'status' : undefined;
    switch (method) {
      case 'GET':
        if (flag(query.get('watch'))) return serveWatch(req, res, target, query, table);
        return sendObjects(res, table, r, registry.get(r, namespace, name));
      case 'PUT':
        return sendJson(res, 200, registry.update(r, namespace, name, await readBody(req), status, write));
      case 'PATCH': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
        const type = PATCH_TYPES[contentType];
        if (!type) throw unsupportedMediaType(Object.keys(PATCH_TYPES));
        return sendJson(res, 200, registry.patch(r, namespace, name, type, await readBody(req, [contentType]), status, write));
      }
      case 'DELETE': {
        if (status) throw methodNotAllowed();
        // The wire DeleteOptions may carry dryRun too, as a list of strings.
        const body = (await readBody(req)) as { preconditions?: DeleteOptions['preconditions']; dryRun?: string[] } | undefined;
        const dryRun = write.dryRun || (Array.isArray(body?.dryRun) && body.dryRun.includes('All'));
        return sendJson(res, 200, registry.delete(r, namespace, name, { preconditions: body?.preconditions, dryRun }));
      }
      default:
        throw methodNotAllowed();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const accept = req.headers.accept;
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (method === 'GET') {
      if (path === '/healthz' || path === '/readyz' || path === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return void res.end('ok');
      }
      if (path === '/version') return sendJson(res, 200, versionInfo());
      if (path === '/openapi/v2') {
        if (!accept?.includes(OPENAPI_V2_PROTOBUF_TYPE)) return sendJson(res, 200, openApiV2Document());
        const body = openApiV2Protobuf();
        // As kube-openapi: clients parse the Content-Type, and Go's mime parser refuses the '@' in the type they ask for.
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Cache-Control': 'no-cache, private' });
        return void res.end(body);
      }
      if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Index());
      if (path.startsWith('/openapi/v3/')) {
        const doc = openApiV3Document(path.slice('/openapi/v3/'.length));
        if (doc) return sendJson(res, 200, doc);
      }
      if (path === '/api' || path === '/apis') {
        if (asksFor(accept, 'apidiscovery.k8s.io', 'v2', 'APIGroupDiscoveryList')) return sendJson(res, 200, aggregatedDiscovery(path === '/api'), AGGREGATED_DISCOVERY_TYPE);
        return sendJson(res, 200, path === '/api' ? apiVersions(serverAddress) : apiGroupList());
      }
      if (segments[0] === 'apis' && segments.length === 2) {
        const doc = apiGroupDocument(segments[1]);
        if (doc) return sendJson(res, 200, doc);
      }
      if ((segments[0] === 'api' && segments.length === 2) || (segments[0] === 'apis' && segments.length === 3)) {
        const doc = segments[0] === 'api' ? apiResourceList('', segments[1]) : apiResourceList(segments[1], segments[2]);
        if (doc) return sendJson(res, 200, doc);
      }
    }
    const [group, version, rest] =
      segments[0] === 'api' ? ['', segments[1], segments.slice(2)] : segments[0] === 'apis' ? [segments[1], segments[2], segments.slice(3)] : ['', undefined, []];
    const target = version !== undefined && group !== undefined && rest.length > 0 ? resolveTarget(group, version, rest) : undefined;
    if (!target) throw pathNotFound();
    return serveResource(req, res, target, url.searchParams);
  }

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    res.on('finish', () => log.debug({ method: req.method, url: req.url, code: res.statusCode, ms: Date.now() - started }, 'request'));
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof ApiError ? err.status : internalError(err instanceof Error ? err.message : String(err)).status;
      if (!(err instanceof ApiError)) log.error({ err, method: req.method, url: req.url }, 'request failed');
      if (res.headersSent) res.end();
      else sendStatus(res, status);
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, serve) : createServer(serve);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  serverAddress = `${urlHost}:${address.port}`;
  const unspecified = address.address === '0.0.0.0' || address.address === '::';
  registry.publishKubernetesService(unspecified ? '127.0.0.1' : address.address, address.port);
  const url = `${options.tls ? 'https' : 'http'}://${serverAddress}`;
  log.info({ url, serviceCidrs: cidrs.map((c) => c.text) }, 'Kubernetes API stand-in listening: for tests and the lab only, NOT for production (no authentication, memory only)');

  return {
    url,
    host: address.address,
    port: address.port,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        registry.close();
        for (const finish of [...watches]) finish();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
