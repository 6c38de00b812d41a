import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined if there is no such
 * process or it has exited and only waits to be reaped (a zombie). A pid with its start time names one
 * process for good: a pid reused by a stranger has another start time.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is parenthesised and may hold spaces: count the fields after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' ? undefined : fields[19];
}

/** A process named for good: its pid and its start time (`processStartTime`). */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

export function isRunning(process: ProcessIdentity): boolean {
  return processStartTime(process.pid) === process.startTime;
}

/** SIGTERM, then SIGKILL if it still runs after `graceMs`; never signals a later process on the same pid. */
export async function stopProcess(target: ProcessIdentity, graceMs = 5000): Promise<void> {
  if (!isRunning(target)) return;
  signal(target.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(target)) {
    if (Date.now() > deadline) {
      signal(target.pid, 'SIGKILL');
      for (let waited = 0; waited < 2000 && isRunning(target); waited += 50) await sleep(50);
      return;
    }
    await sleep(50);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
