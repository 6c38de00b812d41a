import { spawn } from 'node:child_process';

/**
 * Runs system tools (ip, bridge, nft, sysctl) with a time limit and captured output. Agents and the lab
 * drive the kernel only through these tools, so every failure carries the tool's own stderr.
 */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the tool's stdin (e.g. an `ip -batch -` or `nft -f -` script, or bytes). */
  input?: string | Buffer;
  timeoutMs?: number;
}

export class ExecError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (${code === null ? 'killed' : `exit ${code}`}): ${stderr.trim()}`);
  }
}

export function execTool(file: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const argv = [file, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ExecError(argv, null, e.message));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0) resolve(result);
      else reject(new ExecError(argv, code, result.stderr || result.stdout));
    });
    // A tool that exits before reading its stdin closes the pipe; its exit status tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}
