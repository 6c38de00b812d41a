import type { ApiModule } from '../app.js';
import { renderKeystoneFault, useFaultFormat } from '../faults.js';
import { registerCatalogRoutes } from './catalogRoutes.js';
import { registerDomainRoutes } from './domainRoutes.js';
import { registerProjectRoutes } from './projectRoutes.js';
import { registerRoleRoutes } from './roleRoutes.js';
import { registerTokenRoutes } from './tokenRoutes.js';
import { registerUserRoutes } from './userRoutes.js';
import { DEFAULT_TOKEN_EXPIRATION_SECONDS } from './tokens.js';
import { identityBase } from './views.js';

export interface IdentityApiOptions {
  /** Token lifetime in seconds (Keystone's `[token] expiration`); one hour unless set. */
  tokenExpirationSeconds?: number;
}

/** The Identity API (Keystone v3 subset) under /identity. */
export function createIdentityApi(options: IdentityApiOptions = {}): ApiModule {
  const expirationSeconds = options.tokenExpirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
  return {
    prefix: '/identity',
    register: async (app, ctx) => {
      useFaultFormat(app, renderKeystoneFault);
      // Keystone names itself on every 401, so a client knows where to authenticate.
      app.addHook('onSend', async (_request, reply) => {
        if (reply.statusCode === 401) void reply.header('www-authenticate', `Keystone uri="${identityBase(ctx.publicUrl)}"`);
      });
      registerTokenRoutes(app, ctx, { expirationSeconds });
      registerDomainRoutes(app, ctx);
      registerProjectRoutes(app, ctx);
      registerUserRoutes(app, ctx);
      registerRoleRoutes(app, ctx);
      registerCatalogRoutes(app, ctx);
    },
  };
}

export const identityApi = createIdentityApi();

export { bootstrapAdmin, BUILTIN_ROLES, type BootstrapOptions, type BootstrapResult } from './bootstrap.js';
export { createTokenValidator, type TokenValidatorOptions } from './validator.js';
