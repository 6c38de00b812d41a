/**
 * The lab's few system calls: run `ip`, list and delete namespaces, run a command in one.
 * (Kept here until the shared wrappers of src/lib land; then these fold into them.)
 */
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { promisify } from 'node:util';
import type { IpCommand } from './topology.js';

const execFileAsync = promisify(execFile);

export class IpCommandError extends Error {
  constructor(
    readonly args: IpCommand,
    readonly stderr: string,
  ) {
    super(`ip ${args.join(' ')}: ${stderr.trim() || 'failed'}`);
  }
}

export async function runIp(args: IpCommand): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', [...args], { encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the ip command (iproute2) is not installed');
    throw new IpCommandError(args, e.stderr ?? e.message);
  }
}

/** In order: a later command may need what an earlier one made. */
export async function runIpCommands(commands: IpCommand[]): Promise<void> {
  for (const command of commands) await runIp(command);
}

export async function listNamespaces(): Promise<string[]> {
  const out = await runIp(['netns', 'list']);
  // Lines look like "name" or "name (id: 3)".
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name): name is string => Boolean(name));
}

/** Deletes a namespace and so every interface in it (a veth's peer goes with it); absent is fine. */
export async function deleteNamespace(name: string): Promise<void> {
  try {
    await runIp(['netns', 'delete', name]);
  } catch (err) {
    if (err instanceof IpCommandError && /No such file or directory|Invalid netns name|not found/i.test(err.stderr)) return;
    throw err;
  }
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
