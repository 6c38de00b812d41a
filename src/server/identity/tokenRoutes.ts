import type { FastifyInstance } from 'fastify';
import { ApiError, notFound } from '../../lib/errors.js';
import type { ServerContext } from '../app.js';
import { parseAuthRequest } from './authRequest.js';
import { authenticate, validTokenRecord } from './authentication.js';
import { authorize, callerOf, requiredHeader } from './caller.js';
import { buildCatalog } from './catalog.js';
import { createIdentityMetrics } from './metrics.js';
import * as repo from './repository.js';
import { hashTokenId, keystoneTime } from './tokens.js';
import { renderToken, renderVersion, renderVersions } from './views.js';

export interface TokenRoutesOptions {
  expirationSeconds: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Version discovery and the token life cycle: issue, validate, revoke. Keystone's policy: an admin may validate or
 * revoke any token, a user only its own.
 */
export function registerTokenRoutes(app: FastifyInstance, ctx: ServerContext, options: TokenRoutesOptions): void {
  const { store } = ctx;
  const metrics = createIdentityMetrics(ctx.registry);
  let lastSweep = 0;
  // Read from the context on each use: a server listening on port 0 learns its public URL only once bound.
  const catalog = () => buildCatalog(ctx.publicUrl, ctx.region);

  app.get('/', async (_request, reply) => reply.status(300).send(renderVersions(ctx.publicUrl)));
  app.get('/v3', async () => renderVersion(ctx.publicUrl));

  app.post('/v3/auth/tokens', async (request, reply) => {
    const auth = parseAuthRequest(request.body);
    const methods = auth.methods.join(',');
    let issued: Awaited<ReturnType<typeof authenticate>>;
    try {
      issued = await authenticate(store, auth, options.expirationSeconds);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        metrics.authentications.inc({ methods, result: 'denied' });
        // Who was tried, never with what: the password stays out of the logs.
        request.log.warn({ user: auth.password?.user ?? null, methods }, 'authentication denied');
      }
      throw err;
    }
    metrics.authentications.inc({ methods, result: 'issued' });
    const { tokenId, record } = issued;
    request.log.info({ userId: record.user.id, projectId: record.project?.id ?? null, auditId: record.auditIds[0] }, 'token issued');
    await sweepExpiredTokens();
    const noCatalog = (request.query as Record<string, unknown>).nocatalog !== undefined;
    return reply
      .status(201)
      .header('x-subject-token', tokenId)
      .send(renderToken(record, noCatalog ? undefined : catalog()));
  });

  // Fastify answers HEAD from this GET route with the same status and headers and no body, as Keystone does.
  app.get('/v3/auth/tokens', async (request, reply) => {
    const caller = await callerOf(store, request);
    const subjectId = requiredHeader(request, 'X-Subject-Token');
    const subject = await store.read((db) => validTokenRecord(db, subjectId, new Date()));
    if (!subject) throw notFound(`Could not find token: ${subjectId}.`);
    authorize(caller, 'validate_token', caller.user.id === subject.user.id);
    const noCatalog = (request.query as Record<string, unknown>).nocatalog !== undefined;
    return reply.header('x-subject-token', subjectId).send(renderToken(subject, noCatalog ? undefined : catalog()));
  });

  app.delete('/v3/auth/tokens', async (request, reply) => {
    const caller = await callerOf(store, request);
    const subjectId = requiredHeader(request, 'X-Subject-Token');
    const subject = await store.read((db) => validTokenRecord(db, subjectId, new Date()));
    if (!subject) throw notFound(`Could not find token: ${subjectId}.`);
    authorize(caller, 'revoke_token', caller.user.id === subject.user.id);
    await store.write((tx) => repo.revokeToken(tx.db, hashTokenId(subjectId), tx.now));
    ctx.tokens.forget?.(subjectId);
    request.log.info({ userId: subject.user.id, auditId: subject.auditIds[0] }, 'token revoked');
    return reply.status(204).send();
  });

  /** Expired tokens can never be used again; drop their rows now and then (at most once a minute per server). */
  async function sweepExpiredTokens(): Promise<void> {
    const now = Date.now();
    if (now - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = now;
    await store.write((tx) => repo.deleteExpiredTokens(tx.db, keystoneTime(new Date(now))));
  }
}
