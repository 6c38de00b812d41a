/**
 * Simulated host agents: each a real HTTP client of its host's feed (`GET /cloudnet/v1/hosts/{host}/target`,
 * one long-lived NDJSON stream over its own keep-alive socket) that folds every line into its held state with
 * `applyFeedMessage`, as `cloudnet host-agent` does, and heartbeats. No kernel: what is measured is the feed.
 */
import http from 'node:http';
import { applyFeedMessage, emptyTargetState, type FeedMessage, type HostTargetState } from '../../src/feed/target-state.js';

/**
 * The clock of every measurement, in ms: CLOCK_MONOTONIC (what `process.hrtime` reads on Linux) is one clock for
 * the whole machine, so times taken in the agents' processes and in the coordinator compare directly, and no
 * wall-clock step (NTP) moves them. `performance.now()` would not do: each process counts from its own origin.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * What a scenario waits for, per concerned host: the change its agent must hold. Plain data, so that the
 * coordinator can send it to the process that runs the agent.
 */
export type Holds =
  /** The agent reached a consistent point on a connection opened after the scenario began (a resume). */
  | { kind: 'resumes' }
  /** A port with this MAC address is among the host's own ports, or among the remote ports it holds. */
  | { kind: 'port-mac'; mac: string; among: 'ports' | 'remotePorts' }
  /** The host's own port is in the group. */
  | { kind: 'port-in-group'; port: string; group: string }
  /** The group's address set held by the agent contains the address. */
  | { kind: 'address'; group: string; ip: string };

/** The test of `holds` for one agent, fixed when the scenario begins (a resume counts from the connection then). */
export function holdsTest(holds: Holds, agent: SimAgent): (a: SimAgent) => boolean {
  switch (holds.kind) {
    case 'resumes': {
      const connection = agent.connection;
      return (a) => a.resumedConnection > connection;
    }
    case 'port-mac':
      return (a) => Object.values(a.state[holds.among]).some((p) => p.mac === holds.mac);
    case 'port-in-group':
      return (a) => a.state.ports[holds.port]?.securityGroupIds.includes(holds.group) ?? false;
    case 'address':
      return (a) => holdsAddress(a, holds.group, holds.ip);
  }
}

function holdsAddress(a: SimAgent, group: string, ip: string): boolean {
  const addresses = a.state.addressSets[group]?.addresses;
  if (!addresses) return false;
  let lo = 0;
  let hi = addresses.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (addresses[mid] === ip) return true;
    if (addresses[mid] < ip) lo = mid + 1;
    else hi = mid - 1;
  }
  return addresses.includes(ip);
}

/** What one process's agents received during a scenario. */
export interface MeterReport {
  bytes: number;
  lines: number;
  /** Monotonic time of the last line (0: none). */
  lastAt: number;
  reached: string[];
  /** The agent sent the most, and its bytes. */
  top: [string, number];
}

/**
 * Counts what the agents of one process receive during a scenario, and tells (`onHeld`, `onLine`) when a
 * concerned agent first holds the change and when a line arrives.
 */
export class Meter {
  private active = false;
  private bytes = 0;
  private lines = 0;
  private lastAt = 0;
  private readonly reached = new Set<string>();
  /** Bytes per agent: the largest share says whether one agent got far more than the change. */
  private readonly perAgent = new Map<string, number>();
  private concerned = new Map<string, (a: SimAgent) => boolean>();
  private readonly held = new Set<string>();

  constructor(
    private readonly onHeld: (host: string, at: number) => void,
    private readonly onLine: (at: number) => void = () => undefined,
  ) {}

  begin(concerned: Map<string, Holds>, agents: Map<string, SimAgent>): void {
    const now = monotonicMs();
    this.active = true;
    this.bytes = 0;
    this.lines = 0;
    this.lastAt = 0;
    this.reached.clear();
    this.perAgent.clear();
    this.held.clear();
    this.concerned = new Map();
    for (const [host, holds] of concerned) {
      const agent = agents.get(host);
      if (agent) this.concerned.set(host, holdsTest(holds, agent));
    }
    // An agent may hold it already (e.g. nothing to do): it counts at once.
    for (const [host, test] of this.concerned) if (test(agents.get(host)!)) this.markHeld(host, now);
  }

  end(): MeterReport {
    this.active = false;
    let top: [string, number] = ['-', 0];
    for (const entry of this.perAgent) if (entry[1] > top[1]) top = entry;
    return { bytes: this.bytes, lines: this.lines, lastAt: this.lastAt, reached: [...this.reached], top };
  }

  line(agent: SimAgent, message: FeedMessage, bytes: number, now: number): void {
    if (!this.active || message.type === 'heartbeat') return;
    this.bytes += bytes;
    this.lines++;
    this.lastAt = now;
    this.reached.add(agent.host);
    this.perAgent.set(agent.host, (this.perAgent.get(agent.host) ?? 0) + bytes);
    this.onLine(now);
  }

  consistent(agent: SimAgent, now: number): void {
    if (!this.active || this.held.has(agent.host)) return;
    if (this.concerned.get(agent.host)?.(agent)) this.markHeld(agent.host, now);
  }

  private markHeld(host: string, at: number): void {
    this.held.add(host);
    this.onHeld(host, at);
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
        const now = monotonicMs();
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
