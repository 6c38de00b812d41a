/**
 * cloudnet's own API for amphora agents (admin only, like the hosts' feed):
 *   GET /cloudnet/v1/amphorae/{id}/target   NDJSON: `{"type":"target","target":…}` now and whenever it changes,
 *                                           `{"type":"heartbeat"}` while idle
 *   PUT /cloudnet/v1/amphorae/{id}/health   an AmphoraHealthReport: stored, the amphora's heartbeat, and the
 *                                           source of its balancer's operating statuses
 * It also runs the balancer controller and the health manager, which share the balancers' config revisions
 * with the target streams, while this server holds their lease.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AmphoraHealthReport, AmphoraTarget, ReportedMemberStatus } from '../../agents/amphora/target.js';
import { buildAmphoraTarget } from '../../controllers/balancer/amphora-target.js';
import type { Compute } from '../../controllers/balancer/compute.js';
import { BalancerConfigRevisions } from '../../controllers/balancer/config-revisions.js';
import { BalancerController, DEFAULT_CONTROLLER_OPTIONS } from '../../controllers/balancer/controller.js';
import { HealthManager, isWhole } from '../../controllers/balancer/health-manager.js';
import type { BalancerLifecycle } from '../../controllers/balancer/lifecycle.js';
import * as records from '../../controllers/balancer/records.js';
import { badRequest, notFound } from '../../lib/errors.js';
import { parseCidr } from '../../lib/ip.js';
import type { Db } from '../../store/database.js';
import { LeaderElection } from '../../store/leader-lease.js';
import type { Store } from '../../store/store.js';
import type { ServerContext } from '../app.js';
import { requireAdmin } from '../auth.js';
import { readCertificateBundle, readPemSecret, type KeyEncryptionKey } from '../key-manager/index.js';
import { applyHealth, completeProvisioning, failProvisioning, setDegraded } from '../loadbalancer/lifecycle.js';
import { PEM_BLOCK } from '../loadbalancer/tls-refs.js';
import { loadBalancerTree } from '../loadbalancer/tree.js';
import { NdjsonQueue, startNdjson } from '../ndjson.js';

/** The balancer's tree and the PEM bundles its TERMINATED_HTTPS listeners name, read in the caller's transaction. */
export type TreeSource = (db: Db, balancerId: string, projectId: string) => Promise<{ tree: AmphoraTarget['loadBalancer']; certificates: Record<string, string> }>;

export interface AmphoraeApiOptions {
  compute: Compute | undefined;
  lifecycle: BalancerLifecycle;
  tree: TreeSource;
  heartbeatTimeoutMs: number;
  /** Heartbeat lines on an idle target stream. */
  streamHeartbeatMs: number;
  /** How often the health manager looks for silent amphorae. */
  healthCheckMs: number;
  /** The term of the controller's lease among servers sharing the database, and how often its holder renews it. */
  leaseTtlMs: number;
  leaseRenewMs: number;
}

/** The Load Balancer API's state machine, which the controller drives. */
export const LOAD_BALANCER_LIFECYCLE: BalancerLifecycle = { complete: completeProvisioning, fail: failProvisioning, setDegraded, applyHealth };

/**
 * The tree from the Load Balancer API, with the PEM bundle (certificate, intermediates, private key: what
 * HAProxy's `crt` loads) of every certificate its TERMINATED_HTTPS listeners and re-encrypting pools name, and
 * the CA bundles and revocation lists they verify clients and members with, read from the key manager for the
 * balancer's project. Without the key manager's key, or with a key under a passphrase, a tree that names
 * certificates is refused, so its balancer's change fails rather than serving without its certificate.
 */
