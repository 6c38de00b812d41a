/**
 * The Load Balancer API's state machine as the controller drives it: the API owns the rules (which objects
 * leave PENDING_*, which statuses follow from health reports); the controller only says when.
 */
import type { AmphoraHealthReport } from '../../agents/amphora/target.js';
import type { WriteTx } from '../../store/store.js';

export interface BalancerLifecycle {
  /** A pending change is in place on every amphora: ACTIVE (or, for a delete, gone). */
  complete(tx: WriteTx, balancerId: string): Promise<void>;
  /** A pending change could not be made: ERROR, with the reason logged. */
  fail(tx: WriteTx, balancerId: string, reason: string): Promise<void>;
  /** Fewer amphorae serve than the topology wants (ONLINE again comes from `applyHealth` once they all report). */
  setDegraded(tx: WriteTx, balancerId: string): Promise<void>;
  /** Operating statuses of the balancer, its listeners, pools and members from its amphorae's latest reports. */
  applyHealth(tx: WriteTx, balancerId: string, reports: AmphoraHealthReport[]): Promise<void>;
}
