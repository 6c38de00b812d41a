import { randomUUID } from 'node:crypto';
import { ApiError, conflict } from '../../lib/errors.js';
import { cidrContains, parseCidr, parseIp } from '../../lib/ip.js';
import type { Db } from '../../store/database.js';
import type { Store, WriteTx } from '../../store/store.js';
import type { ListenerProtocol, PoolProtocol } from '../../agents/amphora/types.js';
import type { AuthContext } from '../auth.js';
import type { KeyEncryptionKey } from '../key-manager/index.js';
import { attribute, memberBody, notFound, prepareCreate, prepareUpdate, type ResourceSpec, type WireObject } from '../network/attributes.js';
import { parseListQuery, valuesOf, type QueryParams } from '../network/list-query.js';
import { getRow, listRows, type Builder, type CustomFilter, type Row, type Select } from '../network/repository.js';
import { paginationLinks } from '../network/resource.js';
import { getForWrite, getObject, insertObject, present, toWireObjects, updateObject } from './objects.js';
import { isGlobalReader, isLbAdmin, requireRead, requireWrite } from './policy.js';
import { AVAILABILITY_ZONES, FLAVORS, parseAvailabilityZoneData, readCatalogueEntry } from './operations.js';
import { enforceLbQuota } from './quotas.js';
import { checkAllowedCidrs, checkHealthMonitor, checkPoolSupported, checkL7Policy, checkL7Rule, checkListener, checkPersistenceGranularity, checkPoolOnListener, checkPoolTls, checkSessionPersistence, listenerPortConflicts, validationFailure } from './rules.js';
import { checkTlsRefs } from './tls-refs.js';
import { CHILD_SPECS, PROVIDERS, healthMonitorSpec, l7PolicySpec, l7RuleSpec, listenerSpec, loadBalancerSpec, memberSpec, poolSpec } from './schemas.js';

export type Topology = 'SINGLE' | 'ACTIVE_STANDBY';

export interface LoadBalancerConfig {
  /** The topology of balancers created without a flavor (Octavia's [controller_worker] loadbalancer_topology). */
  defaultTopology: Topology;
  defaultQuotas: Record<string, number>;
  /** The key manager's key, to read the TLS references listeners and pools are given; without it they are not checked. */
  kek?: KeyEncryptionKey;
}

/** Where a list is restricted to one parent (a pool's members). */
export interface ListScope {
  column: string;
  value: string;
}

const PENDING = ['PENDING_CREATE', 'PENDING_UPDATE', 'PENDING_DELETE'];

/** The parent a scoped list's column names. */
const SCOPE_PARENTS: Record<string, ResourceSpec> = { pool_id: poolSpec, l7policy_id: l7PolicySpec };

/** Octavia's ImmutableObject (409): a balancer with work in flight takes no other write. */
function immutable(lb: WireObject): ApiError {
  return new ApiError(409, 'ImmutableObject', `Load Balancer ${String(lb.id)} is immutable and cannot be updated.`);
}

/** Octavia's `sort=key:dir,key2` as the network API's sort_key/sort_dir pairs. */
function withSortKeys(params: QueryParams): QueryParams {
  const sort = valuesOf(params, 'sort').flatMap((s) => s.split(',')).filter(Boolean);
  const { sort: _sort, ...rest } = params;
  if (sort.length === 0) return rest;
  return {
    ...rest,
    sort_key: sort.map((s) => s.split(':')[0]),
    sort_dir: sort.map((s) => s.split(':')[1] ?? 'asc'),
  };
}

/** `loadbalancer_id` filters listeners and pools by their balancer column. */
const byBalancer: CustomFilter = (q: Select, values: unknown[]) => q.where('load_balancer_id', 'in', values as string[]);

/**
 * Octavia's rules over the store: who may read and write what, the PENDING_* lock on a balancer, validation
 * of each object against its parents, cascades, quotas. Every write is one transaction that logs each object
 * it changes (the balancer included), which is what the provisioning controller follows.
 */
export class LoadBalancerService {
  constructor(
    private readonly store: Store,
    private readonly config: LoadBalancerConfig,
  ) {}

  async list(spec: ResourceSpec, auth: AuthContext, params: QueryParams, selfUrl: string, scope?: ListScope): Promise<{ items: WireObject[]; links: { rel: string; href: string }[] }> {
    requireRead(auth, auth.projectId);
    const customFilters = spec === listenerSpec || spec === poolSpec ? { loadbalancer_id: byBalancer } : undefined;
    const query = parseListQuery(spec, withSortKeys(params), Object.keys(customFilters ?? {}));
    // Octavia lists oldest first unless told otherwise; what has no creation time (flavors, profiles) goes by id.
    if (query.sort.length === 0 && attribute(spec, 'created_at')) query.sort = [{ attribute: 'created_at', ascending: true }];
    // Flavors, profiles and amphorae belong to no project: whoever may list them sees them all.
    const global = isGlobalReader(auth) || !attribute(spec, 'project_id');
    const visible = (eb: Builder) => {
      const clauses = [];
      if (!global) clauses.push(eb('project_id', '=', auth.projectId));
      if (scope) clauses.push(eb(scope.column, '=', scope.value));
      return eb.and(clauses);
    };
    return this.store.read(async (db) => {
      // A pool's members and a policy's rules are listed by who may read the parent, as Octavia: others get 403.
      if (scope) await this.visibleObject(db, SCOPE_PARENTS[scope.column], auth, scope.value);
      let markerRow: Row | undefined;
      if (query.marker) {
        markerRow = await getRow(db, spec, query.marker, visible);
        if (!markerRow) throw notFound(spec, query.marker);
      }
      const rows = await listRows(db, spec, query, { visible, customFilters }, markerRow);
      const objects = await toWireObjects(db, spec, rows);
      return {
        items: objects.map((o) => present(spec, o, query.fields)),
        links: paginationLinks(selfUrl, params, objects, query.limit, query.pageReverse),
      };
    });
  }

