import { createConnection } from 'node:net';

/**
 * One command on an HAProxy CLI socket (the runtime API or the master CLI): HAProxy answers and closes. A unix
 * socket is a file, so the agent reaches an HAProxy inside a network namespace from the root namespace.
 */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${command}: no answer from ${socketPath} within ${timeoutMs} ms`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    // The master CLI answers once the request side is closed; the runtime API answers either way.
    socket.end(`${command}\n`);
  });
}
