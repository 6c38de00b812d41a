// Several worker processes serve the same sockets (node:cluster shares the UDP and TCP handles),
// so the server uses every core. The primary only supervises and aggregates metrics.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../lib/logger.js';
import { serveAggregatedMetrics } from './cluster-metrics.js';

const SERVING = 'cloudnet-dns:serving';
const WORKER_ENV = 'CLOUDNET_DNS_WORKER';
const RESTART_DELAY_MS = 1000;

// Work that must happen once per machine, not once per worker (the programming-latency
// histogram would otherwise count each change once per worker).
export function isFirstWorker(): boolean {
  return !cluster.isWorker || process.env[WORKER_ENV] === '1';
}

export function reportServing(ports: number[]): void {
  if (cluster.isWorker) process.send!({ type: SERVING, ports });
}

// Runs in the primary: starts `count` workers, restarts those that die after they served, and
// resolves with the exit code once all have stopped after SIGTERM/SIGINT, or one failed to start.
export function superviseWorkers(count: number, logger: Logger, onServing: (ports: number[]) => void): Promise<number> {
  serveAggregatedMetrics();
  let stopping = false;
  let announced = false;
  let exitCode = 0;
  const served = new Set<number>();
  const slots = new Map<Worker, number>();

  const fork = (slot: number): void => {
    const w = cluster.fork({ [WORKER_ENV]: String(slot) });
    slots.set(w, slot);
    w.on('message', (m: { type?: string; ports?: number[] }) => {
      if (m?.type !== SERVING) return;
      served.add(slot);
      if (!announced && served.size === count) {
        announced = true;
        onServing(m.ports ?? []);
      }
    });
  };

  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping workers');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGUSR1', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGUSR1');
    });
    cluster.on('exit', (w, code, signal) => {
      const slot = slots.get(w)!;
      slots.delete(w);
      if (!stopping && !served.has(slot)) {
        // A worker that never served has a bad configuration; more would fail the same way.
        exitCode = code ?? 1;
        stop('SIGTERM');
      } else if (!stopping) {
        logger.error({ slot, code, signal }, 'worker died; restarting');
        served.delete(slot);
        setTimeout(() => fork(slot), RESTART_DELAY_MS);
      }
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) resolve(exitCode);
    });
    for (let slot = 1; slot <= count; slot++) fork(slot);
  });
}
