import type { FastifyInstance } from 'fastify';
import type { ApiModule, ServerContext } from '../app.js';
import { requireToken } from '../auth.js';
import { renderNeutronFault, useFaultFormat } from '../faults.js';
import { registerAmphoraeRoutes, type AmphoraeApiOptions } from './amphorae.js';
import { registerChangesRoutes, type ChangesApiOptions } from './changes.js';
import { registerHostsRoutes, type HostsApiOptions } from './hosts.js';

export interface CloudnetApiOptions {
  changes?: Partial<ChangesApiOptions>;
  hosts?: Partial<HostsApiOptions>;
  /** The amphorae's endpoints, with the balancer controller and health manager behind them. */
  amphorae?: AmphoraeApiOptions;
}

/** cloudnet's own API (`/cloudnet/v1`), for operators and agents: the change feed, the hosts' and the amphorae's feeds. */
export function createCloudnetApi(options: CloudnetApiOptions = {}): ApiModule {
  return {
    prefix: '/cloudnet/v1',
    async register(app: FastifyInstance, ctx: ServerContext) {
      useFaultFormat(app, renderNeutronFault);
      app.addHook('preHandler', requireToken(ctx.tokens));
      registerChangesRoutes(app, ctx, options.changes);
      await registerHostsRoutes(app, ctx, options.hosts);
      if (options.amphorae) await registerAmphoraeRoutes(app, ctx, options.amphorae);
    },
  };
}
