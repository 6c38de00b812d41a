/**
 * Simulated host agents: each a real HTTP client of its host's feed (`GET /cloudnet/v1/hosts/{host}/target`,
 * one long-lived NDJSON stream over its own keep-alive socket) that folds every line into its held state with
 * `applyFeedMessage`, as `cloudnet host-agent` does, and heartbeats. No kernel: what is measured is the feed.
 */
import http from 'node:http';
import { applyFeedMessage, emptyTargetState, type FeedMessage, type HostTargetState } from '../../src/feed/target-state.js';

/** What a scenario waits for: per concerned host, the test its held state passes once it holds the change. */
export type Holds = (agent: SimAgent) => boolean;

/** Counts what agents receive during a scenario and when each concerned agent first held the change. */
export class Meter {
  private active = false;
  t0 = 0;
  bytes = 0;
  lines = 0;
  lastAt = 0;
  readonly reached = new Set<string>();
  /** Bytes per agent: the largest share says whether one agent got far more than the change. */
  readonly perAgent = new Map<string, number>();
  private concerned = new Map<string, Holds>();
  readonly heldAt = new Map<string, number>();

  begin(concerned: Map<string, Holds>, agents: Map<string, SimAgent>): void {
    this.active = true;
    this.t0 = performance.now();
    this.bytes = 0;
    this.lines = 0;
    this.lastAt = this.t0;
    this.reached.clear();
    this.perAgent.clear();
    this.heldAt.clear();
    this.concerned = concerned;
    // An agent may hold it already (e.g. nothing to do): it counts at once.
    for (const [host, holds] of concerned) {
      const agent = agents.get(host);
      if (agent && holds(agent)) this.heldAt.set(host, this.t0);
    }
  }

  end(): void {
    this.active = false;
  }

  get pending(): number {
    return this.concerned.size - this.heldAt.size;
  }

  line(agent: SimAgent, message: FeedMessage, bytes: number, now: number): void {
    if (!this.active || message.type === 'heartbeat') return;
    this.bytes += bytes;
    this.lines++;
    this.lastAt = now;
    this.reached.add(agent.host);
    this.perAgent.set(agent.host, (this.perAgent.get(agent.host) ?? 0) + bytes);
  }

  /** The agent that received the most bytes, and how many. */
  get top(): [string, number] {
    let best: [string, number] = ['-', 0];
    for (const entry of this.perAgent) if (entry[1] > best[1]) best = entry;
    return best;
  }

  consistent(agent: SimAgent, now: number): void {
    if (!this.active || this.heldAt.has(agent.host)) return;
    const holds = this.concerned.get(agent.host);
    if (holds?.(agent)) this.heldAt.set(agent.host, now);
  }
}

export interface AgentContext {
  url: () => string;
  token: string;
  meter: Meter;
  streams: http.Agent;
}

export class SimAgent {
  readonly state: HostTargetState;
  /** Connections opened so far, and the connection whose first consistent point was last seen. */
  connection = 0;
  resumedConnection = 0;
  snapshots = 0;
  totalBytes = 0;
  private running = false;
  private request?: http.ClientRequest;
  private waiting?: NodeJS.Timeout;
  private backoffMs = 100;

  constructor(
    readonly host: string,
    private readonly ctx: AgentContext,
  ) {
    this.state = emptyTargetState({ name: host, tunnelIp: '', providerInterfaces: {} });
  }

  get connected(): boolean {
    return this.running && this.request !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** The host dies: its stream goes, nothing more is read. Its held state stays (the agent keeps it on disk). */
  stop(): void {
    this.running = false;
    clearTimeout(this.waiting);
    this.waiting = undefined;
    this.request?.destroy();
    this.request = undefined;
  }

  /** Dials now if waiting to retry (the harness knows the server is back; a real agent's backoff would add to this). */
  kick(): void {
    if (!this.waiting) return;
    clearTimeout(this.waiting);
    this.waiting = undefined;
    this.connect();
  }

  private connect(): void {
    if (!this.running) return;
    const connection = ++this.connection;
    let retried = false;
    const retry = () => {
      if (retried || connection !== this.connection) return;
      retried = true;
      this.request = undefined;
      if (!this.running) return;
      const delay = this.backoffMs * (0.5 + Math.random() / 2);
      this.backoffMs = Math.min(1000, this.backoffMs * 2);
      this.waiting = setTimeout(() => {
        this.waiting = undefined;
        this.connect();
      }, delay);
    };
    const url = `${this.ctx.url()}/cloudnet/v1/hosts/${this.host}/target?since=${this.state.revision}`;
    const request = http.get(url, { agent: this.ctx.streams, headers: { 'x-auth-token': this.ctx.token } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', retry);
        res.on('error', retry);
        return;
      }
      res.setEncoding('utf8');
      let buffered = '';
      res.on('data', (chunk: string) => {
        const now = performance.now();
        this.totalBytes += chunk.length;
        buffered += chunk;
        let start = 0;
        let nl: number;
        while ((nl = buffered.indexOf('\n', start)) >= 0) {
          const line = buffered.slice(start, nl);
          start = nl + 1;
          const message = JSON.parse(line) as FeedMessage;
          this.ctx.meter.line(this, message, line.length + 1, now);
          if (message.type === 'snapshot_begin') this.snapshots++;
          if (applyFeedMessage(this.state, message)) {
            this.backoffMs = 100;
            this.resumedConnection = connection;
            this.ctx.meter.consistent(this, now);
          }
        }
        buffered = buffered.slice(start);
      });
      res.on('close', retry);
      res.on('error', retry);
    });
    request.on('error', retry);
    this.request = request;
  }
}

/** Heartbeats for every running host, spread over the interval, with a bound on requests in flight. */
export class Heartbeats {
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private readonly next = new Map<string, number>();
  readonly beating = new Set<string>();
  sent = 0;
  failed = 0;

  constructor(
    private readonly url: () => string,
    private readonly token: string,
    private readonly intervalMs: number,
    private readonly client: http.Agent,
  ) {}

  add(host: string): void {
    this.beating.add(host);
    this.next.set(host, performance.now() + Math.random() * this.intervalMs);
  }

  /** Sends one now (a returning host) and keeps beating. */
  async beatNow(host: string): Promise<void> {
    this.beating.add(host);
    this.next.set(host, performance.now() + this.intervalMs);
    await this.beat(host);
  }

  remove(host: string): void {
    this.beating.delete(host);
  }

  start(): void {
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const host of this.beating) {
        if (this.inFlight >= 32) return;
        if ((this.next.get(host) ?? 0) > now) continue;
        this.next.set(host, now + this.intervalMs);
        void this.beat(host);
      }
    }, 50);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private beat(host: string): Promise<void> {
    this.inFlight++;
    return new Promise<void>((resolve) => {
      const req = http.request(
        `${this.url()}/cloudnet/v1/hosts/${host}/heartbeat`,
        { method: 'POST', agent: this.client, headers: { 'x-auth-token': this.token } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 204) this.sent++;
            else this.failed++;
            this.inFlight--;
            resolve();
          });
        },
      );
      req.on('error', () => {
        this.failed++;
        this.inFlight--;
        resolve();
      });
      req.end();
    });
  }
}
