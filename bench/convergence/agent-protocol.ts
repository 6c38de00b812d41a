/** The messages between the benchmark's coordinator and its agent processes (node IPC, JSON). */
import type { Holds, MeterReport } from './agents.js';

export type ToAgents =
  | { type: 'init'; hosts: string[]; url: string; token: string }
  | { type: 'start'; hosts: string[] }
  | { type: 'stop'; hosts: string[] }
  /** The server is back (at `url`): agents waiting to retry dial now. */
  | { type: 'kick'; url: string }
  | { type: 'begin'; id: number; concerned: [string, Holds][] }
  | { type: 'end'; id: number };

export type FromAgents =
  | { type: 'ack'; id: number }
  /** A concerned agent first held the change, at this monotonic time. */
  | { type: 'held'; host: string; at: number }
  /** Lines arrived, the last at this monotonic time (sent at most every few ms, for the coordinator's quiet waits). */
  | { type: 'activity'; at: number }
  /** `loopMaxMs`: the longest stall of this process's event loop during the scenario. */
  | { type: 'report'; id: number; report: MeterReport; loopMaxMs: number };