  async show(spec: ResourceSpec, auth: AuthContext, id: string, fields: string[], scope?: ListScope): Promise<WireObject> {
    const object = await this.store.read((db) => this.visibleObject(db, spec, auth, id, scope));
    return present(spec, object, fields);
  }

  /** Octavia answers 404 for what does not exist and 403 for another project's object. */
  private async visibleObject(db: Db, spec: ResourceSpec, auth: AuthContext, id: string, scope?: ListScope): Promise<WireObject> {
    const row = (await db.selectFrom(spec.table).selectAll().where('id', '=', id).executeTakeFirst()) as Row | undefined;
    if (!row || (scope && row[scope.column] !== scope.value)) throw notFound(spec, id);
    requireRead(auth, (row.project_id as string | undefined) ?? auth.projectId);
    return (await toWireObjects(db, spec, [row]))[0];
  }

  // ---- load balancers -------------------------------------------------------------------------------------------

  async createLoadBalancer(auth: AuthContext, body: unknown): Promise<WireObject> {
    const requested = memberBody(loadBalancerSpec, body);
    const projectId = typeof requested.project_id === 'string' ? requested.project_id : auth.projectId;
    requireWrite(auth, projectId);
    const values = prepareCreate(loadBalancerSpec, requested, { ...auth, isAdmin: isLbAdmin(auth) });
    const provider = (values.provider as string | undefined) ?? 'amphora';
    if (!PROVIDERS.some((p) => p.name === provider)) throw new ApiError(400, 'ProviderNotEnabled', `Provider '${provider}' is not enabled.`);
    if (!values.vip_subnet_id && !values.vip_network_id && !values.vip_port_id) {
      throw validationFailure('VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.');
    }
    const object = await this.store.write(async (tx) => {
      await enforceLbQuota(tx, this.config.defaultQuotas, values.project_id as string, 'load_balancer');
      const vip = await resolveVip(tx, values);
      if (values.availability_zone) await checkAvailabilityZone(tx, values.availability_zone as string, vip.vip_network_id as string | null);
      const topology = await this.topologyOf(tx, values.flavor_id as string | null | undefined);
      return insertObject(
        tx,
        loadBalancerSpec,
        {
          ...values,
          ...vip,
          id: randomUUID(),
          provider: 'amphora',
          flavor_id: values.flavor_id ?? null,
          availability_zone: values.availability_zone ?? null,
          vip_qos_policy_id: values.vip_qos_policy_id ?? null,
          provisioning_status: 'PENDING_CREATE',
          operating_status: 'OFFLINE',
          created_at: tx.now,
          updated_at: null,
        },
        { topology },
      );
    });
    return present(loadBalancerSpec, object);
  }

  private async topologyOf(tx: WriteTx, flavorId: string | null | undefined): Promise<Topology> {
    if (!flavorId) return this.config.defaultTopology;
    const flavor = await readCatalogueEntry(tx.db, FLAVORS, flavorId);
    if (!flavor) throw validationFailure(`Flavor ${flavorId} not found.`);
    if (!flavor.enabled) throw new ApiError(400, 'DisabledOption', `The selected flavor is not allowed in this deployment: ${flavorId}`);
    const data = JSON.parse(flavor.data) as { loadbalancer_topology?: Topology };
    return data.loadbalancer_topology ?? this.config.defaultTopology;
  }

  async updateLoadBalancer(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    const changes = prepareUpdate(loadBalancerSpec, memberBody(loadBalancerSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const { object: lb } = await getForWrite(tx, loadBalancerSpec, id);
      requireWrite(auth, lb.project_id as string);
      if (lb.provisioning_status !== 'ACTIVE') throw immutable(lb);
      return updateObject(tx, loadBalancerSpec, lb, { ...changes, provisioning_status: 'PENDING_UPDATE' });
    });
    return present(loadBalancerSpec, object);
  }

  /** Without cascade a balancer with listeners or pools stays; with it, everything in it is deleted together. */
  async deleteLoadBalancer(auth: AuthContext, id: string, cascade: boolean): Promise<void> {
    await this.store.write(async (tx) => {
      const { object: lb } = await getForWrite(tx, loadBalancerSpec, id);
      requireWrite(auth, lb.project_id as string);
      if (PENDING.includes(lb.provisioning_status as string)) throw immutable(lb);
      const children = (lb.listeners as unknown[]).length + (lb.pools as unknown[]).length;
      if (children > 0 && !cascade) throw validationFailure(`Cannot delete Load Balancer ${id} - it has children`);
      await markChildren(tx, id, (q) => q, 'PENDING_DELETE');
      await updateObject(tx, loadBalancerSpec, lb, { provisioning_status: 'PENDING_DELETE' });
    });
  }

