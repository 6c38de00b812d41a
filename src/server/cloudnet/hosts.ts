import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../lib/errors.js';
import { canonicalIp } from '../../lib/ip.js';
import { FeedHub, type FanOutPolicy, type FeedSink, type IndexSource } from '../../feed/hub.js';
import type { FeedMessage } from '../../feed/target-state.js';
import type { Db } from '../../store/database.js';
import type { Store, WriteTx } from '../../store/store.js';
import type { ServerContext } from '../app.js';
import { requireAdmin } from '../auth.js';
import { NdjsonQueue, startNdjson } from '../ndjson.js';
import { defaultNetworkConfig } from '../network/config.js';
import type { ResourceService } from '../network/resource.js';
import { createNetworkServices } from '../network/resources/index.js';

export interface HostsApiOptions {
  /** A host that has not sent a heartbeat for this long is down, and its ports with it (Neutron: 75 s). */
  agentDownTimeSeconds: number;
  /** How often to look for hosts that went quiet. */
  livenessCheckMs: number;
  /** Heartbeat lines on an idle feed stream, so agents and proxies see it is alive. */
  streamHeartbeatMs: number;
  /** Lines a slow agent may fall behind before its stream is cut (it then resumes from its revision). */
  streamQueueLimit: number;
  /** Who is sent what (default: the Sprut policy); benchmarks pass models of other designs. */
  fanOut?: FanOutPolicy;
}

export const DEFAULT_HOSTS_OPTIONS: HostsApiOptions = {
  agentDownTimeSeconds: 10,
  livenessCheckMs: 1000,
  streamHeartbeatMs: 5000,
  streamQueueLimit: 500_000,
};

export interface HostRow {
  name: string;
  id: string;
  agent_type: string;
  binary: string;
  version: string;
  tunnel_ip: string;
  provider_interfaces: string;
  alive: number;
  admin_state_up: number;
  description: string | null;
  heartbeat_at: string;
  started_at: string;
  created_at: string;
}

