/**
 * The coordinator's side of the simulated agents: hosts dealt round-robin over `processes` agent processes
 * (agent-process.ts), driven over IPC. A scenario's latencies are the agents' own receive times (monotonic clock,
 * shared by every process on the machine) minus the coordinator's start of the scenario.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { monotonicMs, type Holds } from './agents.js';
import type { FromAgents, ToAgents } from './agent-protocol.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface ScenarioCounts {
  /** When the scenario began (monotonic ms); every time below is on the same clock. */
  t0: number;
  heldAt: Map<string, number>;
  bytes: number;
  reached: number;
  /** The scenario's last line to reach any agent (t0 if none). */
  lastAt: number;
  top: [string, number];
  /** The longest stall of any agent process's event loop during the scenario. */
  agentLoopMaxMs: number;
}

interface Worker {
  child: ChildProcess;
  hosts: Set<string>;
}

export class AgentPool {
  private readonly workers: Worker[];
  private readonly exited: Promise<unknown>[];
  private nextId = 0;
  private closing = false;
  private failure?: Error;
  private replies = new Map<number, { left: number; reports: Extract<FromAgents, { type: 'report' }>[]; done: () => void }>();
  private concerned = 0;
  private t0 = 0;
  readonly heldAt = new Map<string, number>();
  /** The last line to reach any agent since the scenario began (monotonic ms). */
  lastAt = 0;

  constructor(hosts: string[], processes: number, url: string, token: string, heapMb: number) {
    const n = Math.max(1, Math.min(processes, hosts.length));
    this.workers = Array.from({ length: n }, () => ({
      child: fork(join(ROOT, 'bench/convergence/agent-process.ts'), [], {
        cwd: ROOT,
        execArgv: [`--max-old-space-size=${heapMb}`, '--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
      hosts: new Set<string>(),
    }));
    hosts.forEach((host, i) => this.workers[i % n].hosts.add(host));
    this.exited = this.workers.map((w) => new Promise((resolve) => w.child.once('exit', resolve)));
    for (const w of this.workers) {
      w.child.on('message', (m: FromAgents) => this.receive(m));
      w.child.once('exit', (code, signal) => {
        if (!this.closing) this.failure ??= new Error(`agent process ${w.child.pid} exited (${code ?? signal})`);
      });
      this.send(w, { type: 'init', hosts: [...w.hosts], url, token });
    }
  }

  get processes(): number {
    return this.workers.length;
  }

  /** Concerned agents that do not hold the change yet. Throws if an agent process died. */
  get pending(): number {
    if (this.failure) throw this.failure;
    return this.concerned - this.heldAt.size;
  }

  start(hosts: Iterable<string>): void {
    this.each(hosts, (w, mine) => this.send(w, { type: 'start', hosts: mine }));
  }

  stop(hosts: Iterable<string>): void {
    this.each(hosts, (w, mine) => this.send(w, { type: 'stop', hosts: mine }));
  }

  kick(url: string): void {
    for (const w of this.workers) this.send(w, { type: 'kick', url });
  }

  /** Every agent process measures from now on; resolves with the scenario's start once all have begun. */
  async begin(concerned: Map<string, Holds>): Promise<number> {
    this.heldAt.clear();
    this.concerned = concerned.size;
    await this.ask((w, id) => ({ type: 'begin', id, concerned: [...concerned].filter(([host]) => w.hosts.has(host)) }));
    this.t0 = monotonicMs();
    this.lastAt = this.t0;
    return this.t0;
  }

  async end(): Promise<ScenarioCounts> {
    const reports = await this.ask((_, id) => ({ type: 'end', id }));
    let top: [string, number] = ['-', 0];
    for (const r of reports) if (r.report.top[1] > top[1]) top = r.report.top;
    return {
      t0: this.t0,
      // An agent that held the change already when its process began counts at once.
      heldAt: new Map([...this.heldAt].map(([host, at]) => [host, Math.max(at, this.t0)])),
      bytes: reports.reduce((sum, r) => sum + r.report.bytes, 0),
      reached: reports.reduce((sum, r) => sum + r.report.reached.length, 0),
      lastAt: Math.max(this.t0, ...reports.map((r) => r.report.lastAt)),
      top,
      agentLoopMaxMs: Math.max(0, ...reports.map((r) => r.loopMaxMs)),
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.workers) if (w.child.connected) w.child.disconnect();
    const killer = setTimeout(() => this.workers.forEach((w) => w.child.kill('SIGKILL')), 10_000);
    await Promise.all(this.exited);
    clearTimeout(killer);
  }

  private receive(m: FromAgents): void {
    switch (m.type) {
      case 'held':
        if (!this.heldAt.has(m.host)) this.heldAt.set(m.host, m.at);
        break;
      case 'activity':
        this.lastAt = Math.max(this.lastAt, m.at);
        break;
      case 'ack':
      case 'report': {
        const waiting = this.replies.get(m.id);
        if (!waiting) break;
        if (m.type === 'report') waiting.reports.push(m);
        if (--waiting.left === 0) waiting.done();
        break;
      }
    }
  }

  /** Sends each process its message and waits for every reply (IPC keeps order: earlier events come first). */
  private ask(message: (w: Worker, id: number) => ToAgents): Promise<Extract<FromAgents, { type: 'report' }>[]> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const reports: Extract<FromAgents, { type: 'report' }>[] = [];
      const timer = setTimeout(() => reject(new Error(`agent processes did not answer within 60 s`)), 60_000);
      this.replies.set(id, {
        left: this.workers.length,
        reports,
        done: () => {
          clearTimeout(timer);
          this.replies.delete(id);
          resolve(reports);
        },
      });
      for (const w of this.workers) this.send(w, message(w, id));
    });
  }

  private each(hosts: Iterable<string>, act: (w: Worker, mine: string[]) => void): void {
    const list = [...hosts];
    for (const w of this.workers) {
      const mine = list.filter((h) => w.hosts.has(h));
      if (mine.length) act(w, mine);
    }
  }

  private send(w: Worker, message: ToAgents): void {
    if (this.failure) throw this.failure;
    w.child.send(message);
  }
}