  /**
   * The lock every child write takes: the balancer row (locked until commit on PostgreSQL), the caller's right
   * to write it, and no work in flight. After `write`, the balancer turns PENDING_UPDATE for the controller.
   */
  private async onBalancer<T>(tx: WriteTx, auth: AuthContext, loadBalancerId: string, write: (lb: WireObject) => Promise<T>): Promise<T> {
    const { object: lb } = await getForWrite(tx, loadBalancerSpec, loadBalancerId);
    requireWrite(auth, lb.project_id as string);
    if (lb.provisioning_status !== 'ACTIVE') throw immutable(lb);
    const result = await write(lb);
    await updateObject(tx, loadBalancerSpec, lb, { provisioning_status: 'PENDING_UPDATE' });
    return result;
  }

  /** A child's row for a write: 404 when missing (or outside `scope`), 403 for another project's. */
  private async childForWrite(tx: WriteTx, spec: ResourceSpec, auth: AuthContext, id: string, scope?: ListScope): Promise<{ row: Row; object: WireObject }> {
    const found = await getForWrite(tx, spec, id);
    if (scope && found.row[scope.column] !== scope.value) throw notFound(spec, id);
    requireWrite(auth, found.row.project_id as string);
    return found;
  }

  /**
   * Every child update: the body checked against the attribute map, the balancer locked, `check` run on the
   * current object and the changes (it may return more columns to write), the object PENDING_UPDATE.
   */
  private async updateChild(
    spec: ResourceSpec,
    auth: AuthContext,
    id: string,
    body: unknown,
    check: (tx: WriteTx, row: Row, current: WireObject, changes: WireObject) => Promise<WireObject | void>,
    scope?: ListScope,
  ): Promise<WireObject> {
    const changes = prepareUpdate(spec, memberBody(spec, body), auth);
    const object = await this.store.write(async (tx) => {
      const { row, object: current } = await this.childForWrite(tx, spec, auth, id, scope);
      return this.onBalancer(tx, auth, row.load_balancer_id as string, async () => {
        const more = (await check(tx, row, current, changes)) ?? {};
        return updateObject(tx, spec, current, { ...changes, ...more, provisioning_status: 'PENDING_UPDATE' });
      });
    });
    return present(spec, object);
  }

  /** Every child delete: the balancer locked, `cascade` marking what goes with the object, the object PENDING_DELETE. */
  private async deleteChild(spec: ResourceSpec, auth: AuthContext, id: string, cascade: (tx: WriteTx, row: Row) => Promise<void>, scope?: ListScope): Promise<void> {
    await this.store.write(async (tx) => {
      const { row, object: current } = await this.childForWrite(tx, spec, auth, id, scope);
      await this.onBalancer(tx, auth, row.load_balancer_id as string, async () => {
        await cascade(tx, row);
        await updateObject(tx, spec, current, { provisioning_status: 'PENDING_DELETE' });
      });
    });
  }

  private async markPendingUpdate(tx: WriteTx, spec: ResourceSpec, id: string): Promise<void> {
    const object = await getObject(tx.db, spec, id);
    if (object && !PENDING.includes(object.provisioning_status as string)) {
      await updateObject(tx, spec, object, { provisioning_status: 'PENDING_UPDATE' });
    }
  }

  private newChild(tx: WriteTx, lb: WireObject, values: WireObject, operatingStatus = 'OFFLINE'): WireObject {
    return {
      ...values,
      id: randomUUID(),
      project_id: lb.project_id,
      provisioning_status: 'PENDING_CREATE',
      operating_status: operatingStatus,
      created_at: tx.now,
      updated_at: null,
    };
  }

  // ---- listeners -------------------------------------------------------------------------------------------------

  async createListener(auth: AuthContext, body: unknown): Promise<WireObject> {
    const values = checkListener(prepareCreate(listenerSpec, memberBody(listenerSpec, body), auth));
    const lbId = values.loadbalancer_id as string;
    const object = await this.store.write(async (tx) =>
      this.onBalancer(tx, auth, lbId, async (lb) => {
        await enforceLbQuota(tx, this.config.defaultQuotas, lb.project_id as string, 'listener');
        const siblings = (await tx.db.selectFrom('lb_listeners').select(['protocol', 'protocol_port']).where('load_balancer_id', '=', lbId).execute()) as {
          protocol: string;
          protocol_port: number;
        }[];
        if (siblings.some((s) => listenerPortConflicts(s, values as { protocol: string; protocol_port: number }))) {
          throw conflict(
            `Another Listener on this Load Balancer is already using protocol ${String(values.protocol)} and protocol_port ${String(values.protocol_port)}`,
            'DuplicateListenerEntry',
          );
        }
        if (values.default_pool_id) await this.checkDefaultPool(tx, lbId, values);
        checkAllowedCidrs(await vipOf(tx, lb), values.allowed_cidrs as string[]);
        await checkTlsRefs(tx.db, this.config.kek, { projectId: lb.project_id as string, userId: auth.userId }, values);
        return insertObject(tx, listenerSpec, this.newChild(tx, lb, values), { load_balancer_id: lbId });
      }),
    );
    return present(listenerSpec, object);
  }

