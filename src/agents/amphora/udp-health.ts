import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../../lib/logger.js';
import type { HealthMonitor, Member, Pool } from './types.js';

/**
 * Health checks of the members of UDP pools, which no HAProxy checks (HAProxy does not serve them): the agent
 * runs them itself, from inside the amphora (a probe process in its namespace), with Octavia's monitor
 * semantics: a check every `delay` seconds, each allowed `timeout` seconds; a member up is taken down after
 * `max_retries_down` failures in a row and brought back after `max_retries` successes in a row. Members start up
 * (as HAProxy's servers and keepalived's real servers do), so a new member takes traffic at once.
 *
 * UDP-CONNECT sends one datagram and fails only if the member answers ICMP port (or host) unreachable within
 * the timeout, as Octavia's UDP-CONNECT check does: silence is success, since a UDP service need not answer
 * an empty datagram. TCP connects; HTTP sends the monitor's request and expects one of its codes.
 */

export interface MemberCheckState {
  up: boolean;
  /** Consecutive results against the current state (failures while up, successes while down). */
  streak: number;
}

export const INITIAL_CHECK_STATE: MemberCheckState = { up: true, streak: 0 };

/** The state after one check result: rise and fall counted as Octavia's max_retries and max_retries_down. */
export function nextCheckState(state: MemberCheckState, ok: boolean, monitor: Pick<HealthMonitor, 'maxRetries' | 'maxRetriesDown'>): MemberCheckState {
  if (ok === state.up) return { up: state.up, streak: 0 };
  const streak = state.streak + 1;
  const needed = state.up ? monitor.maxRetriesDown : monitor.maxRetries;
  return streak >= needed ? { up: !state.up, streak: 0 } : { up: state.up, streak };
}

/** One check as the probe process takes it. */
export interface ProbeRequest {
  type: 'UDP-CONNECT' | 'TCP' | 'HTTP';
  address: string;
  port: number;
  timeoutMs: number;
  /** HTTP only. */
  method?: string;
  path?: string;
  host?: string | null;
  /** HTTP only: inclusive ranges of accepted status codes. */
  codes?: [number, number][];
}

/** What a member of a monitored pool is checked with, or null if its pool's monitor cannot check UDP pools. */
export function probeFor(monitor: HealthMonitor, member: Member): ProbeRequest | null {
  const base = { address: member.monitorAddress ?? member.address, port: member.monitorPort ?? member.protocolPort, timeoutMs: monitor.timeout * 1000 };
  switch (monitor.type) {
    case 'UDP-CONNECT':
    case 'TCP':
      return { type: monitor.type, ...base };
    case 'HTTP':
      return { type: 'HTTP', ...base, method: monitor.httpMethod ?? 'GET', path: monitor.urlPath ?? '/', host: monitor.domainName, codes: codeRanges(monitor.expectedCodes ?? '200') };
    default:
      return null;
  }
}

/** "200", "200-204", "200,202" as inclusive ranges. */
export function codeRanges(expected: string): [number, number][] {
  return expected
    .replace(/\s+/g, '')
    .split(',')
    .map((part) => {
      const [low, high] = part.split('-').map(Number);
      return [low!, high ?? low!];
    });
}

/**
 * The probe process: NDJSON requests `{ id, …ProbeRequest }` on stdin, `{ id, ok, reason }` on stdout, one
 * line each, checks running concurrently. Plain JavaScript with Node's own modules, run by this same Node inside
 * the amphora's namespace (`ip netns exec`), since a process cannot open sockets in another namespace.
 */
const PROBE_SCRIPT = `
const dgram = require('dgram'), net = require('net'), http = require('http');
const answer = (id, ok, reason) => process.stdout.write(JSON.stringify({ id, ok, reason }) + '\\n');
const check = (p, finish) => {
  if (p.type === 'UDP-CONNECT') {
    const s = dgram.createSocket(net.isIPv6(p.address) ? 'udp6' : 'udp4');
    const end = (ok, reason) => { clearTimeout(timer); s.close(); finish(ok, reason); };
    const timer = setTimeout(() => end(true, 'no ICMP error'), p.timeoutMs);
    s.on('error', (e) => end(false, e.code));
    s.on('message', () => end(true, 'answered'));
    s.connect(p.port, p.address, () => s.send(Buffer.from('\\n')));
  } else if (p.type === 'TCP') {
    const s = net.connect({ host: p.address, port: p.port, timeout: p.timeoutMs });
    s.on('connect', () => { s.destroy(); finish(true, 'connected'); });
    s.on('timeout', () => { s.destroy(); finish(false, 'timeout'); });
    s.on('error', (e) => finish(false, e.code));
  } else {
    const headers = p.host ? { host: p.host } : {};
    const q = http.request({ host: p.address, port: p.port, method: p.method, path: p.path, headers, timeout: p.timeoutMs }, (r) => {
      r.resume();
      finish(p.codes.some(([low, high]) => r.statusCode >= low && r.statusCode <= high), 'status ' + r.statusCode);
    });
    q.on('timeout', () => q.destroy(new Error('timeout')));
    q.on('error', (e) => finish(false, e.code || e.message));
    q.end();
  }
};
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const p = JSON.parse(line);
  let done = false;
  check(p, (ok, reason) => { if (!done) { done = true; answer(p.id, ok, reason); } });
}).on('close', () => process.exit(0));
`;

