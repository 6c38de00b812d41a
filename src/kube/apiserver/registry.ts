// The verbs (create, get, list, update, patch, delete, watch) over the store, with the
// real API server's metadata rules, optimistic concurrency, list paging and watch start
// semantics. No HTTP here: the server maps requests onto these calls and ApiErrors onto
// Status responses.
import { randomUUID } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { ObjectStore, objectKey, type Change, type KubeObject } from './store.js';
import { applyJsonPatch, applyMergePatch, PatchError, type Json, type JsonObject } from './patch.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';
import { ENDPOINT_SLICES, NAMESPACES, PODS, RESOURCES, SERVICES, apiVersionOf, fieldSelectorsOf, type ResourceType } from './resources.js';
import { generateName, validateAnnotations, validateLabels, validateName } from './names.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { ServiceInvalid, ServiceNetworking } from './services.js';
import { eventForWatcher, matchesFilter, type WatchEvent, type WatchFilter } from './watch.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  continueExpired,
  forbidden,
  invalid,
  notFound,
  resourceVersionExpired,
  resourceVersionTooLarge,
  STALE_OBJECT,
  success,
  type FieldError,
  type QualifiedResource,
  type Status,
} from './status.js';

export const INITIAL_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];
const UNDELETABLE_NAMESPACES = ['default', 'kube-public', 'kube-system'];

export type PatchType = 'merge' | 'strategic' | 'json';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

export interface WriteOptions {
  /** dryRun=All: everything a write does (validation, defaulting, allocation) except storing it. */
  dryRun?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface Watcher {
  /** Current version, for BOOKMARK events: every change up to it has been delivered. */
  bookmark(): WatchEvent;
  stop(): void;
}

function storeKey(r: ResourceType): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function qualifiedOf(r: ResourceType): QualifiedResource {
  return { group: r.group, resource: r.resource, kind: r.kind };
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 3339 to the second, as metav1.Time serializes. */
function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseResourceVersion(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version: "${text}"`);
  return Number(text);
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` })).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString()) as { v?: string; rv?: number; start?: string };
    if (decoded.v === 'meta.k8s.io/v1' && typeof decoded.rv === 'number' && typeof decoded.start === 'string') {
      return { rv: decoded.rv, start: decoded.start };
    }
  } catch {
    // Not base64 JSON: the same answer as a token of the wrong shape.
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** List items carry no kind/apiVersion on the wire; the list itself does. */
function asListItem(o: KubeObject): JsonObject {
  const item: JsonObject = { ...o };
  delete item.kind;
  delete item.apiVersion;
  return item;
}

/** Deep equality of JSON values, whatever the order of object keys. */
function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  return keys.length === Object.keys(b).filter((k) => b[k] !== undefined).length && keys.every((k) => sameJson(a[k], b[k]));
}

function withoutVersion(o: KubeObject): JsonObject {
  const metadata = { ...o.metadata };
  delete metadata.resourceVersion;
  return { ...o, metadata };
}

export interface RegistryOptions {
  store: ObjectStore;
  services: ServiceNetworking;
  random?: () => number;
  /**
   * How long a deleted namespace stays Terminating before its contents and then itself are
   * removed, standing in for the namespace controller; 0 removes them at once.
   */
  namespaceDeletionDelayMs?: number;
}

export class Registry {
  readonly store: ObjectStore;
  private readonly services: ServiceNetworking;
  private readonly random: () => number;
  private readonly namespaceDeletionDelayMs: number;
  private readonly pendingNamespaceDeletions = new Set<NodeJS.Timeout>();

  constructor(options: RegistryOptions) {
    this.store = options.store;
    this.services = options.services;
    this.random = options.random ?? Math.random;
    this.namespaceDeletionDelayMs = options.namespaceDeletionDelayMs ?? 0;
    for (const name of INITIAL_NAMESPACES) this.create(NAMESPACES, undefined, { metadata: { name } });
  }

  /** The `default/kubernetes` Service and its EndpointSlice, pointing at this server, as a real cluster has them. */
  publishKubernetesService(address: string, port: number): void {
    const family = address.includes(':') ? 'IPv6' : 'IPv4';
    const ip = this.services.kubernetesServiceIp();
    const service: JsonObject = {
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: {
        type: 'ClusterIP',
        clusterIP: ip,
        clusterIPs: [ip],
        ipFamilies: [ip.includes(':') ? 'IPv6' : 'IPv4'],
        ipFamilyPolicy: 'SingleStack',
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
        sessionAffinity: 'None',
        internalTrafficPolicy: 'Cluster',
      },
      status: { loadBalancer: {} },
    };
    this.services.reserve(service);
    this.store.create(storeKey(SERVICES), this.newObject(SERVICES, 'default', service));
    this.create(ENDPOINT_SLICES, 'default', {
      metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: family,
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    });
  }

