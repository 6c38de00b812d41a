import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { processStartTime, stopProcess } from '../../lib/proc.js';
import type { SupervisedProcess } from './supervised-process.js';

/**
 * How a new amphora agent takes over the HAProxy and keepalived a previous agent of the same amphora left
 * running (it crashed, or was stopped for an upgrade): the daemons outlive their agent on purpose, so that an
 * agent restart never touches traffic, and the next agent adopts them rather than starting second copies.
 */

/** What a daemon of this amphora looks like in /proc. */
export interface DaemonIdentity {
  /** argv[0] as the agent starts it: haproxy, keepalived. */
  program: string;
  /** The config it was started on: a path in this amphora's state directory, so it names the amphora too. */
  configPath: string;
}

/** What the new agent finds, gathered by `observeDaemon`. */
export interface DaemonFacts {
  /** The pid file's text; null when there is none. */
  pidFile: string | null;
  /** The process the pid names now; null when none runs there (or only a zombie). */
  process: { cmdline: string[]; inAmphoraNamespace: boolean } | null;
  /** Whether its control socket answered; null when not asked (not ours, or a daemon without one). */
  answers: boolean | null;
}

export type AdoptionDecision =
  | { action: 'adopt'; pid: number }
  | { action: 'start-new'; reason: string }
  | { action: 'kill-stale'; pid: number; reason: string };

export function parsePidFile(text: string): number | undefined {
  const trimmed = text.trim();
  const pid = Number(trimmed);
  return /^\d+$/.test(trimmed) && pid > 1 && Number.isSafeInteger(pid) ? pid : undefined;
}

/** Our program on our config: `-f <configPath>` among its arguments. A recycled pid is someone else's. */
export function isOurDaemon(identity: DaemonIdentity, cmdline: string[]): boolean {
  if (cmdline.length === 0 || basename(cmdline[0]!) !== identity.program) return false;
  return cmdline.some((arg, i) => arg === '-f' && cmdline[i + 1] === identity.configPath);
}

/**
 * Adopt only what is provably this amphora's daemon and works; a process that is ours but cannot serve (in a
 * namespace that was deleted and made again, or deaf on its socket) is killed so that a fresh one can bind; a
 * pid that now names another program is none of our business and is never signalled.
 */
export function decideAdoption(identity: DaemonIdentity, facts: DaemonFacts): AdoptionDecision {
  if (facts.pidFile === null) return { action: 'start-new', reason: 'no pid file' };
  const pid = parsePidFile(facts.pidFile);
  if (pid === undefined) return { action: 'start-new', reason: `the pid file holds no pid: ${JSON.stringify(facts.pidFile.slice(0, 40))}` };
  if (!facts.process) return { action: 'start-new', reason: `pid ${pid} no longer runs` };
  if (!isOurDaemon(identity, facts.process.cmdline)) return { action: 'start-new', reason: `pid ${pid} is another program now: ${facts.process.cmdline.join(' ').slice(0, 120)}` };
  if (!facts.process.inAmphoraNamespace) return { action: 'kill-stale', pid, reason: `pid ${pid} runs outside the amphora's network namespace (an earlier namespace of the same name)` };
  if (facts.answers === false) return { action: 'kill-stale', pid, reason: `pid ${pid} does not answer on its control socket` };
  return { action: 'adopt', pid };
}

/** The facts about one daemon, asking its socket (`answers`) only when the process is ours and in the namespace. */
export async function observeDaemon(pidFile: string, identity: DaemonIdentity, netns: string, answers?: () => Promise<boolean>): Promise<DaemonFacts & { startTime?: string }> {
  const text = await readFile(pidFile, 'utf8').catch(() => null);
  const pid = text === null ? undefined : parsePidFile(text);
  const startTime = pid === undefined ? undefined : processStartTime(pid);
  if (pid === undefined || startTime === undefined) return { pidFile: text, process: null, answers: null };
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  const process = { cmdline, inAmphoraNamespace: sameNamespace(`/proc/${pid}/ns/net`, `/run/netns/${netns}`) };
  const ask = answers && isOurDaemon(identity, cmdline) && process.inAmphoraNamespace;
  return { pidFile: text, process, answers: ask ? await answers() : null, startTime };
}

function sameNamespace(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

export interface AdoptionCandidate {
  supervised: SupervisedProcess;
  pidFile: string;
  identity: DaemonIdentity;
  answers?: () => Promise<boolean>;
}

/**
 * Decides for one daemon and acts: adopts it into `supervised` (which then restarts it if it dies, as one it
 * started) and gives back the config it runs, kills a stale one, or leaves the start to the first apply.
 */
export async function adoptDaemon(candidate: AdoptionCandidate, netns: string, logger: Logger): Promise<string | undefined> {
  const { supervised, pidFile, identity } = candidate;
  const facts = await observeDaemon(pidFile, identity, netns, candidate.answers);
  const decision = decideAdoption(identity, facts);
  const log = logger.child({ process: identity.program });
  if (decision.action === 'start-new') {
    if (facts.pidFile !== null) log.info({ reason: decision.reason }, 'nothing to adopt');
    return undefined;
  }
  if (decision.action === 'kill-stale') {
    log.warn({ pid: decision.pid, reason: decision.reason }, 'killing a stale daemon left by a previous agent');
    await stopProcess({ pid: decision.pid, startTime: facts.startTime! });
    return undefined;
  }
  // Read before adopting: the config file is the one the daemon was last started or reloaded on.
  const config = await readFile(identity.configPath, 'utf8');
  supervised.adopt(decision.pid, facts.startTime!);
  log.info({ pid: decision.pid }, 'adopted the daemon a previous agent left running');
  return config;
}