  private async checkDefaultPool(tx: WriteTx, lbId: string, listener: WireObject): Promise<void> {
    const pool = (await tx.db.selectFrom('lb_pools').selectAll().where('id', '=', listener.default_pool_id as string).where('load_balancer_id', '=', lbId).executeTakeFirst()) as Row | undefined;
    if (!pool || pool.provisioning_status === 'PENDING_DELETE') throw notFound(poolSpec, listener.default_pool_id as string);
    checkPoolOnListener(listener.protocol as ListenerProtocol, { protocol: pool.protocol as PoolProtocol, session_persistence: pool.session_persistence ? JSON.parse(pool.session_persistence as string) : null });
  }

  async updateListener(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    return this.updateChild(listenerSpec, auth, id, body, async (tx, row, current, changes) => {
      // TLS defaults are completed again only for what the update leaves unset, so explicit values stay.
      const kept = (field: string) => (field in changes ? changes[field] : current.protocol === 'TERMINATED_HTTPS' ? current[field] : null);
      const checked = checkListener({ ...current, ...changes, tls_versions: kept('tls_versions'), alpn_protocols: kept('alpn_protocols'), tls_ciphers: kept('tls_ciphers') });
      if (changes.default_pool_id) await this.checkDefaultPool(tx, row.load_balancer_id as string, checked);
      if (changes.allowed_cidrs) checkAllowedCidrs(await vipOf(tx, (await getObject(tx.db, loadBalancerSpec, row.load_balancer_id as string))!), changes.allowed_cidrs as string[]);
      await checkTlsRefs(tx.db, this.config.kek, { projectId: row.project_id as string, userId: auth.userId }, changes);
      return { tls_versions: checked.tls_versions, alpn_protocols: checked.alpn_protocols, tls_ciphers: checked.tls_ciphers };
    });
  }

  async deleteListener(auth: AuthContext, id: string): Promise<void> {
    await this.deleteChild(listenerSpec, auth, id, async (tx, row) => {
      const policies = (await tx.db.selectFrom('lb_l7policies').select('id').where('listener_id', '=', id).execute()) as Row[];
      const policyIds = policies.map((p) => p.id as string);
      if (policyIds.length) await markChildren(tx, row.load_balancer_id as string, (q) => q.where('l7policy_id', 'in', policyIds), 'PENDING_DELETE', ['rules']);
      await markChildren(tx, row.load_balancer_id as string, (q) => q.where('listener_id', '=', id), 'PENDING_DELETE', ['l7policies']);
    });
  }

  // ---- pools -----------------------------------------------------------------------------------------------------

  async createPool(auth: AuthContext, body: unknown): Promise<WireObject> {
    const values = prepareCreate(poolSpec, memberBody(poolSpec, body), auth);
    checkSessionPersistence(values.protocol as PoolProtocol, values.session_persistence as Record<string, unknown> | null);
    checkPoolTls(values);
    const object = await this.store.write(async (tx) => {
      let lbId = values.loadbalancer_id as string | undefined;
      let listener: Row | undefined;
      if (values.listener_id) {
        listener = (await tx.db.selectFrom('lb_listeners').selectAll().where('id', '=', values.listener_id as string).executeTakeFirst()) as Row | undefined;
        if (!listener) throw notFound(listenerSpec, values.listener_id as string);
        if (lbId && lbId !== listener.load_balancer_id) throw validationFailure('The listener is not on the given load balancer.');
        lbId = listener.load_balancer_id as string;
      }
      if (!lbId) throw validationFailure('A pool must be created with a loadbalancer_id or a listener_id.');
      return this.onBalancer(tx, auth, lbId, async (lb) => {
        checkPoolSupported(values);
        checkPersistenceGranularity(await vipOf(tx, lb), values.session_persistence as Record<string, unknown> | null);
        await enforceLbQuota(tx, this.config.defaultQuotas, lb.project_id as string, 'pool');
        await checkTlsRefs(tx.db, this.config.kek, { projectId: lb.project_id as string, userId: auth.userId }, values);
        const id = randomUUID();
        if (listener) {
          checkPoolOnListener(listener.protocol as ListenerProtocol, values as { protocol: PoolProtocol; session_persistence: unknown });
          if (listener.default_pool_id) throw conflict('This listener already has a default pool', 'DuplicatePoolEntry');
        }
        const pool = await insertObject(tx, poolSpec, { ...this.newChild(tx, lb, values), id }, { load_balancer_id: lbId });
        if (listener) {
          const current = (await getObject(tx.db, listenerSpec, listener.id as string))!;
          await updateObject(tx, listenerSpec, current, { default_pool_id: id, provisioning_status: 'PENDING_UPDATE' });
          return (await getObject(tx.db, poolSpec, id))!;
        }
        return pool;
      });
    });
    return present(poolSpec, object);
  }