export function loadBalancerTrees(kek: KeyEncryptionKey | undefined): TreeSource {
  return async (db, balancerId, projectId) => {
    const { tree, certificateRefs } = await loadBalancerTree(db, balancerId);
    const certificates: Record<string, string> = {};
    for (const ref of certificateRefs) {
      if (!kek) throw new Error(`balancer ${balancerId} names certificates, but this server runs no key manager`);
      if (ref.kind !== 'bundle') {
        const pem = await readPemSecret(db, ref.containerRef, PEM_BLOCK[ref.kind], { projectId, kek });
        certificates[ref.name] = pem.trimEnd() + '\n';
        continue;
      }
      const bundle = await readCertificateBundle(db, ref.containerRef, { projectId, kek });
      if (bundle.passphrase !== null) throw new Error(`the private key of ${ref.containerRef} is under a passphrase, which amphorae do not take yet`);
      certificates[ref.name] = [bundle.certificate, bundle.intermediates, bundle.privateKey].filter((part): part is string => !!part).map((part) => part.trimEnd() + '\n').join('');
    }
    return { tree, certificates };
  };
}

/** The server's amphora endpoints with their defaults: the API's lifecycle, its trees with the key manager's certificates, a 3 s heartbeat timeout. */
export function amphoraeApiOptions(options: Pick<AmphoraeApiOptions, 'compute'> & Partial<AmphoraeApiOptions> & { kek?: KeyEncryptionKey }): AmphoraeApiOptions {
  const { kek, ...rest } = options;
  return {
    lifecycle: LOAD_BALANCER_LIFECYCLE,
    tree: loadBalancerTrees(kek),
    heartbeatTimeoutMs: DEFAULT_CONTROLLER_OPTIONS.heartbeatTimeoutMs,
    streamHeartbeatMs: 5000,
    healthCheckMs: 250,
    leaseTtlMs: 5000,
    leaseRenewMs: 1000,
    ...rest,
  };
}

export async function registerAmphoraeRoutes(app: FastifyInstance, ctx: ServerContext, options: AmphoraeApiOptions): Promise<void> {
  const revisions = new BalancerConfigRevisions(ctx.store, ctx.logger);
  await revisions.start();
  // Servers sharing one database each serve targets and take reports, but only the lease holder provisions and
  // judges amphorae: two controllers would race to make the same VMs, two health managers to replace one amphora.
  let leading: { controller: BalancerController; healthManager: HealthManager } | undefined;
  const election = new LeaderElection(
    ctx.store,
    { name: 'balancer-controller', holder: `${hostname()}:${process.pid}:${randomUUID()}`, ttlMs: options.leaseTtlMs, renewMs: options.leaseRenewMs },
    {
      elected: () => {
        const controller = new BalancerController(ctx.store, revisions, options.lifecycle, ctx.logger, {
          ...DEFAULT_CONTROLLER_OPTIONS,
          compute: options.compute,
          heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        });
        const healthManager = new HealthManager(ctx.store, options.lifecycle, (id) => controller.enqueue(id), ctx.logger, {
          heartbeatTimeoutMs: options.heartbeatTimeoutMs,
          bootTimeoutMs: DEFAULT_CONTROLLER_OPTIONS.bootTimeoutMs,
          checkMs: options.healthCheckMs,
        });
        controller.start();
        healthManager.start();
        leading = { controller, healthManager };
      },
      deposed: async () => {
        const jobs = leading;
        leading = undefined;
        jobs?.healthManager.stop();
        await jobs?.controller.stop();
      },
    },
    ctx.logger,
  );
  election.start();
  app.addHook('onClose', async () => {
    await election.stop();
    revisions.stop();
  });

  type AmphoraReq = FastifyRequest<{ Params: { id: string } }>;

  app.get('/amphorae/:id/target', async (request: AmphoraReq, reply: FastifyReply) => {
    requireAdmin(request);
    const { id } = request.params;
    const first = await readTarget(ctx.store, revisions, options.tree, id);
    if (!first) throw notFound(`Amphora ${id} could not be found.`);
    const res = startNdjson(reply);
    const queue = new NdjsonQueue(res, 100);
    let sent = '';
    const send = (target: AmphoraTarget) => {
      const text = JSON.stringify(target);
      if (text === sent) return;
      sent = text;
      queue.push([{ type: 'target', target }]);
    };
    send(first);
    // One rebuild at a time, in order, so that an older read never overtakes a newer one.
    let rebuilding: Promise<void> = Promise.resolve();
    const onChanged = (balancerId: string) => {
      if (balancerId !== first.loadBalancerId) return;
      rebuilding = rebuilding.then(async () => {
        try {
          const target = await readTarget(ctx.store, revisions, options.tree, id);
          if (target) send(target);
          else res.end();
        } catch (err) {
          ctx.logger.error({ err, amphora: id }, 'could not build the amphora target');
        }
      });
    };
    revisions.on('changed', onChanged);
    const beat = setInterval(() => {
      if (queue.idle) queue.push([{ type: 'heartbeat' }]);
    }, options.streamHeartbeatMs);
    res.on('close', () => {
      clearInterval(beat);
      revisions.off('changed', onChanged);
    });
  });

  app.put('/amphorae/:id/health', async (request: AmphoraReq, reply: FastifyReply) => {
    requireAdmin(request);
    const { id } = request.params;
    const report = parseHealthReport(request.body);
    const heard = new Date();
    const { balancerId, news } = await ctx.store.write(async (tx) => {
      const before = await records.getAmphora(tx.db, id);
      if (!before) throw notFound(`Amphora ${id} could not be found.`);
      await records.recordAmphoraHealth(tx, id, report, heard);
      const balancer = await records.readBalancer(tx.db, before.loadbalancer_id);
      const rows = await records.amphoraeOf(tx.db, before.loadbalancer_id);
      if (balancer && isWhole(balancer.topology, rows, heard.getTime(), options.heartbeatTimeoutMs)) {
        const live = rows.filter((a) => records.amphoraStatusOf(a) === 'ALLOCATED');
        await options.lifecycle.applyHealth(tx, balancer.id, live.flatMap((a) => records.healthOf(a) ?? []));
      }
      const previous = records.healthOf(before);
      const wasSilent = !before.heartbeat_at || heard.getTime() - Date.parse(before.heartbeat_at) > options.heartbeatTimeoutMs;
      // What the controller waits for: a first report, a newly applied revision, an error appearing or clearing.
      const changed = wasSilent || previous?.appliedConfigRevision !== report.appliedConfigRevision || previous?.applyError !== report.applyError;
      return { balancerId: before.loadbalancer_id, news: changed };
    });
    // On a server that does not lead, the leader's poll of waiting balancers (every second) picks the news up.
    if (news) leading?.controller.enqueue(balancerId);
    void reply.status(204);
  });
}

