import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { badRequest } from '../../lib/errors.js';
import { compactChanges, compactedThrough, currentRevision, readChanges, type LoggedChange } from '../../store/changelog.js';
import type { Db } from '../../store/database.js';
import type { Store } from '../../store/store.js';
import type { ServerContext } from '../app.js';
import { requireAdmin } from '../auth.js';
import { startNdjson, writeLine } from '../ndjson.js';
import { defaultNetworkConfig } from '../network/config.js';
import { createNetworkServices } from '../network/resources/index.js';
import type { ResourceService } from '../network/resource.js';

export interface ChangesApiOptions {
  /** How many revisions of history to keep; older ones are compacted away and readers behind get a snapshot. */
  retainRevisions: number;
  compactEveryMs: number;
  heartbeatMs: number;
}

const PAGE = 1000;

/**
 * `GET /cloudnet/v1/changes?since=R` (admin): every change after revision R as newline-delimited JSON, then
 * stays open and sends new ones as they commit. A reader behind the compacted part of the log gets a
 * consistent snapshot of every object first. `follow=false` answers what there is and ends.
 */
export function registerChangesRoutes(app: FastifyInstance, ctx: ServerContext, options: Partial<ChangesApiOptions> = {}): void {
  const opts: ChangesApiOptions = { retainRevisions: 1_000_000, compactEveryMs: 60_000, heartbeatMs: 15_000, ...options };
  const services = [...createNetworkServices(defaultNetworkConfig, ctx.store).values()];
  const open = new Set<ServerResponse>();

  const compaction = setInterval(() => {
    void compactOld(ctx.store, opts.retainRevisions).catch((err: unknown) => ctx.logger.error({ err }, 'change log compaction failed'));
  }, opts.compactEveryMs);
  compaction.unref();
  app.addHook('onClose', async () => {
    clearInterval(compaction);
    for (const res of open) res.end();
  });

  app.get('/changes', async (request: FastifyRequest<{ Querystring: { since?: string; follow?: string } }>, reply: FastifyReply) => {
    requireAdmin(request);
    const sinceText = request.query.since ?? '0';
    if (!/^\d+$/.test(sinceText)) throw badRequest(`Invalid input for since: '${sinceText}' is not a revision (an integer 0 or greater).`);
    const follow = (request.query.follow ?? 'true').toLowerCase() !== 'false';
    const res = startNdjson(reply);
    open.add(res);
    res.on('close', () => open.delete(res));
    try {
      await streamChanges(ctx.store, services, res, Number(sinceText), follow, opts.heartbeatMs);
    } catch (err) {
      request.log.error({ err }, 'change stream failed');
    } finally {
      open.delete(res);
      if (!res.writableEnded) res.end();
    }
  });
}

async function streamChanges(store: Store, services: ResourceService[], res: ServerResponse, since: number, follow: boolean, heartbeatMs: number): Promise<void> {
  let wake: (() => void) | undefined;
  let pending = true;
  const onRevision = () => {
    pending = true;
    wake?.();
  };
  store.revisions.on('revision', onRevision);
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  try {
    let cursor = since;
    if (since < (await store.read((db) => compactedThrough(db)))) {
      cursor = await writeSnapshot(store, services, res);
    }
    for (;;) {
      if (res.destroyed) return;
      pending = false;
      const changes = await store.read((db) => readChanges(db, cursor, PAGE));
      for (const c of changes) {
        if (!(await writeLine(res, changeLine(c)))) return;
        cursor = c.revision;
      }
      if (changes.length === PAGE || pending) continue;
      if (!follow) return;
      const timedOut = await Promise.race([
        new Promise<boolean>((resolve) => {
          wake = () => resolve(false);
          setTimeout(() => resolve(true), heartbeatMs).unref();
        }),
        closed.then(() => false),
      ]);
      wake = undefined;
      if (timedOut && !(await writeLine(res, { type: 'heartbeat', revision: cursor }))) return;
    }
  } finally {
    store.revisions.off('revision', onRevision);
  }
}

function changeLine(c: LoggedChange) {
  return {
    type: 'change',
    revision: c.revision,
    resource: c.resource,
    id: c.id,
    project_id: c.projectId,
    action: c.action,
    object: c.body,
    previous: c.previous ?? null,
    created_at: c.createdAt,
  };
}

/** Every object as of one revision, read in one transaction so the snapshot and its revision agree. */
async function writeSnapshot(store: Store, services: ResourceService[], res: ServerResponse): Promise<number> {
  const { revision, objects } = await store.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => ({ revision: await currentRevision(trx), objects: await allObjects(trx, services) }));
  if (!(await writeLine(res, { type: 'snapshot_begin', revision }))) return revision;
  for (const { resource, object } of objects) {
    if (!(await writeLine(res, { type: 'object', resource, object }))) return revision;
  }
  await writeLine(res, { type: 'snapshot_end', revision });
  return revision;
}

async function allObjects(db: Db, services: ResourceService[]) {
  const out: { resource: string; object: unknown }[] = [];
  for (const service of services) {
    const rows = (await db.selectFrom(service.spec.table).selectAll().orderBy('id').execute()) as Record<string, unknown>[];
    for (const object of await service.hydrate(db, rows)) out.push({ resource: service.spec.member, object });
  }
  return out;
}


async function compactOld(store: Store, retain: number): Promise<void> {
  const current = await store.read((db) => currentRevision(db));
  const through = current - retain;
  if (through > 0 && through > (await store.read((db) => compactedThrough(db)))) await compactChanges(store.db, through);
}
