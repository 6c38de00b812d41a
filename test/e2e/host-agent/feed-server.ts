/**
 * The server side the host agents talk to in the e2e test. Everything that computes what an agent receives is
 * the real code: the store and its change log, the relevance index and the feed hub (snapshot, replay from
 * R, live fan-out, set-element deltas), Keystone tokens, host registration and heartbeats.
 *
 * Two parts are stood in for, because they are not served on main yet: the Ports API (ports are written to
 * the change log here as Neutron wire objects, which is all the feed reads), and the HTTP routes of the
 * hosts API (`createHostsApi` needs the ports service for port status and liveness). Replace this module
 * with the real `cloudnet server` routes once ports are served and the hosts API is mounted.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FeedHub, type FeedSink } from '../../../src/feed/hub.js';
import type { FeedMessage } from '../../../src/feed/target-state.js';
import { requireAdmin, requireToken } from '../../../src/server/auth.js';
import { getHost, heartbeat, hostBody, registerHost } from '../../../src/server/cloudnet/hosts.js';
import { startTestServer, type TestServer } from '../../support/server.js';

export type Wire = Record<string, unknown> & { id: string };

export interface FeedServer {
  server: TestServer;
  url: string;
  /** Port statuses as the agents reported them, and DOWN for the ports of hosts that went silent. */
  portStatus: Map<string, string>;
  /** Creates or replaces an object (one change-log entry, as a Network API write would make). */
  put(resource: 'network' | 'subnet' | 'port' | 'security_group', body: Wire): Promise<void>;
  remove(resource: 'network' | 'subnet' | 'port' | 'security_group', id: string): Promise<void>;
  get(id: string): Wire | undefined;
  close(): Promise<void>;
}

export async function startFeedServer(options: { agentDownSeconds: number; streamHeartbeatMs: number }): Promise<FeedServer> {
  const objects = new Map<string, { resource: string; body: Wire }>();
  const portStatus = new Map<string, string>();
  const lastBeat = new Map<string, number>();
  let hub: FeedHub | undefined;
  let liveness: NodeJS.Timeout | undefined;

  const server = await startTestServer({
    dialect: 'sqlite',
    apis: [
      {
        prefix: '/cloudnet/v1',
        async register(app, ctx) {
          app.addHook('preHandler', requireToken(ctx.tokens));
          hub = new FeedHub(ctx.store, async () => [], ctx.logger);
          await hub.start();
          type HostReq = FastifyRequest<{ Params: { host: string }; Querystring: { since?: string } }>;

          app.put('/hosts/:host', async (request: HostReq) => {
            requireAdmin(request);
            const body = (request.body as { host: { tunnel_ip: string; provider_interfaces?: Record<string, string>; agent_type?: string; version?: string } }).host;
            const row = await ctx.store.write((tx) =>
              registerHost(tx, { name: request.params.host, tunnelIp: body.tunnel_ip, providerInterfaces: body.provider_interfaces ?? {}, agentType: body.agent_type ?? '', version: body.version ?? '' }),
            );
            lastBeat.set(request.params.host, Date.now());
            return { host: hostBody(row) };
          });
          app.post('/hosts/:host/heartbeat', async (request: HostReq, reply: FastifyReply) => {
            requireAdmin(request);
            if (!(await ctx.store.write((tx) => heartbeat(tx, request.params.host)))) return reply.status(404).send();
            lastBeat.set(request.params.host, Date.now());
            return reply.status(204).send();
          });
          app.post('/hosts/:host/port-status', async (request: HostReq, reply: FastifyReply) => {
            requireAdmin(request);
            for (const [id, status] of Object.entries((request.body as { ports: Record<string, string> }).ports)) {
              if (objects.get(id)?.body['binding:host_id'] === request.params.host) portStatus.set(id, status);
            }
            return reply.status(204).send();
          });
          app.get('/hosts/:host/target', async (request: HostReq, reply: FastifyReply) => {
            requireAdmin(request);
            if (!(await ctx.store.read((db) => getHost(db, request.params.host)))) return reply.status(404).send();
            reply.hijack();
            const res = reply.raw;
            res.writeHead(200, { 'content-type': 'application/x-ndjson' });
            const sink: FeedSink = {
              host: request.params.host,
              push: (messages: FeedMessage[]) => (res.destroyed ? false : (res.write(messages.map((m) => JSON.stringify(m) + '\n').join('')), true)),
              close: () => res.end(),
            };
            const beat = setInterval(() => sink.push([{ type: 'heartbeat', revision: hub!.revision }]), options.streamHeartbeatMs);
            res.on('close', () => {
              clearInterval(beat);
              hub!.detach(sink);
            });
            await hub!.attach(sink, Number(request.query.since ?? 0));
          });
          // Liveness as the server does it: a silent host's ports are DOWN.
          liveness = setInterval(() => {
            for (const [host, at] of lastBeat) {
              if (Date.now() - at < options.agentDownSeconds * 1000) continue;
              for (const { resource, body } of objects.values()) if (resource === 'port' && body['binding:host_id'] === host) portStatus.set(body.id, 'DOWN');
            }
          }, 250);
        },
      },
    ],
  });

  async function record(resource: string, id: string, body: Wire | null) {
    const previous = objects.get(id)?.body ?? null;
    if (body) objects.set(id, { resource, body });
    else objects.delete(id);
    await server.store.write(async (tx) => tx.record({ resource, id, projectId: null, action: !previous ? 'create' : body ? 'update' : 'delete', body, previous }));
  }

  return {
    server,
    url: server.url,
    portStatus,
    put: (resource, body) => record(resource, body.id, body),
    remove: (resource, id) => record(resource, id, null),
    get: (id) => objects.get(id)?.body,
    async close() {
      clearInterval(liveness);
      hub?.stop();
      await server.close();
    },
  };
}

export const newId = () => randomUUID();