/** The amphora's target now; undefined when the amphora (or its balancer) is gone. */
export async function readTarget(store: Store, revisions: BalancerConfigRevisions, tree: TreeSource, amphoraId: string): Promise<AmphoraTarget | undefined> {
  const amphora = await store.read((db) => records.getAmphora(db, amphoraId));
  if (!amphora) return undefined;
  // The revision first: whatever is read after it holds at least every write up to it.
  const configRevision = revisions.revisionOf(amphora.loadbalancer_id);
  return store.read(async (db) => {
    const row = await records.getAmphora(db, amphoraId);
    const balancer = row && (await records.readBalancer(db, row.loadbalancer_id));
    if (!row || !balancer) return undefined;
    const peers = (await records.amphoraeOf(db, balancer.id)).filter((a) => a.id !== row.id && a.status !== 'ERROR');
    const subnet = balancer.vipSubnetId
      ? ((await db.selectFrom('subnets').select('cidr').where('id', '=', balancer.vipSubnetId).executeTakeFirst()) as { cidr: string } | undefined)
      : undefined;
    const deleting = balancer.provisioningStatus === 'PENDING_DELETE';
    const built = deleting ? { tree: null, certificates: {} } : await tree(db, balancer.id, balancer.projectId);
    return buildAmphoraTarget({
      amphora: { id: row.id, role: (row.role ?? 'STANDALONE') as 'MASTER' | 'BACKUP' | 'STANDALONE', vrrpIp: row.vrrp_ip, vrrpId: row.vrrp_id ?? 1 },
      peers: peers.map((p) => ({ id: p.id, vrrpIp: p.vrrp_ip })),
      balancer: {
        id: balancer.id,
        topology: balancer.topology,
        vipAddress: balancer.vipAddress ?? '',
        vipPrefixLength: (subnet && parseCidr(subnet.cidr)?.prefixLength) ?? 32,
        deleting,
      },
      tree: built.tree,
      certificates: built.certificates,
      configRevision,
    });
  });
}

