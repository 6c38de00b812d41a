import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { createHttpMetrics } from '../lib/metrics.js';
import type { Store } from '../store/store.js';
import type { TokenValidator } from './auth.js';

/** What every API module is given. */
export interface ServerContext {
  store: Store;
  logger: Logger;
  registry: Registry;
  /** Where clients reach this server, for the service catalog and links (e.g. http://127.0.0.1:9696). */
  publicUrl: string;
  region: string;
  tokens: TokenValidator;
}

/** One OpenStack service (or cloudnet's own API) mounted under its own path prefix. */
export interface ApiModule {
  prefix: string;
  register(app: FastifyInstance, ctx: ServerContext): Promise<void>;
}

export async function buildServer(ctx: ServerContext, apis: ApiModule[]): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // One line per request from our own onResponse hook instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 4 * 1024 * 1024,
    // Long-lived streams (the change feed) must not hold up a graceful shutdown.
    forceCloseConnections: true,
    // OpenStack clients send trailing slashes on some paths (`/v2.0/`), and ids in upper case are not ids.
    routerOptions: { ignoreTrailingSlash: true },
  });
  // tempest's rest_client sends `Content-Type: application/json` on every request, bodiless DELETEs included;
  // an empty JSON body is no body (Fastify's own parser answers 400 FST_ERR_CTP_EMPTY_JSON_BODY).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });
  const metrics = createHttpMetrics(ctx.registry, 'cloudnet');

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', ctx.registry.contentType);
    return ctx.registry.metrics();
  });

  for (const api of apis) {
    await app.register(async (scope) => api.register(scope, ctx), { prefix: api.prefix });
  }
  return app;
}
