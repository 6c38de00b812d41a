import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Logger } from '../../lib/logger.js';
import { isRunning } from '../../lib/proc.js';
import { nextRestart } from '../../lib/restart-backoff.js';

export interface SupervisedProcessOptions {
  /** For logs and metrics: haproxy, keepalived. */
  name: string;
  argv: string[];
  /** Its stdout and stderr, appended: a file, not a pipe to the agent, because the daemon outlives the agent. */
  logFile: string;
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Asked before each restart; false ends supervision (e.g. the namespace it runs in is gone). */
  mayRestart?(): boolean;
  onRestart?(): void;
}

/** The daemon under supervision, whether this agent started it or adopted it from a previous one. */
interface Tracked {
  pid: number;
  /** Resolves once it has exited (with its status when this agent is its parent). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Stops watching it and leaves it running. */
  letGo(): void;
}

/** How often an adopted daemon (not our child: no exit event) is looked at in /proc. */
const ADOPTED_POLL_MS = 200;

/**
 * A daemon kept running: when it exits without being asked to, it is started again after an exponential
 * backoff (reset once it has run for a while), so a crashing daemon is neither left dead nor restarted in a
 * tight loop. It runs in its own session with its output in its own log file, so that nothing ties it to the
 * agent: the agent may die or `release` it, and the next agent `adopt`s it by pid and supervises it the same way.
 */
export class SupervisedProcess {
  private current: Tracked | undefined;
  private stopped = true;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SupervisedProcessOptions) {}

  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Started or adopted (or waiting to be restarted), and neither stopped nor released. */
  get supervised(): boolean {
    return !this.stopped;
  }

  get running(): boolean {
    return this.current?.alive() ?? false;
  }

  start(): void {
    this.stopped = false;
    if (this.current) return;
    // Waiting out a backoff: start now instead.
    clearTimeout(this.restartTimer);
    this.spawnChild();
  }

  /** Supervises a daemon a previous agent started: `startTime` (from /proc) tells it from a later process on its pid. */
  adopt(pid: number, startTime: string): void {
    if (this.current) throw new Error(`${this.o.name} is already supervised (pid ${this.current.pid})`);
    this.stopped = false;
    let watch: NodeJS.Timeout | undefined;
    const alive = () => isRunning({ pid, startTime });
    const exited = new Promise<{ code: null; signal: null }>((resolve) => {
      watch = setInterval(() => {
        if (alive()) return;
        clearInterval(watch);
        resolve({ code: null, signal: null });
      }, ADOPTED_POLL_MS);
    });
    this.track({ pid, exited, alive, letGo: () => clearInterval(watch) }, Date.now());
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.current!.pid, signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const tracked = this.current;
    if (!tracked?.alive()) return;
    process.kill(tracked.pid, 'SIGTERM');
    const kill = setTimeout(() => {
      if (tracked.alive()) process.kill(tracked.pid, 'SIGKILL');
    }, graceMs);
    await tracked.exited;
    clearTimeout(kill);
  }

  /** Ends supervision and leaves the daemon running, for the next agent to adopt. */
  release(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.current?.letGo();
    this.current = undefined;
  }

  private spawnChild(): void {
    const [file, ...args] = this.o.argv;
    const log = openSync(this.o.logFile, 'a', 0o600);
    let child;
    try {
      child = spawn(file!, args, { stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    child.once('error', (err) => this.o.logger.error({ process: this.o.name, err: err.message }, 'could not start'));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    const alive = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
    this.track({ pid: child.pid ?? -1, exited, alive, letGo: () => child.unref() }, Date.now());
  }

  private track(tracked: Tracked, started: number): void {
    this.current = tracked;
    void tracked.exited.then(({ code, signal }) => {
      if (this.current !== tracked) return;
      this.current = undefined;
      if (this.stopped) return;
      const next = nextRestart({ minMs: this.o.minBackoffMs ?? 200, maxMs: this.o.maxBackoffMs ?? 10_000, resetMs: 10_000 }, this.failures, Date.now() - started);
      this.failures = next.failures;
      const delay = next.delayMs;
      this.o.logger.error({ process: this.o.name, pid: tracked.pid, code, signal, restartInMs: delay, log: this.o.logFile }, 'exited unexpectedly');
      this.restartTimer = setTimeout(() => {
        if (this.stopped) return;
        if (this.o.mayRestart && !this.o.mayRestart()) {
          this.stopped = true;
          return;
        }
        this.o.onRestart?.();
        this.spawnChild();
      }, delay);
    });
  }
}