  private newObject(r: ResourceType, namespace: string | undefined, body: JsonObject): KubeObject {
    const metadata: JsonObject = { ...(body.metadata as JsonObject), uid: randomUUID(), creationTimestamp: now() };
    if (namespace) metadata.namespace = namespace;
    if (r.generationFields.length > 0) metadata.generation = 1;
    return { ...body, kind: r.kind, apiVersion: apiVersionOf(r), metadata } as KubeObject;
  }

  private checkBody(r: ResourceType, body: unknown): JsonObject {
    if (!isObject(body)) throw badRequest(`the body of the request was not a ${r.kind} object`);
    if (body.kind !== undefined && body.kind !== r.kind) throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${r.kind})`);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(r)) {
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`);
    }
    if (body.metadata !== undefined && !isObject(body.metadata)) throw badRequest('metadata must be an object');
    return body;
  }

  private requireNamespace(namespace: string | undefined): void {
    if (namespace === undefined) return;
    const ns = this.store.get(storeKey(NAMESPACES), undefined, namespace);
    if (!ns) throw notFound(qualifiedOf(NAMESPACES), namespace);
  }

  private validate(r: ResourceType, object: JsonObject): FieldError[] {
    const metadata = object.metadata as JsonObject;
    const errors = [...validateName(r.nameRule, metadata.name as string), ...validateLabels(metadata.labels), ...validateAnnotations(metadata.annotations)];
    if (r === ENDPOINT_SLICES) {
      const types = ['IPv4', 'IPv6', 'FQDN'];
      if (object.addressType === undefined) errors.push({ type: 'FieldValueRequired', field: 'addressType', detail: '' });
      else if (!types.includes(object.addressType as string)) errors.push({ type: 'FieldValueNotSupported', field: 'addressType', value: object.addressType, detail: 'supported values: "FQDN", "IPv4", "IPv6"' });
      const endpoints = Array.isArray(object.endpoints) ? object.endpoints : [];
      endpoints.forEach((e, i) => {
        const addresses = isObject(e) && Array.isArray(e.addresses) ? e.addresses : [];
        if (addresses.length < 1 || addresses.length > 100) {
          errors.push({ type: 'FieldValueInvalid', field: `endpoints[${i}].addresses`, value: addresses.length, detail: 'must contain at least 1 address and no more than 100' });
        }
        addresses.forEach((address, j) => {
          const field = `endpoints[${i}].addresses[${j}]`;
          const text = typeof address === 'string' ? address : '';
          if (object.addressType === 'IPv4' && !isIPv4(text)) errors.push({ type: 'FieldValueInvalid', field, value: address, detail: 'must be a valid IPv4 address' });
          if (object.addressType === 'IPv6' && !isIPv6(text)) errors.push({ type: 'FieldValueInvalid', field, value: address, detail: 'must be a valid IPv6 address' });
          if (object.addressType === 'FQDN') errors.push(...validateName('dns1123-subdomain', text, field));
        });
      });
    }
    if (r === PODS) {
      const spec = isObject(object.spec) ? object.spec : {};
      if (!Array.isArray(spec.containers) || spec.containers.length === 0) errors.push({ type: 'FieldValueRequired', field: 'spec.containers', detail: '' });
    }
    return errors;
  }

  /** Kind-specific defaults and status, for a new object or one replacing `previous`. */
  private admit(r: ResourceType, object: KubeObject, previous?: KubeObject): KubeObject {
    switch (r.resource) {
      case 'namespaces': {
        const name = object.metadata.name as string;
        const labels = { ...((object.metadata.labels as JsonObject | undefined) ?? {}), 'kubernetes.io/metadata.name': name };
        return {
          ...object,
          metadata: { ...object.metadata, labels },
          spec: object.spec ?? { finalizers: ['kubernetes'] },
          status: object.status ?? { phase: 'Active' },
        };
      }
      case 'services':
        try {
          return this.services.admit(object, previous) as KubeObject;
        } catch (e) {
          if (e instanceof ServiceInvalid) throw invalid(qualifiedOf(r), object.metadata.name as string, e.errors);
          throw e;
        }
      case 'pods':
        return { ...object, status: object.status ?? { phase: 'Pending' } };
      case 'endpointslices':
        // The real server serializes an absent list as null; consumers must cope with that.
        return { ...object, endpoints: object.endpoints ?? null };
      default:
        return object;
    }
  }

  private afterWrite(r: ResourceType, previous: KubeObject | undefined, current: KubeObject | undefined): void {
    if (r === SERVICES) this.services.released(previous, current);
  }

  get(r: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const o = this.store.get(storeKey(r), namespace, name);
    if (!o) throw notFound(qualifiedOf(r), name);
    return o;
  }

  create(r: ResourceType, namespace: string | undefined, rawBody: unknown, options: WriteOptions = {}): KubeObject {
    const body = this.checkBody(r, rawBody);
    const metadata: JsonObject = { ...((body.metadata as JsonObject | undefined) ?? {}) };
    if (r.namespaced) {
      if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
    }
    if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== '') {
      throw badRequest('resourceVersion should not be set on objects to be created');
    }
    for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'resourceVersion', 'namespace', 'managedFields']) {
      delete metadata[key];
    }
    if (typeof metadata.name !== 'string' || metadata.name === '') {
      if (typeof metadata.generateName === 'string' && metadata.generateName !== '') {
        metadata.name = generateName(metadata.generateName, this.random);
      } else {
        throw invalid(qualifiedOf(r), '', [{ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' }]);
      }
    }
    const name = metadata.name as string;
    const errors = this.validate(r, { ...body, metadata });
    if (errors.length) throw invalid(qualifiedOf(r), name, errors);
    this.requireNamespace(r.namespaced ? namespace : undefined);
    if (r.namespaced) {
      const ns = this.store.get(storeKey(NAMESPACES), undefined, namespace!)!;
      if ((ns.status as JsonObject | undefined)?.phase === 'Terminating') {
        throw forbidden(qualifiedOf(r), name, `unable to create new content in namespace ${namespace} because it is being terminated`);
      }
    }
    if (this.store.get(storeKey(r), namespace, name)) throw alreadyExists(qualifiedOf(r), name);
    const fresh = this.newObject(r, r.namespaced ? namespace : undefined, { ...body, metadata });
    if (r.resetStatusOnCreate) delete fresh.status;
    const object = this.admit(r, fresh);
    if (options.dryRun) {
      // Give back what admit() took; the real server's dry-run answer has no resourceVersion.
      this.afterWrite(r, object, undefined);
      return object;
    }
    const stored = this.store.create(storeKey(r), object);
    this.afterWrite(r, undefined, stored);
    return stored;
  }

  update(r: ResourceType, namespace: string | undefined, name: string, rawBody: unknown, subresource?: 'status', options: WriteOptions = {}): KubeObject {
    const body = this.checkBody(r, rawBody);
    const metadata = (body.metadata as JsonObject | undefined) ?? {};
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest(`the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`);
    }
    if (r.namespaced && metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const previous = this.get(r, namespace, name);
    if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== '' && metadata.resourceVersion !== previous.metadata.resourceVersion) {
      throw conflict(qualifiedOf(r), name, STALE_OBJECT);
    }
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...previous, status: body.status ?? {} };
    } else {
      const kept: JsonObject = {};
      for (const key of ['name', 'namespace', 'uid', 'creationTimestamp', 'generation', 'deletionTimestamp']) {
        if (previous.metadata[key] !== undefined) kept[key] = previous.metadata[key];
      }
      next = { ...body, kind: r.kind, apiVersion: apiVersionOf(r), metadata: { ...metadata, ...kept } } as KubeObject;
      if (r.hasStatus) {
        if (previous.status === undefined) delete next.status;
        else next.status = previous.status;
      }
      const errors = this.validate(r, next);
      if (errors.length) throw invalid(qualifiedOf(r), name, errors);
      next = this.admit(r, next, previous);
      const changed = r.generationFields.some((f) => !sameJson(next[f], previous[f]));
      if (changed) next.metadata = { ...next.metadata, generation: ((previous.metadata.generation as number | undefined) ?? 0) + 1 };
    }
    // An update that changes nothing is not written: no new version, no watch event.
    if (sameJson(withoutVersion(next), withoutVersion(previous))) {
      this.afterWrite(r, previous, previous);
      return previous;
    }
    if (options.dryRun) {
      this.afterWrite(r, next, previous);
      return next;
    }
    const stored = this.store.update(storeKey(r), next);
    this.afterWrite(r, previous, stored);
    return stored;
  }

  patch(r: ResourceType, namespace: string | undefined, name: string, type: PatchType, patch: unknown, subresource?: 'status', options: WriteOptions = {}): KubeObject {
    const previous = this.get(r, namespace, name);
    let patched: Json;
    try {
      if (type === 'json') patched = applyJsonPatch(previous, patch as Json);
      else if (!isObject(patch)) throw new PatchError('patch body must be a JSON object');
      else if (type === 'merge') patched = applyMergePatch(previous, patch);
      else patched = applyStrategicMergePatch(previous, patch);
    } catch (e) {
      if (e instanceof PatchError) {
        if (e.code === 422) throw invalid(qualifiedOf(r), name, [{ type: 'FieldValueInvalid', field: '', value: '', detail: e.message }]);
        throw badRequest(e.message);
      }
      throw e;
    }
    if (!isObject(patched)) throw badRequest('the patch does not produce an object');
    const metadata = isObject(patched.metadata) ? patched.metadata : {};
    // A patch that sets metadata.resourceVersion is a precondition, like an update's.
    const patchRv = isObject(patch) && isObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    const body = { ...patched, metadata: { ...metadata, resourceVersion: patchRv ?? previous.metadata.resourceVersion } };
    return this.update(r, namespace, name, body, subresource, options);
  }

  delete(r: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): KubeObject | Status {
    const existing = this.get(r, namespace, name);
    const pre = options.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== existing.metadata.uid) {
      throw conflict(qualifiedOf(r), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(existing.metadata.uid)}`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict(qualifiedOf(r), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(existing.metadata.resourceVersion)}`);
    }
    if (options.dryRun) {
      if (r === NAMESPACES && UNDELETABLE_NAMESPACES.includes(name)) throw forbidden(qualifiedOf(NAMESPACES), name, 'this namespace may not be deleted');
      return existing;
    }
    if (r === NAMESPACES) return this.deleteNamespace(existing);
    const deleted = this.store.delete(storeKey(r), namespace, name)!;
    this.afterWrite(r, existing, undefined);
    if (r.returnDeletedObject) return deleted;
    return success({ name, ...(r.group ? { group: r.group } : {}), kind: r.resource, uid: existing.metadata.uid as string });
  }

  // A real namespace turns Terminating; its namespace controller later deletes what it holds
  // and then the namespace. Clients see the same sequence of states and watch events.
  private deleteNamespace(ns: KubeObject): KubeObject {
    const name = ns.metadata.name as string;
    if (UNDELETABLE_NAMESPACES.includes(name)) throw forbidden(qualifiedOf(NAMESPACES), name, 'this namespace may not be deleted');
    if ((ns.status as JsonObject | undefined)?.phase === 'Terminating') {
      throw conflict(qualifiedOf(NAMESPACES), name, 'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.');
    }
    const terminating = this.store.update(storeKey(NAMESPACES), {
      ...ns,
      metadata: { ...ns.metadata, deletionTimestamp: now() },
      status: { phase: 'Terminating' },
    });
    if (this.namespaceDeletionDelayMs === 0) this.finalizeNamespace(name);
    else {
      const timer = setTimeout(() => {
        this.pendingNamespaceDeletions.delete(timer);
        this.finalizeNamespace(name);
      }, this.namespaceDeletionDelayMs);
      timer.unref();
      this.pendingNamespaceDeletions.add(timer);
    }
    return terminating;
  }

  private finalizeNamespace(name: string): void {
    for (const r of RESOURCES.filter((x) => x.namespaced)) {
      for (const o of this.store.list(storeKey(r), name)) {
        this.store.delete(storeKey(r), name, o.metadata.name as string);
        this.afterWrite(r, o, undefined);
      }
    }
    this.store.delete(storeKey(NAMESPACES), undefined, name);
  }

  /** Drops pending namespace deletions, for shutdown. */
  close(): void {
    for (const timer of this.pendingNamespaceDeletions) clearTimeout(timer);
    this.pendingNamespaceDeletions.clear();
  }

  deleteCollection(r: ResourceType, namespace: string | undefined, options: ListOptions, write: WriteOptions = {}): JsonObject {
    const list = this.list(r, namespace, { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector });
    const items = (list.items as JsonObject[]).filter((o) => !(r === NAMESPACES && UNDELETABLE_NAMESPACES.includes((o.metadata as JsonObject).name as string)));
    const deleted = items.map((o) => {
      const m = o.metadata as JsonObject;
      const result = this.delete(r, m.namespace as string | undefined, m.name as string, write);
      return result.kind === 'Status' ? o : asListItem(result as KubeObject);
    });
    return { ...list, metadata: { resourceVersion: String(this.store.resourceVersion()) }, items: deleted };
  }

  private filterFor(r: ResourceType, namespace: string | undefined, labelSelector?: string, fieldSelector?: string): WatchFilter {
    try {
      return {
        resource: storeKey(r),
        namespace,
        labels: parseLabelSelector(labelSelector),
        fields: parseFieldSelector(fieldSelector, fieldSelectorsOf(r)),
      };
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message);
      throw e;
    }
  }

  list(r: ResourceType, namespace: string | undefined, options: ListOptions): JsonObject {
    const filter = this.filterFor(r, namespace, options.labelSelector, options.fieldSelector);
    const current = this.store.resourceVersion();
    const rvText = options.resourceVersion ?? '';
    const match = options.resourceVersionMatch ?? '';
    if (match !== '' && rvText === '') throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') throw badRequest(`resourceVersionMatch: Unsupported value: "${match}"`);
    let listRv = current;
    let objects: KubeObject[];
    if (options.continue) {
      if (rvText !== '' && rvText !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      const token = decodeContinue(options.continue);
      const past = this.store.listAt(storeKey(r), namespace, token.rv, token.start);
      if ('expired' in past) throw continueExpired();
      objects = past;
      listRv = token.rv;
    } else if (rvText !== '' && rvText !== '0') {
      const rv = parseResourceVersion(rvText);
      if (rv > current) throw resourceVersionTooLarge(rv, current);
      if (match === 'Exact') {
        const past = this.store.listAt(storeKey(r), namespace, rv);
        if ('expired' in past) throw resourceVersionExpired(rv, past.oldest);
        objects = past;
        listRv = rv;
      } else objects = this.store.list(storeKey(r), namespace);
    } else objects = this.store.list(storeKey(r), namespace);

    const keyOf = (o: KubeObject) => objectKey(o.metadata.namespace as string | undefined, o.metadata.name as string);
    const selected = filter.labels.length || filter.fields.length ? objects.filter((o) => matchesFilter(filter, o)) : objects;
    // resourceVersion=0 is served from the watch cache, which ignores paging.
    const limit = rvText === '0' ? 0 : (options.limit ?? 0);
    const page = limit > 0 ? selected.slice(0, limit) : selected;
    const metadata: JsonObject = { resourceVersion: String(listRv) };
    if (page.length < selected.length) {
      metadata.continue = encodeContinue(listRv, keyOf(page[page.length - 1]));
      if (!options.labelSelector && !options.fieldSelector) metadata.remainingItemCount = selected.length - page.length;
    }
    return { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata, items: page.map(asListItem) };
  }

  /**
   * Starts a watch: `send` gets the initial events synchronously, then each change as it is
   * stored. An expired start version is reported as an ERROR event with a 410 Expired Status
   * (as the real server does once the watch is established) and the watch ends.
   */
  watch(r: ResourceType, namespace: string | undefined, options: WatchOptions, send: (event: WatchEvent) => void, end: () => void): Watcher {
    const filter = this.filterFor(r, namespace, options.labelSelector, options.fieldSelector);
    const rvText = options.resourceVersion ?? '';
    const bookmark = (annotations?: JsonObject): WatchEvent => ({
      type: 'BOOKMARK',
      object: {
        kind: r.kind,
        apiVersion: apiVersionOf(r),
        metadata: { resourceVersion: String(this.store.resourceVersion()), ...(annotations ? { annotations } : {}) },
      },
    });
    let stopped = false;
    const watcher: Watcher = { bookmark: () => bookmark(), stop: () => undefined };
    const initialState = rvText === '' || rvText === '0' ? options.sendInitialEvents !== false : options.sendInitialEvents === true;
    let from: number;
    if (initialState) {
      for (const o of this.store.list(storeKey(r), namespace)) {
        if (matchesFilter(filter, o)) send({ type: 'ADDED', object: o });
      }
      if (options.sendInitialEvents === true && options.allowWatchBookmarks) send(bookmark({ 'k8s.io/initial-events-end': 'true' }));
      from = this.store.resourceVersion();
    } else if (rvText === '' || rvText === '0') {
      // sendInitialEvents=false: from now on, with no replay.
      from = this.store.resourceVersion();
    } else {
      from = parseResourceVersion(rvText);
      const backlog = this.store.changesSince(from);
      if ('expired' in backlog) {
        send({ type: 'ERROR', object: resourceVersionExpired(from, backlog.oldest).status });
        end();
        return watcher;
      }
      for (const change of backlog) {
        const event = eventForWatcher(filter, change);
        if (event) send(event);
      }
      from = Math.max(from, this.store.resourceVersion());
    }
    const unsubscribe = this.store.subscribe((change: Change) => {
      if (stopped || change.resourceVersion <= from) return;
      const event = eventForWatcher(filter, change);
      if (event) send(event);
    });
    watcher.stop = () => {
      stopped = true;
      unsubscribe();
    };
    return watcher;
  }
}
