import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../lib/errors.js';
import type { ServerContext } from '../app.js';
import { authOf, requireToken } from '../auth.js';
import { headerOf } from '../identity/caller.js';
import type { EntityType } from './repository.js';
import * as service from './service.js';
import type { KeyManagerService } from './service.js';

type Req = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, string | string[] | undefined> }>;

/** Barbican's v1 version entry as it answers clients that ask for no microversion (barbicanclient, keystoneauth). */
function versionEntry(baseUrl: string) {
  return {
    id: 'v1',
    status: 'stable',
    links: [
      { rel: 'self', href: `${baseUrl}/v1/` },
      { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.key-manager-v1+json' }],
  };
}

export function registerKeyManagerRoutes(app: FastifyInstance, ctx: ServerContext, km: KeyManagerService): void {
  // Payloads arrive as bytes (PUT /v1/secrets/{id}); text/plain must not be decoded, as it may be any UTF-8.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['text/plain', 'application/octet-stream'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // The version document answers with 300 Multiple Choices, as Barbican's does.
  app.get('/', async (_request, reply) => {
    void reply.status(300);
    return { versions: { values: [versionEntry(km.baseUrl())] } };
  });
  app.get('/v1', async () => ({ version: versionEntry(km.baseUrl()) }));

  app.register(async (v1) => {
    v1.addHook('preHandler', requireToken(ctx.tokens));

    v1.post('/secrets', async (request: Req, reply: FastifyReply) => created(reply, 'secret_ref', await service.createSecret(km, authOf(request), jsonBody(request))));
    v1.get('/secrets', async (request: Req) => service.listSecrets(km, authOf(request), request.query));
    v1.get('/secrets/:id', async (request: Req, reply: FastifyReply) => {
      const accept = headerOf(request, 'accept');
      // Barbican's older way to read a payload: GET the secret itself with a non-JSON Accept.
      if (accept && accept !== 'application/json' && accept !== '*/*') return sendPayload(km, request, reply, accept);
      return service.showSecret(km, authOf(request), request.params.id);
    });
    v1.get('/secrets/:id/payload', async (request: Req, reply: FastifyReply) => sendPayload(km, request, reply, headerOf(request, 'accept')));
    v1.put('/secrets/:id', async (request: Req, reply: FastifyReply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      await service.putPayload(km, authOf(request), request.params.id, body, headerOf(request, 'content-type'), headerOf(request, 'content-encoding'));
      void reply.status(204);
    });
    v1.delete('/secrets/:id', async (request: Req, reply: FastifyReply) => {
      await service.deleteSecret(km, authOf(request), request.params.id);
      void reply.status(204);
    });

    v1.post('/containers', async (request: Req, reply: FastifyReply) => created(reply, 'container_ref', await service.createContainer(km, authOf(request), jsonBody(request))));
    v1.get('/containers', async (request: Req) => service.listContainers(km, authOf(request), request.query));
    v1.get('/containers/:id', async (request: Req) => service.showContainer(km, authOf(request), request.params.id));
    v1.delete('/containers/:id', async (request: Req, reply: FastifyReply) => {
      await service.deleteContainer(km, authOf(request), request.params.id);
      void reply.status(204);
    });

    for (const [collection, type] of [['secrets', 'secret'], ['containers', 'container']] as Array<[string, EntityType]>) {
      const path = `/${collection}/:id/acl`;
      v1.get(path, async (request: Req) => service.getAcl(km, authOf(request), type, request.params.id));
      v1.put(path, async (request: Req) => service.setAcl(km, authOf(request), type, request.params.id, jsonBody(request), 'replace'));
      v1.patch(path, async (request: Req) => service.setAcl(km, authOf(request), type, request.params.id, jsonBody(request), 'merge'));
      v1.delete(path, async (request: Req, reply: FastifyReply) => {
        await service.deleteAcl(km, authOf(request), type, request.params.id);
        void reply.status(200).send();
      });
    }
  }, { prefix: '/v1' });
}

async function sendPayload(km: KeyManagerService, request: Req, reply: FastifyReply, accept: string | undefined) {
  const { body, contentType } = await service.readPayload(km, authOf(request), request.params.id, accept);
  void reply.header('content-type', contentType);
  return body;
}

/** 201 with the new object's reference in the body and in Location. */
function created(reply: FastifyReply, key: 'secret_ref' | 'container_ref', ref: string) {
  void reply.status(201).header('location', ref);
  return { [key]: ref };
}

/** The body of a request that must be JSON (Barbican answers 415 to any other type). */
function jsonBody(request: FastifyRequest): unknown {
  const type = headerOf(request, 'content-type')?.split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ApiError(415, 'HTTPUnsupportedMediaType', "Unexpected content type. Expected content types are: ['application/json']");
  }
  return request.body;
}
