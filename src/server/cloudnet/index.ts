import type { FastifyInstance } from 'fastify';
import type { ApiModule, ServerContext } from '../app.js';
import { requireToken } from '../auth.js';
import { renderNeutronFault, useFaultFormat } from '../faults.js';
import { registerChangesRoutes, type ChangesApiOptions } from './changes.js';
import { registerHostsRoutes, type HostsApiOptions } from './hosts.js';

export interface CloudnetApiOptions {
  changes?: Partial<ChangesApiOptions>;
  hosts?: Partial<HostsApiOptions>;
}

/** cloudnet's own API (`/cloudnet/v1`), for operators and agents: the change feed and the hosts' feeds. */
export function createCloudnetApi(options: CloudnetApiOptions = {}): ApiModule {
  return {
    prefix: '/cloudnet/v1',
    async register(app: FastifyInstance, ctx: ServerContext) {
      useFaultFormat(app, renderNeutronFault);
      app.addHook('preHandler', requireToken(ctx.tokens));
      registerChangesRoutes(app, ctx, options.changes);
      await registerHostsRoutes(app, ctx, options.hosts);
    },
  };
}
