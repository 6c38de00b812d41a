import type { FastifyInstance } from 'fastify';

/**
 * OpenStack clients (tempest's rest client among them) send `Content-Type: application/json` on every request,
 * bodiless PUTs and DELETEs included; Keystone treats an empty body as no body. Fastify's default parser refuses
 * it with a 400, so within this plugin an empty JSON body parses to nothing and anything else as before.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else parseJson(request, body as string, done);
  });
}