const PORT_STATUSES = new Set(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']);
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** The host as the change log and the feed carry it. */
export function hostBody(row: HostRow) {
  return {
    name: row.name,
    id: row.id,
    tunnel_ip: row.tunnel_ip,
    provider_interfaces: JSON.parse(row.provider_interfaces) as Record<string, string>,
    alive: row.alive === 1,
    agent_type: row.agent_type,
  };
}

export async function getHost(db: Db, name: string): Promise<HostRow | undefined> {
  return (await db.selectFrom('hosts').selectAll().where('name', '=', name).executeTakeFirst()) as HostRow | undefined;
}

/** Every object the relevance index starts from, read in the caller's transaction. */
export function indexSource(services: Map<string, ResourceService>): IndexSource {
  return async (db) => {
    const out: { resource: string; objects: Record<string, unknown>[] }[] = [];
    for (const member of ['network', 'subnet', 'port', 'security_group']) {
      const service = services.get(member);
      if (!service) continue;
      const rows = (await db.selectFrom(service.spec.table).selectAll().execute()) as Record<string, unknown>[];
      out.push({ resource: member, objects: await service.hydrate(db, rows) });
    }
    const hosts = (await db.selectFrom('hosts').selectAll().execute()) as HostRow[];
    out.push({ resource: 'host', objects: hosts.map(hostBody) });
    return out;
  };
}

/**
 * cloudnet's own API for host agents: register, heartbeat, report port status, and the per-host target
 * stream (`GET /cloudnet/v1/hosts/{host}/target?since=R`). Also watches liveness: a host that goes quiet is
 * marked down and its ports DOWN.
 */
export async function registerHostsRoutes(app: FastifyInstance, ctx: ServerContext, options: Partial<HostsApiOptions> = {}): Promise<void> {
  const opts = { ...DEFAULT_HOSTS_OPTIONS, ...options };
  const services = createNetworkServices(defaultNetworkConfig, ctx.store);
  const ports = services.get('port');
  const hub = new FeedHub(ctx.store, indexSource(services), ctx.logger, { fanOut: opts.fanOut });
  await hub.start();

  // A server that was itself down heard no heartbeats: judge no host until agents have had a down time to reach it.
  const judgeFrom = Date.now() + opts.agentDownTimeSeconds * 1000;
  const liveness = setInterval(() => {
    if (Date.now() < judgeFrom) return;
    void markSilentHostsDown(ctx.store, ports, opts.agentDownTimeSeconds).catch((err: unknown) => ctx.logger.error({ err }, 'liveness check failed'));
  }, opts.livenessCheckMs);
  liveness.unref();
  app.addHook('onClose', async () => {
    clearInterval(liveness);
    hub.stop();
  });

  type HostReq = FastifyRequest<{ Params: { host: string }; Querystring: { since?: string } }>;

  app.put('/hosts/:host', async (request: HostReq) => {
    requireAdmin(request);
    const host = checkHostName(request.params.host);
    const body = (request.body as { host?: Record<string, unknown> } | null)?.host;
    if (!body || typeof body !== 'object') throw badRequest("Unable to find 'host' in request body");
    const tunnelIp = typeof body.tunnel_ip === 'string' ? canonicalIp(body.tunnel_ip) : undefined;
    if (!tunnelIp) throw badRequest(`Invalid input for tunnel_ip. Reason: '${String(body.tunnel_ip)}' is not a valid IP address.`);
    const provider = body.provider_interfaces ?? {};
    if (typeof provider !== 'object' || Array.isArray(provider) || Object.values(provider).some((v) => typeof v !== 'string')) {
      throw badRequest('Invalid input for provider_interfaces. Reason: it must map physical network names to interface names.');
    }
    const row = await ctx.store.write((tx) =>
      registerHost(tx, {
        name: host,
        tunnelIp,
        providerInterfaces: provider as Record<string, string>,
        agentType: typeof body.agent_type === 'string' ? body.agent_type : 'cloudnet-host-agent',
        version: typeof body.version === 'string' ? body.version : '',
      }),
    );
    return { host: hostBody(row) };
  });

  app.post('/hosts/:host/heartbeat', async (request: HostReq, reply: FastifyReply) => {
    requireAdmin(request);
    const found = await ctx.store.write((tx) => heartbeat(tx, request.params.host));
    if (!found) throw notFound(`Host ${request.params.host} is not registered.`);
    void reply.status(204);
  });

  app.post('/hosts/:host/port-status', async (request: HostReq, reply: FastifyReply) => {
    requireAdmin(request);
    const statuses = (request.body as { ports?: unknown } | null)?.ports;
    if (!statuses || typeof statuses !== 'object' || Array.isArray(statuses)) throw badRequest("Unable to find 'ports' in request body");
    for (const [id, status] of Object.entries(statuses)) {
      if (typeof status !== 'string' || !PORT_STATUSES.has(status)) throw badRequest(`Invalid input for status of port ${id}: '${String(status)}'.`);
    }
    if (!ports) throw notFound('Ports are not served here.');
    await ctx.store.write(async (tx) => {
      // A host that reports is alive: its report must not leave ACTIVE ports on a host marked down.
      if (!(await heartbeat(tx, request.params.host))) throw notFound(`Host ${request.params.host} is not registered.`);
      await setPortStatuses(tx, ports, request.params.host, statuses as Record<string, string>);
    });
    void reply.status(204);
  });

  app.get('/hosts/:host/target', async (request: HostReq, reply: FastifyReply) => {
    requireAdmin(request);
    const host = checkHostName(request.params.host);
    const sinceText = request.query.since ?? '0';
    if (!/^\d+$/.test(sinceText)) throw badRequest(`Invalid input for since: '${sinceText}' is not a revision (an integer 0 or greater).`);
    if (!(await ctx.store.read((db) => getHost(db, host)))) throw notFound(`Host ${host} is not registered.`);
    const res = startNdjson(reply);
    const queue = new NdjsonQueue(res, opts.streamQueueLimit);
    const sink: FeedSink = {
      host,
      push: (messages: FeedMessage[]) => queue.push(messages),
      close: () => res.end(),
    };
    const beat = setInterval(() => {
      if (queue.idle) queue.push([{ type: 'heartbeat', revision: hub.revision }]);
    }, opts.streamHeartbeatMs);
    res.on('close', () => {
      clearInterval(beat);
      hub.detach(sink);
    });
    await hub.attach(sink, Number(sinceText));
  });
}

function checkHostName(name: string): string {
  if (!HOST_NAME.test(name)) throw badRequest(`Invalid host name '${name}'.`);
  return name;
}

export interface HostRegistration {
  name: string;
  tunnelIp: string;
  providerInterfaces: Record<string, string>;
  agentType: string;
  version: string;
}

/** Creates or refreshes a host; logs it when what other hosts depend on (its tunnel IP) or its liveness changes. */
export async function registerHost(tx: WriteTx, reg: HostRegistration): Promise<HostRow> {
  const existing = await getHost(tx.db, reg.name);
  const row: HostRow = {
    name: reg.name,
    id: existing?.id ?? randomUUID(),
    agent_type: reg.agentType,
    binary: reg.agentType,
    version: reg.version,
    tunnel_ip: reg.tunnelIp,
    provider_interfaces: JSON.stringify(reg.providerInterfaces),
    alive: 1,
    admin_state_up: existing?.admin_state_up ?? 1,
    description: existing?.description ?? null,
    heartbeat_at: tx.now,
    started_at: tx.now,
    created_at: existing?.created_at ?? tx.now,
  };
  if (existing) await tx.db.updateTable('hosts').set(row).where('name', '=', reg.name).execute();
  else await tx.db.insertInto('hosts').values(row).execute();
  const before = existing ? hostBody(existing) : null;
  const after = hostBody(row);
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    tx.record({ resource: 'host', id: reg.name, projectId: null, action: existing ? 'update' : 'create', body: after, previous: before });
  }
  return row;
}