const HAPROXY_STATES = new Set(['RUNNING', 'STOPPED']);
const VRRP_STATES = new Set(['MASTER', 'BACKUP', 'FAULT', 'STOPPED']);
const LISTENER_STATES = new Set(['OPEN', 'FULL', 'DOWN']);
const POOL_STATES = new Set(['UP', 'DOWN']);
const MEMBER_STATES = new Set<ReportedMemberStatus>(['UP', 'DOWN', 'DRAIN', 'MAINT', 'NO_CHECK']);
const STAT_FIELDS = ['activeConnections', 'totalConnections', 'bytesIn', 'bytesOut', 'requestErrors'] as const;

/** Checks a health report field by field; a bad one is a 400 naming the field, and nothing is stored. */
export function parseHealthReport(body: unknown): AmphoraHealthReport {
  const fail = (field: string, why: string): never => {
    throw badRequest(`Invalid input for ${field}. Reason: ${why}.`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(body)) return fail('the health report', 'the body must be a JSON object');
  const revision = body.appliedConfigRevision;
  if (revision !== null && !(Number.isSafeInteger(revision) && (revision as number) >= 0)) fail('appliedConfigRevision', 'it must be null or a revision (an integer 0 or greater)');
  if (body.applyError !== null && typeof body.applyError !== 'string') fail('applyError', 'it must be null or a string');
  if (!HAPROXY_STATES.has(body.haproxy as string)) fail('haproxy', `'${String(body.haproxy)}' is not one of RUNNING, STOPPED`);
  if (body.vrrpState !== null && !VRRP_STATES.has(body.vrrpState as string)) fail('vrrpState', `'${String(body.vrrpState)}' is not null or one of MASTER, BACKUP, FAULT, STOPPED`);
  if (!isObject(body.listeners)) fail('listeners', 'it must map listener ids to their status and stats');
  for (const [id, listener] of Object.entries(body.listeners as Record<string, unknown>)) {
    if (!isObject(listener) || !LISTENER_STATES.has(listener.status as string)) fail(`listeners.${id}.status`, 'it must be one of OPEN, FULL, DOWN');
    const stats = (listener as Record<string, unknown>).stats;
    if (!isObject(stats)) fail(`listeners.${id}.stats`, 'it must be an object of counters');
    for (const field of STAT_FIELDS) {
      const value = (stats as Record<string, unknown>)[field];
      if (!(Number.isSafeInteger(value) && (value as number) >= 0)) fail(`listeners.${id}.stats.${field}`, 'it must be an integer 0 or greater');
    }
  }
  if (!isObject(body.pools)) fail('pools', 'it must map pool ids to their status and members');
  for (const [id, pool] of Object.entries(body.pools as Record<string, unknown>)) {
    if (!isObject(pool) || !POOL_STATES.has(pool.status as string)) fail(`pools.${id}.status`, 'it must be one of UP, DOWN');
    const members = (pool as Record<string, unknown>).members;
    if (!isObject(members)) fail(`pools.${id}.members`, 'it must map member ids to their status');
    for (const [member, status] of Object.entries(members as Record<string, unknown>)) {
      if (!MEMBER_STATES.has(status as ReportedMemberStatus)) fail(`pools.${id}.members.${member}`, 'it must be one of UP, DOWN, DRAIN, MAINT, NO_CHECK');
    }
  }
  return {
    appliedConfigRevision: revision as number | null,
    applyError: body.applyError as string | null,
    haproxy: body.haproxy as AmphoraHealthReport['haproxy'],
    vrrpState: body.vrrpState as AmphoraHealthReport['vrrpState'],
    listeners: body.listeners as AmphoraHealthReport['listeners'],
    pools: body.pools as AmphoraHealthReport['pools'],
  };
}
