/**
 * The health manager: an amphora whose last report is older than the heartbeat timeout (or which never
 * reported within the boot timeout of getting its VM) is marked ERROR and its balancer DEGRADED, in one
 * write. The controller then replaces it, the same way it makes any missing amphora; the survivor is only
 * sent its new peer.
 */
import type { Logger } from '../../lib/logger.js';
import type { Store } from '../../store/store.js';
import type { BalancerLifecycle } from './lifecycle.js';
import { DESIRED_ROLES, type Topology } from './planner.js';
import * as records from './records.js';

export interface StalenessRules {
  heartbeatTimeoutMs: number;
  bootTimeoutMs: number;
}

/** Whether an amphora with a VM has gone silent, judged at `now`. */
export function isSilent(row: Pick<records.AmphoraRow, 'status' | 'heartbeat_at' | 'updated_at' | 'created_at'>, now: number, rules: StalenessRules): boolean {
  if (row.status !== 'ALLOCATED') return false;
  if (row.heartbeat_at) return now - Date.parse(row.heartbeat_at) > rules.heartbeatTimeoutMs;
  return now - Date.parse(row.updated_at ?? row.created_at) > rules.bootTimeoutMs;
}

/**
 * Every role the topology wants is held by an amphora with a VM that reports. Until then the balancer stays
 * DEGRADED: reports from a lone survivor must not turn it ONLINE.
 */
export function isWhole(
  topology: Topology,
  rows: Pick<records.AmphoraRow, 'role' | 'status' | 'failover_requested' | 'heartbeat_at'>[],
  now: number,
  heartbeatTimeoutMs: number,
): boolean {
  return DESIRED_ROLES[topology].every((role) =>
    rows.some((a) => a.role === role && a.status === 'ALLOCATED' && Number(a.failover_requested) !== 1 && a.heartbeat_at !== null && now - Date.parse(a.heartbeat_at) <= heartbeatTimeoutMs),
  );
}

export interface HealthManagerOptions extends StalenessRules {
  checkMs: number;
}

export class HealthManager {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly store: Store,
    private readonly lifecycle: BalancerLifecycle,
    private readonly onFailed: (balancerId: string) => void,
    private readonly logger: Logger,
    private readonly options: HealthManagerOptions,
  ) {}

  start(): void {
    // A server that was itself down heard no reports: judge no amphora until agents have had a timeout to reach it.
    const judgeFrom = Date.now() + this.options.heartbeatTimeoutMs;
    this.timer = setInterval(() => {
      if (Date.now() < judgeFrom || this.checking) return;
      this.checking = true;
      void this.check()
        .catch((err: unknown) => this.logger.error({ err }, 'amphora health check failed'))
        .finally(() => (this.checking = false));
    }, this.options.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Fails over every silent amphora; returns their ids. */
  async check(): Promise<string[]> {
    const now = Date.now();
    const candidates = (await this.store.read((db) => db.selectFrom('amphorae').selectAll().where('status', '=', 'ALLOCATED').execute())) as records.AmphoraRow[];
    const failed: string[] = [];
    for (const candidate of candidates.filter((a) => isSilent(a, now, this.options))) {
      const done = await this.store.write(async (tx) => {
        // A report (to this or another server) may have come in since the read.
        const row = await records.getAmphora(tx.db, candidate.id);
        if (!row || !isSilent(row, Date.now(), this.options)) return false;
        const balancer = await records.readBalancer(tx.db, row.loadbalancer_id);
        await records.updateAmphora(tx, row.id, balancer?.projectId ?? null, { status: 'ERROR' });
        if (balancer) await this.lifecycle.setDegraded(tx, balancer.id);
        return true;
      });
      if (!done) continue;
      this.logger.warn({ amphora: candidate.id, balancer: candidate.loadbalancer_id, lastHeard: candidate.heartbeat_at }, 'amphora is silent; failing it over');
      failed.push(candidate.id);
      this.onFailed(candidate.loadbalancer_id);
    }
    return failed;
  }
}
