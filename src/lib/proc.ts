import { readFileSync } from 'node:fs';

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