export interface UdpHealthCheckerOptions {
  netns: string;
  logger: Logger;
  /** Called when a member goes up or down (not on every check). */
  onChange(): void;
}

interface Checked {
  key: string;
  probe: ProbeRequest;
  monitor: HealthMonitor;
  state: MemberCheckState;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

/** Runs the checks of the monitored members of the UDP pools it is given; says which members are down. */
export class UdpHealthChecker {
  private readonly checked = new Map<string, Checked>();
  private probe: ChildProcess | undefined;
  private readonly pending = new Map<number, { child: ChildProcess; resolve: (result: { ok: boolean; reason: string }) => void }>();
  private nextId = 0;

  constructor(private readonly o: UdpHealthCheckerOptions) {}

  /**
   * Checks exactly the enabled members of these pools that have an enabled monitor; a member whose check did not
   * change keeps its state, a new or changed one starts up.
   */
  update(pools: Pool[]): void {
    const wanted = new Map<string, { probe: ProbeRequest; monitor: HealthMonitor }>();
    for (const pool of pools) {
      const monitor = pool.healthMonitor;
      if (!monitor?.adminStateUp) continue;
      for (const member of pool.members) {
        const probe = member.adminStateUp ? probeFor(monitor, member) : null;
        if (probe) wanted.set(member.id, { probe, monitor });
      }
    }
    for (const [id, c] of this.checked) {
      const w = wanted.get(id);
      if (!w || checkKey(w.probe, w.monitor) !== c.key) this.forget(id, c);
    }
    for (const [id, w] of wanted) {
      if (this.checked.has(id)) continue;
      const c: Checked = { key: checkKey(w.probe, w.monitor), ...w, state: INITIAL_CHECK_STATE, timer: undefined, stopped: false };
      this.checked.set(id, c);
      void this.run(id, c);
    }
    if (this.checked.size === 0) this.stopProbe();
  }

  /** Member ids whose checks say down. */
  down(): Set<string> {
    return new Set([...this.checked].filter(([, c]) => !c.state.up).map(([id]) => id));
  }

  /** Whether a member's checks run (its pool has an enabled monitor and it is enabled). */
  monitored(memberId: string): boolean {
    return this.checked.has(memberId);
  }

  stop(): void {
    for (const [id, c] of this.checked) this.forget(id, c);
    this.stopProbe();
  }

  private forget(id: string, c: Checked): void {
    c.stopped = true;
    clearTimeout(c.timer);
    this.checked.delete(id);
  }

  private async run(id: string, c: Checked): Promise<void> {
    const started = Date.now();
    const result = await this.send(c.probe);
    if (c.stopped) return;
    const next = nextCheckState(c.state, result.ok, c.monitor);
    if (next.up !== c.state.up) {
      this.o.logger.info({ member: id, address: `${c.probe.address}:${c.probe.port}`, up: next.up, reason: result.reason }, 'UDP pool member health changed');
    }
    const changed = next.up !== c.state.up;
    c.state = next;
    if (changed) this.o.onChange();
    c.timer = setTimeout(() => void this.run(id, c), Math.max(0, started + c.monitor.delay * 1000 - Date.now()));
  }

  /** One check through the probe process, which is started (again) when needed; a lost probe is a failed check. */
  private send(probe: ProbeRequest): Promise<{ ok: boolean; reason: string }> {
    const child = this.probe && this.probe.exitCode === null && this.probe.signalCode === null ? this.probe : this.startProbe();
    const id = this.nextId++;
    return new Promise((resolve) => {
      // The probe answers within the timeout; the margin covers a busy machine, not a normal check.
      const guard = setTimeout(() => this.settle(id, { ok: false, reason: 'the probe process did not answer' }), probe.timeoutMs + 5000);
      this.pending.set(id, {
        child,
        resolve: (r) => {
          clearTimeout(guard);
          resolve(r);
        },
      });
      child.stdin!.write(`${JSON.stringify({ id, ...probe })}\n`);
    });
  }

  private settle(id: number, result: { ok: boolean; reason: string }): void {
    const waiting = this.pending.get(id);
    this.pending.delete(id);
    waiting?.resolve(result);
  }

  private startProbe(): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.o.netns, process.execPath, '-e', PROBE_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.probe = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as { id: number; ok: boolean; reason: string };
      this.settle(r.id, r);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.o.logger.warn({ line }, 'UDP health probe'));
    child.stdin!.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      if (this.probe === child) this.probe = undefined;
      for (const [id, waiting] of [...this.pending]) if (waiting.child === child) this.settle(id, { ok: false, reason: `the probe process exited (${signal ?? code})` });
    });
    return child;
  }

  private stopProbe(): void {
    this.probe?.stdin!.end();
    this.probe = undefined;
  }
}

function checkKey(probe: ProbeRequest, monitor: HealthMonitor): string {
  return JSON.stringify([probe, monitor.delay, monitor.maxRetries, monitor.maxRetriesDown]);
}
