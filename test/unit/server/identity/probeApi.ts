import type { ApiModule } from '../../../../src/server/app.js';
import { requireToken } from '../../../../src/server/auth.js';
import { renderKeystoneFault, useFaultFormat } from '../../../../src/server/faults.js';

/**
 * Stands in for the service APIs in identity tests: `GET /probe/whoami` answers with the caller that the server's
 * TokenValidator (ctx.tokens) established, or 401.
 */
export const probeApi: ApiModule = {
  prefix: '/probe',
  register: async (app, ctx) => {
    useFaultFormat(app, renderKeystoneFault);
    app.addHook('onRequest', requireToken(ctx.tokens));
    app.get('/whoami', async (request) => request.auth);
  },
};

export async function probeStatus(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/probe/whoami`, { headers: { 'x-auth-token': token } })).status;
}