/** Records a heartbeat; a host that was down comes back up. False when the host is unknown. */
export async function heartbeat(tx: WriteTx, name: string): Promise<boolean> {
  const existing = await getHost(tx.db, name);
  if (!existing) return false;
  await tx.db.updateTable('hosts').set({ heartbeat_at: tx.now, alive: 1 }).where('name', '=', name).execute();
  if (existing.alive !== 1) {
    tx.record({ resource: 'host', id: name, projectId: null, action: 'update', body: hostBody({ ...existing, alive: 1 }), previous: hostBody(existing) });
  }
  return true;
}

/** Applies an agent's report; only ports bound to that host change, and only if their status differs. */
export async function setPortStatuses(tx: WriteTx, ports: ResourceService, host: string, statuses: Record<string, string>): Promise<void> {
  const ids = Object.keys(statuses);
  if (!ids.length) return;
  const rows = (await tx.db.selectFrom('ports').select(['id', 'status']).where('binding_host_id', '=', host).where('id', 'in', ids).execute()) as {
    id: string;
    status: string;
  }[];
  for (const row of rows) {
    if (row.status !== statuses[row.id]) await ports.internalUpdate(tx, row.id, { status: statuses[row.id] });
  }
}

/** Marks down every host whose last heartbeat is older than the down time, and its ports DOWN. */
export async function markSilentHostsDown(store: Store, ports: ResourceService | undefined, downTimeSeconds: number): Promise<string[]> {
  const cutoff = new Date(Date.now() - downTimeSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const silent = (await store.read((db) =>
    db.selectFrom('hosts').select('name').where('alive', '=', 1).where('heartbeat_at', '<', cutoff).execute(),
  )) as { name: string }[];
  const marked: string[] = [];
  for (const { name } of silent) {
    const done = await store.write(async (tx) => {
      const row = await getHost(tx.db, name);
      // Another server, or a heartbeat, may have got here first.
      if (!row || row.alive !== 1 || row.heartbeat_at >= cutoff) return false;
      await tx.db.updateTable('hosts').set({ alive: 0 }).where('name', '=', name).execute();
      tx.record({ resource: 'host', id: name, projectId: null, action: 'update', body: hostBody({ ...row, alive: 0 }), previous: hostBody(row) });
      if (ports) {
        const bound = (await tx.db.selectFrom('ports').select('id').where('binding_host_id', '=', name).where('status', '!=', 'DOWN').execute()) as { id: string }[];
        for (const p of bound) await ports.internalUpdate(tx, p.id, { status: 'DOWN' });
      }
      return true;
    });
    if (done) marked.push(name);
  }
  return marked;
}
