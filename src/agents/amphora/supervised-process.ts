import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../../lib/logger.js';

export interface SupervisedProcessOptions {
  /** For logs and metrics: haproxy, keepalived. */
  name: string;
  argv: string[];
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Asked before each restart; false ends supervision (e.g. the namespace it runs in is gone). */
  mayRestart?(): boolean;
  onRestart?(): void;
}

/**
 * A child process kept running: when it exits without being asked to, it is started again after an
 * exponential backoff (reset once it has run for a while), so a crashing daemon is neither left dead nor
 * restarted in a tight loop. Its output goes to the agent's log, line by line.
 */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = true;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SupervisedProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Started (or waiting to be restarted) and not stopped. */
  get supervised(): boolean {
    return !this.stopped;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    this.stopped = false;
    if (this.child) return;
    // Waiting out a backoff: start now instead.
    clearTimeout(this.restartTimer);
    this.spawnChild();
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const kill = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(kill);
  }

  private spawnChild(): void {
    const [file, ...args] = this.o.argv;
    const started = Date.now();
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.o.logger.info({ process: this.o.name, pid: child.pid }, line));
    }
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => this.o.logger.error({ process: this.o.name, err: err.message }, 'could not start'));
      child.once('close', (code, signal) => {
        this.child = undefined;
        resolve();
        if (this.stopped) return;
        this.failures = Date.now() - started > 10_000 ? 1 : this.failures + 1;
        const delay = Math.min(this.o.maxBackoffMs ?? 10_000, (this.o.minBackoffMs ?? 200) * 2 ** (this.failures - 1));
        this.o.logger.error({ process: this.o.name, code, signal, restartInMs: delay }, 'exited unexpectedly');
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
    });
  }
}
