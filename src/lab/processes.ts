/**
 * The lab's child processes (the server, the host agents): started as `cloudnet <command>` with their output
 * in a log file, in their own process group so that a Ctrl-C reaches only the lab, which then stops them in
 * order; recorded with their start time so that a later `lab down` never signals a stranger that reused a pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isRunning, processStartTime, stopProcess } from '../lib/proc.js';
import type { ProcessRecord } from './state.js';

export { isRunning, processStartTime, stopProcess };

/**
 * How to run this very cloudnet: the built `dist/src/cli/main.js`, or, when running from source under tsx
 * (the tests), `src/cli/main.ts` with tsx loaded.
 */
export function cloudnetCommand(): { file: string; args: string[] } {
  const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../cli/main.ts' : '../cli/main.js', import.meta.url));
  return { file: process.execPath, args: main.endsWith('.ts') ? ['--import', 'tsx', main] : [main] };
}

export interface StartedProcess {
  child: ChildProcess;
  record: ProcessRecord;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCloudnet(command: string, args: string[], options: { log: string; env?: NodeJS.ProcessEnv }): StartedProcess {
  const { file, args: base } = cloudnetCommand();
  const fd = openSync(options.log, 'a', 0o600);
  try {
    const child = spawn(file, [...base, command, ...args], { stdio: ['ignore', fd, fd], detached: true, env: options.env ?? process.env });
    if (child.pid === undefined) throw new Error(`could not start cloudnet ${command}`);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, exited, record: { pid: child.pid, startTime: processStartTime(child.pid) ?? '', log: options.log } };
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Only the recorded process is signalled. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds or `timeoutMs` passes; says which. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