  /** Listeners that route to a pool, by default or through an L7 policy, with their protocols. */
  private async listenersOf(tx: WriteTx, poolId: string): Promise<{ id: string; protocol: ListenerProtocol }[]> {
    const direct = (await tx.db.selectFrom('lb_listeners').select(['id', 'protocol']).where('default_pool_id', '=', poolId).execute()) as { id: string; protocol: ListenerProtocol }[];
    const viaPolicy = (await tx.db
      .selectFrom('lb_l7policies')
      .innerJoin('lb_listeners', 'lb_listeners.id', 'lb_l7policies.listener_id')
      .select(['lb_listeners.id as id', 'lb_listeners.protocol as protocol'])
      .where('lb_l7policies.redirect_pool_id', '=', poolId)
      .execute()) as { id: string; protocol: ListenerProtocol }[];
    return [...direct, ...viaPolicy];
  }

  async updatePool(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    return this.updateChild(poolSpec, auth, id, body, async (tx, row, current, changes) => {
      const merged = { ...current, ...changes } as { protocol: PoolProtocol; session_persistence: Record<string, unknown> | null };
      checkSessionPersistence(merged.protocol, merged.session_persistence);
      checkPoolSupported(changes);
      checkPoolTls(merged);
      if (changes.session_persistence) checkPersistenceGranularity(await vipOf(tx, (await getObject(tx.db, loadBalancerSpec, row.load_balancer_id as string))!), merged.session_persistence);
      await checkTlsRefs(tx.db, this.config.kek, { projectId: row.project_id as string, userId: auth.userId }, changes);
      for (const listener of await this.listenersOf(tx, id)) checkPoolOnListener(listener.protocol, merged);
    });
  }

  async deletePool(auth: AuthContext, id: string): Promise<void> {
    await this.deleteChild(poolSpec, auth, id, async (tx, row) => {
      const policy = (await tx.db.selectFrom('lb_l7policies').select('id').where('redirect_pool_id', '=', id).executeTakeFirst()) as Row | undefined;
      if (policy) throw conflict(`Pool ${id} is in use by L7 policy ${String(policy.id)}`, 'PoolInUseByL7Policy');
      await markChildren(tx, row.load_balancer_id as string, (q) => q.where('pool_id', '=', id), 'PENDING_DELETE', ['members', 'healthmonitors']);
    });
  }

  // ---- members ---------------------------------------------------------------------------------------------------

  private async poolForWrite(tx: WriteTx, auth: AuthContext, poolId: string): Promise<Row> {
    const { row } = await this.childForWrite(tx, poolSpec, auth, poolId);
    if (PENDING.includes(row.provisioning_status as string)) throw immutable({ id: row.load_balancer_id });
    return row;
  }

  private async memberOperatingStatus(tx: WriteTx, poolId: string): Promise<string> {
    const monitor = await tx.db.selectFrom('lb_health_monitors').select('id').where('pool_id', '=', poolId).executeTakeFirst();
    return monitor ? 'OFFLINE' : 'NO_MONITOR';
  }

  async createMember(auth: AuthContext, poolId: string, body: unknown): Promise<WireObject> {
    const values = prepareCreate(memberSpec, memberBody(memberSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const pool = await this.poolForWrite(tx, auth, poolId);
      return this.onBalancer(tx, auth, pool.load_balancer_id as string, async (lb) => {
        await enforceLbQuota(tx, this.config.defaultQuotas, lb.project_id as string, 'member');
        await checkSubnet(tx, values.subnet_id as string | null);
        await checkNoDuplicateMember(tx, poolId, values);
        const member = this.newChild(tx, lb, values, await this.memberOperatingStatus(tx, poolId));
        const created = await insertObject(tx, memberSpec, member, { load_balancer_id: lb.id, pool_id: poolId });
        await this.markPendingUpdate(tx, poolSpec, poolId);
        return created;
      });
    });
    return present(memberSpec, object);
  }

  async updateMember(auth: AuthContext, poolId: string, id: string, body: unknown): Promise<WireObject> {
    return this.updateChild(memberSpec, auth, id, body, (tx) => this.markPendingUpdate(tx, poolSpec, poolId), { column: 'pool_id', value: poolId });
  }

  async deleteMember(auth: AuthContext, poolId: string, id: string): Promise<void> {
    await this.deleteChild(memberSpec, auth, id, (tx) => this.markPendingUpdate(tx, poolSpec, poolId), { column: 'pool_id', value: poolId });
  }

