import { execTool, type ExecOptions, type ExecResult } from './exec.js';

/**
 * Where a tool runs: the machine itself, or inside a named network namespace (`ip netns exec`). The host
 * agent and the lab take one of these, so the same code drives a real host and a lab host.
 */
export interface ToolRunner {
  readonly netns: string | undefined;
  run(file: string, args: string[], options?: ExecOptions): Promise<ExecResult>;
}

export function toolRunner(netns?: string): ToolRunner {
  return {
    netns,
    run: (file, args, options) => (netns ? execTool('ip', ['netns', 'exec', netns, file, ...args], options) : execTool(file, args, options)),
  };
}

export async function listNetns(): Promise<string[]> {
  const { stdout } = await execTool('ip', ['-j', 'netns', 'list']);
  const parsed = stdout.trim() ? (JSON.parse(stdout) as { name: string }[]) : [];
  return parsed.map((n) => n.name);
}

export async function addNetns(name: string): Promise<void> {
  await execTool('ip', ['netns', 'add', name]);
  // Loopback up: tools inside (and tests) expect 127.0.0.1 to work.
  await execTool('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace if it exists; veth ends inside go with it. */
export async function deleteNetns(name: string): Promise<void> {
  if ((await listNetns()).includes(name)) await execTool('ip', ['netns', 'del', name]);
}
