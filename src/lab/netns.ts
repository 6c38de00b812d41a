/**
 * The lab's use of `ip`: run the planned commands in order (through the shared tool runner, which carries
 * the tool's stderr into its errors), and run a user's command inside a namespace with the terminal attached.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { execTool } from '../lib/exec.js';
import { waitUntil } from './processes.js';
import type { IpCommand } from './topology.js';

export async function runIp(args: IpCommand): Promise<string> {
  return (await execTool('ip', [...args])).stdout;
}

/** In order: a later command may need what an earlier one made. */
export async function runIpCommands(commands: IpCommand[]): Promise<void> {
  for (const command of commands) await runIp(command);
}

/** The pids in a namespace; with `program`, only those whose name (`/proc/PID/comm`) is that. */
async function namespacePids(netns: string, program?: string): Promise<number[]> {
  const pids = await execTool('ip', ['netns', 'pids', netns]).then((r) => r.stdout.split(/\s+/).filter(Boolean).map(Number), () => []);
  return program === undefined ? pids : pids.filter((pid) => commOf(pid) === program);
}

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/**
 * Kills what still runs inside one of the lab's namespaces (an amphora's HAProxy and keepalived, which outlive
 * their agent on purpose): deleting a namespace only removes its name, and a process inside keeps it alive.
 */
export async function killNamespaceProcesses(netns: string): Promise<void> {
  signalAll(await namespacePids(netns), 'SIGKILL');
}

/**
 * An orderly end for what runs in a namespace (or only `program` there): SIGTERM, then SIGKILL for whatever is
 * left after `graceMs`.
 */
export async function stopNamespaceProcesses(netns: string, options: { program?: string; graceMs?: number } = {}): Promise<void> {
  signalAll(await namespacePids(netns, options.program), 'SIGTERM');
  await waitUntil(async () => (await namespacePids(netns, options.program)).length === 0, options.graceMs ?? 5000, 50);
  signalAll(await namespacePids(netns, options.program), 'SIGKILL');
}

/** Runs a command in a namespace with this process's stdio, as `ip netns exec` does; resolves to its exit code. */
export function execInNamespace(netns: string, command: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...command], { stdio: 'inherit' });
    child.on('error', reject);
    // A shell's convention for a command killed by a signal: 128 + its number.
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : 1)));
  });
}