  /**
   * `PUT /pools/{id}/members`: the pool's members become the given list, matched by address and port: new ones
   * are created, matched ones updated, the rest deleted (kept with `additive_only`). All in one transaction.
   */
  async replaceMembers(auth: AuthContext, poolId: string, body: unknown, additiveOnly: boolean): Promise<void> {
    const list = (body as { members?: unknown } | null)?.members;
    if (!Array.isArray(list)) throw validationFailure("Unable to find 'members' in request body");
    const requested = list.map((m) => prepareCreate(memberSpec, memberBody(memberSpec, { member: m }), auth));
    const key = (m: WireObject) => `${String(m.address)}|${String(m.protocol_port)}`;
    const seen = new Set<string>();
    for (const m of requested) {
      if (seen.has(key(m))) throw validationFailure(`Member ${String(m.address)} on port ${String(m.protocol_port)} is listed twice.`);
      seen.add(key(m));
    }
    await this.store.write(async (tx) => {
      const pool = await this.poolForWrite(tx, auth, poolId);
      await this.onBalancer(tx, auth, pool.load_balancer_id as string, async (lb) => {
        const rows = (await tx.db.selectFrom('lb_members').selectAll().where('pool_id', '=', poolId).execute()) as Row[];
        const existing = new Map((await toWireObjects(tx.db, memberSpec, rows)).map((m) => [key(m), m]));
        const created = requested.filter((m) => !existing.has(key(m)));
        await enforceLbQuota(tx, this.config.defaultQuotas, lb.project_id as string, 'member', created.length);
        const operatingStatus = await this.memberOperatingStatus(tx, poolId);
        for (const m of requested) {
          const current = existing.get(key(m));
          if (current) {
            const changes: WireObject = {};
            for (const attr of memberSpec.attributes) if (attr.put && attr.name in m) changes[attr.name] = m[attr.name];
            await updateObject(tx, memberSpec, current, { ...changes, provisioning_status: 'PENDING_UPDATE' });
          } else {
            await checkSubnet(tx, m.subnet_id as string | null);
            await insertObject(tx, memberSpec, this.newChild(tx, lb, m, operatingStatus), { load_balancer_id: lb.id, pool_id: poolId });
          }
        }
        if (!additiveOnly) {
          for (const [k, m] of existing) if (!seen.has(k)) await updateObject(tx, memberSpec, m, { provisioning_status: 'PENDING_DELETE' });
        }
        await this.markPendingUpdate(tx, poolSpec, poolId);
      });
    });
  }

  // ---- health monitors -------------------------------------------------------------------------------------------

  async createHealthMonitor(auth: AuthContext, body: unknown): Promise<WireObject> {
    const values = prepareCreate(healthMonitorSpec, memberBody(healthMonitorSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const pool = await this.poolForWrite(tx, auth, values.pool_id as string);
      const checked = checkHealthMonitor(pool.protocol as PoolProtocol, values);
      return this.onBalancer(tx, auth, pool.load_balancer_id as string, async (lb) => {
        await enforceLbQuota(tx, this.config.defaultQuotas, lb.project_id as string, 'health_monitor');
        const existing = await tx.db.selectFrom('lb_health_monitors').select('id').where('pool_id', '=', pool.id as string).executeTakeFirst();
        if (existing) throw conflict('This pool already has a health monitor', 'DuplicateHealthMonitor');
        const created = await insertObject(tx, healthMonitorSpec, this.newChild(tx, lb, checked), { load_balancer_id: lb.id });
        await this.markPendingUpdate(tx, poolSpec, pool.id as string);
        return created;
      });
    });
    return present(healthMonitorSpec, object);
  }

  async updateHealthMonitor(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    return this.updateChild(healthMonitorSpec, auth, id, body, async (tx, row, current, changes) => {
      const pool = (await tx.db.selectFrom('lb_pools').select('protocol').where('id', '=', row.pool_id as string).executeTakeFirstOrThrow()) as { protocol: PoolProtocol };
      checkHealthMonitor(pool.protocol, { ...current, ...changes });
    });
  }

  async deleteHealthMonitor(auth: AuthContext, id: string): Promise<void> {
    await this.deleteChild(healthMonitorSpec, auth, id, async () => undefined);
  }

  // ---- L7 policies and rules -------------------------------------------------------------------------------------

  private async listenerRow(tx: WriteTx, id: string): Promise<Row> {
    const row = (await tx.db.selectFrom('lb_listeners').selectAll().where('id', '=', id).executeTakeFirst()) as Row | undefined;
    if (!row) throw notFound(listenerSpec, id);
    return row;
  }

  /** A policy's target pool: on the listener's balancer, not being deleted, and of a protocol the listener can use. */
  private async checkRedirectPool(tx: WriteTx, listener: Row, poolId: string): Promise<void> {
    const pool = (await tx.db.selectFrom('lb_pools').selectAll().where('id', '=', poolId).where('load_balancer_id', '=', listener.load_balancer_id as string).executeTakeFirst()) as Row | undefined;
    if (!pool || pool.provisioning_status === 'PENDING_DELETE') throw notFound(poolSpec, poolId);
    checkPoolOnListener(listener.protocol as ListenerProtocol, { protocol: pool.protocol as PoolProtocol, session_persistence: pool.session_persistence ? JSON.parse(pool.session_persistence as string) : null });
  }

  /**
   * Octavia's policy positions: 1..n on each listener without gaps. The policy `moving` takes its requested place
   * (the end when absent or beyond it) and the others shift; `leaving` is taken out. Returns `moving`'s position.
   */
  private async arrangePolicies(tx: WriteTx, listenerId: string, moving?: { id: string; position?: number }, leaving?: string): Promise<number> {
    const rows = (await tx.db
      .selectFrom('lb_l7policies')
      .selectAll()
      .where('listener_id', '=', listenerId)
      .where('provisioning_status', '!=', 'PENDING_DELETE')
      .orderBy('position')
      .orderBy('created_at')
      .execute()) as Row[];
    const others = rows.filter((r) => r.id !== moving?.id && r.id !== leaving);
    const position = Math.min(moving?.position ?? others.length + 1, others.length + 1);
    const order = others.map((r) => r.id as string);
    if (moving) order.splice(position - 1, 0, moving.id);
    const objects = new Map((await toWireObjects(tx.db, l7PolicySpec, others)).map((o) => [o.id as string, o]));
    for (const [i, id] of order.entries()) {
      const object = objects.get(id);
      if (object && object.position !== i + 1) await updateObject(tx, l7PolicySpec, object, { position: i + 1 });
    }
    return position;
  }

