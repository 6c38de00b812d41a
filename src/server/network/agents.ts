import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../lib/errors.js';
import type { Store } from '../../store/store.js';
import { requireAdmin } from '../auth.js';
import type { HostRow } from '../cloudnet/hosts.js';
import { prepareUpdate, type ResourceSpec } from './attributes.js';
import { valuesOf, type QueryParams } from './list-query.js';
import { boolean, stringOrNull } from './validators.js';

/** Neutron shows agent times without a zone, space-separated. */
const neutronTime = (iso: string) => iso.replace('T', ' ').replace(/Z$/, '');

const agentSpec: ResourceSpec = {
  collection: 'agents',
  member: 'agent',
  table: 'hosts',
  title: 'Agent',
  notFoundType: 'AgentNotFound',
  notFoundMessage: (id) => `Agent ${id} could not be found.`,
  attributes: [
    { name: 'admin_state_up', storage: 'column', type: 'boolean', put: true, convert: boolean },
    { name: 'description', storage: 'column', type: 'string', put: true, convert: stringOrNull(255) },
  ],
};

function agentView(row: HostRow) {
  return {
    id: row.id,
    agent_type: 'Cloudnet host agent',
    binary: row.binary,
    host: row.name,
    topic: 'N/A',
    alive: row.alive === 1,
    admin_state_up: row.admin_state_up === 1,
    availability_zone: null,
    description: row.description,
    configurations: { tunneling_ip: row.tunnel_ip, provider_interfaces: JSON.parse(row.provider_interfaces), tunnel_types: ['vxlan'] },
    created_at: neutronTime(row.created_at),
    started_at: neutronTime(row.started_at),
    heartbeat_timestamp: neutronTime(row.heartbeat_at),
    resources_synced: null,
  };
}

type Req = FastifyRequest<{ Params: { id: string }; Querystring: QueryParams }>;

/** `/v2.0/agents` (admin): the host agents, their liveness and configuration, as Neutron lists its agents. */
export function registerAgentRoutes(app: FastifyInstance, store: Store): void {
  const load = async (id: string) => {
    const row = (await store.read((db) => db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst())) as HostRow | undefined;
    if (!row) throw new ApiError(404, 'AgentNotFound', `Agent ${id} could not be found.`);
    return row;
  };

  app.get('/agents', async (request: Req) => {
    requireAdmin(request);
    const rows = (await store.read((db) => db.selectFrom('hosts').selectAll().orderBy('name').execute())) as HostRow[];
    let agents = rows.map(agentView);
    for (const key of ['host', 'agent_type', 'binary', 'alive', 'admin_state_up', 'id'] as const) {
      const wanted = valuesOf(request.query, key);
      if (wanted.length) agents = agents.filter((a) => wanted.map((w) => w.toLowerCase()).includes(String(a[key]).toLowerCase()));
    }
    const fields = valuesOf(request.query, 'fields');
    const shown = fields.length ? agents.map((a) => Object.fromEntries(Object.entries(a).filter(([k]) => fields.includes(k)))) : agents;
    return { agents: shown };
  });

  app.get('/agents/:id', async (request: Req) => {
    requireAdmin(request);
    return { agent: agentView(await load(request.params.id)) };
  });

  app.put('/agents/:id', async (request: Req) => {
    const auth = requireAdmin(request);
    const body = (request.body as { agent?: Record<string, unknown> } | null)?.agent;
    if (!body || typeof body !== 'object') throw new ApiError(400, 'HTTPBadRequest', "Unable to find 'agent' in request body");
    const changes = prepareUpdate(agentSpec, body, auth);
    await load(request.params.id);
    await store.write(async (tx) => {
      const set: Record<string, unknown> = {};
      if ('admin_state_up' in changes) set.admin_state_up = changes.admin_state_up ? 1 : 0;
      if ('description' in changes) set.description = changes.description;
      if (Object.keys(set).length) await tx.db.updateTable('hosts').set(set).where('id', '=', request.params.id).execute();
    });
    return { agent: agentView(await load(request.params.id)) };
  });

  app.delete('/agents/:id', async (request: Req, reply: FastifyReply) => {
    requireAdmin(request);
    const row = await load(request.params.id);
    await store.write(async (tx) => {
      await tx.db.deleteFrom('hosts').where('id', '=', row.id).execute();
      tx.record({ resource: 'host', id: row.name, projectId: null, action: 'delete', body: null, previous: { name: row.name, tunnel_ip: row.tunnel_ip } });
    });
    void reply.status(204);
  });
}