  async createL7Policy(auth: AuthContext, body: unknown): Promise<WireObject> {
    const values = prepareCreate(l7PolicySpec, memberBody(l7PolicySpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const listener = await this.listenerRow(tx, values.listener_id as string);
      return this.onBalancer(tx, auth, listener.load_balancer_id as string, async (lb) => {
        await enforceLbQuota(tx, this.config.defaultQuotas, lb.project_id as string, 'l7policy');
        const checked = checkL7Policy(listener.protocol as ListenerProtocol, values);
        if (checked.redirect_pool_id) await this.checkRedirectPool(tx, listener, checked.redirect_pool_id as string);
        const id = randomUUID();
        const position = await this.arrangePolicies(tx, listener.id as string, { id, position: values.position as number | undefined });
        const created = await insertObject(tx, l7PolicySpec, { ...this.newChild(tx, lb, checked), id, position }, { load_balancer_id: lb.id });
        await this.markPendingUpdate(tx, listenerSpec, listener.id as string);
        return created;
      });
    });
    return present(l7PolicySpec, object);
  }

  async updateL7Policy(auth: AuthContext, id: string, body: unknown): Promise<WireObject> {
    return this.updateChild(l7PolicySpec, auth, id, body, async (tx, row, current, changes) => {
      const listener = await this.listenerRow(tx, row.listener_id as string);
      const checked = checkL7Policy(listener.protocol as ListenerProtocol, { ...current, ...changes });
      if (checked.redirect_pool_id) await this.checkRedirectPool(tx, listener, checked.redirect_pool_id as string);
      const more: WireObject = { redirect_pool_id: checked.redirect_pool_id, redirect_url: checked.redirect_url, redirect_prefix: checked.redirect_prefix, redirect_http_code: checked.redirect_http_code };
      if (changes.position !== undefined) more.position = await this.arrangePolicies(tx, listener.id as string, { id, position: changes.position as number });
      await this.markPendingUpdate(tx, listenerSpec, listener.id as string);
      return more;
    });
  }

  async deleteL7Policy(auth: AuthContext, id: string): Promise<void> {
    await this.deleteChild(l7PolicySpec, auth, id, async (tx, row) => {
      await markChildren(tx, row.load_balancer_id as string, (q) => q.where('l7policy_id', '=', id), 'PENDING_DELETE', ['rules']);
      await this.arrangePolicies(tx, row.listener_id as string, undefined, id);
      await this.markPendingUpdate(tx, listenerSpec, row.listener_id as string);
    });
  }

  private async policyListenerProtocol(tx: WriteTx, policy: Row): Promise<ListenerProtocol> {
    return (await this.listenerRow(tx, policy.listener_id as string)).protocol as ListenerProtocol;
  }

  async createL7Rule(auth: AuthContext, policyId: string, body: unknown): Promise<WireObject> {
    const values = prepareCreate(l7RuleSpec, memberBody(l7RuleSpec, body), auth);
    const object = await this.store.write(async (tx) => {
      const { row: policy } = await this.childForWrite(tx, l7PolicySpec, auth, policyId);
      const checked = checkL7Rule(await this.policyListenerProtocol(tx, policy), values);
      return this.onBalancer(tx, auth, policy.load_balancer_id as string, async (lb) => {
        await enforceLbQuota(tx, this.config.defaultQuotas, lb.project_id as string, 'l7rule');
        const created = await insertObject(tx, l7RuleSpec, this.newChild(tx, lb, checked), { load_balancer_id: lb.id, l7policy_id: policyId });
        await this.markPendingUpdate(tx, l7PolicySpec, policyId);
        return created;
      });
    });
    return present(l7RuleSpec, object);
  }

  async updateL7Rule(auth: AuthContext, policyId: string, id: string, body: unknown): Promise<WireObject> {
    return this.updateChild(
      l7RuleSpec,
      auth,
      id,
      body,
      async (tx, _row, current, changes) => {
        const policy = (await tx.db.selectFrom('lb_l7policies').selectAll().where('id', '=', policyId).executeTakeFirstOrThrow()) as Row;
        const checked = checkL7Rule(await this.policyListenerProtocol(tx, policy), { ...current, ...changes });
        await this.markPendingUpdate(tx, l7PolicySpec, policyId);
        return { key: checked.key };
      },
      { column: 'l7policy_id', value: policyId },
    );
  }

  async deleteL7Rule(auth: AuthContext, policyId: string, id: string): Promise<void> {
    await this.deleteChild(l7RuleSpec, auth, id, (tx) => this.markPendingUpdate(tx, l7PolicySpec, policyId), { column: 'l7policy_id', value: policyId });
  }
}

/** Marks the balancer's children selected by `where` (of every kind, or of the `collections` named) with `status`. */
async function markChildren(tx: WriteTx, loadBalancerId: string, where: (q: Select) => Select, status: string, collections?: string[]): Promise<void> {
  for (const spec of CHILD_SPECS) {
    if (collections && !collections.includes(spec.collection)) continue;
    const rows = (await where(tx.db.selectFrom(spec.table).selectAll().where('load_balancer_id', '=', loadBalancerId)).execute()) as Row[];
    for (const object of await toWireObjects(tx.db, spec, rows)) {
      if (object.provisioning_status !== status) await updateObject(tx, spec, object, { provisioning_status: status });
    }
  }
}

/**
 * A balancer's zone must exist and be enabled; its profile's `valid_vip_networks`, when given, bound where the VIP
 * may be. The zone's compute zone is recorded only: the lab's hosts have no zones to place amphorae in.
 */
async function checkAvailabilityZone(tx: WriteTx, name: string, vipNetworkId: string | null): Promise<void> {
  const zone = await readCatalogueEntry(tx.db, AVAILABILITY_ZONES, name);
  if (!zone) throw validationFailure('Invalid availability zone.');
  if (!zone.enabled) throw new ApiError(400, 'DisabledOption', `The selected availability_zone is not allowed in this deployment: ${name}`);
  const allowed = parseAvailabilityZoneData(zone.data).valid_vip_networks;
  if (allowed && !allowed.includes(vipNetworkId ?? '')) throw validationFailure('Supplied VIP network_id is not allowed by the configuration of this deployment.');
}

/** The VIP's address and IP version; before the controller allocates the address, the version is its subnet's. */
async function vipOf(tx: WriteTx, lb: WireObject): Promise<{ address: string; version: 4 | 6 }> {
  const address = lb.vip_address as string | null;
  const parsed = address ? parseIp(address) : undefined;
  if (address && parsed) return { address, version: parsed.version };
  const subnet = lb.vip_subnet_id ? await tx.db.selectFrom('subnets').select('ip_version').where('id', '=', lb.vip_subnet_id as string).executeTakeFirst() : undefined;
  return { address: String(address ?? lb.vip_subnet_id), version: Number(subnet?.ip_version ?? 4) === 6 ? 6 : 4 };
}

async function checkSubnet(tx: WriteTx, subnetId: string | null | undefined): Promise<void> {
  if (!subnetId) return;
  const subnet = await tx.db.selectFrom('subnets').select('id').where('id', '=', subnetId).executeTakeFirst();
  if (!subnet) throw validationFailure(`Subnet ${subnetId} not found.`);
}

async function checkNoDuplicateMember(tx: WriteTx, poolId: string, values: WireObject): Promise<void> {
  const existing = await tx.db
    .selectFrom('lb_members')
    .select('id')
    .where('pool_id', '=', poolId)
    .where('address', '=', values.address as string)
    .where('protocol_port', '=', values.protocol_port as number)
    .executeTakeFirst();
  if (existing) {
    throw conflict(
      `Another member on this pool is already using ip address ${String(values.address)} on protocol_port ${String(values.protocol_port)}`,
      'DuplicateMemberEntry',
    );
  }
}

/**
 * The VIP as asked, completed from the Network API's own tables: a port gives its network, subnet and address;
 * a subnet gives its network. The VIP port itself is allocated by the provisioning controller.
 */
async function resolveVip(tx: WriteTx, values: WireObject): Promise<WireObject> {
  const vip: WireObject = {
    vip_address: values.vip_address ?? null,
    vip_port_id: values.vip_port_id ?? null,
    vip_subnet_id: values.vip_subnet_id ?? null,
    vip_network_id: values.vip_network_id ?? null,
  };
  if (vip.vip_port_id) {
    const port = (await tx.db.selectFrom('ports').select(['id', 'network_id']).where('id', '=', vip.vip_port_id as string).executeTakeFirst()) as Row | undefined;
    if (!port) throw validationFailure(`Port ${String(vip.vip_port_id)} not found.`);
    const ip = (await tx.db.selectFrom('ip_allocations').select(['subnet_id', 'ip_address']).where('port_id', '=', port.id as string).orderBy('ip_address').executeTakeFirst()) as Row | undefined;
    vip.vip_network_id = port.network_id;
    vip.vip_subnet_id = vip.vip_subnet_id ?? ip?.subnet_id ?? null;
    vip.vip_address = vip.vip_address ?? ip?.ip_address ?? null;
  }
  if (vip.vip_subnet_id) {
    const subnet = (await tx.db.selectFrom('subnets').select(['network_id', 'cidr']).where('id', '=', vip.vip_subnet_id as string).executeTakeFirst()) as Row | undefined;
    if (!subnet) throw validationFailure(`Subnet ${String(vip.vip_subnet_id)} not found.`);
    if (vip.vip_network_id && vip.vip_network_id !== subnet.network_id) throw validationFailure('vip_subnet_id is not on vip_network_id.');
    const address = vip.vip_address ? parseIp(vip.vip_address as string) : undefined;
    if (address && !cidrContains(parseCidr(subnet.cidr as string)!, address)) {
      throw validationFailure(`The VIP address ${String(vip.vip_address)} is not in subnet ${String(vip.vip_subnet_id)} (${String(subnet.cidr)}).`);
    }
    vip.vip_network_id = subnet.network_id;
  } else if (vip.vip_network_id) {
    const network = await tx.db.selectFrom('networks').select('id').where('id', '=', vip.vip_network_id as string).executeTakeFirst();
    if (!network) throw validationFailure(`Network ${String(vip.vip_network_id)} not found.`);
  }
  return vip;
}

