import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';

/** Takes the response over from Fastify for a long-lived newline-delimited JSON stream. */
export function startNdjson(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  // Node holds the head back until the first body write; a follower of a quiet log would wait a heartbeat to connect.
  res.flushHeaders();
  return res;
}

/** Writes one line, waiting while the client is slow; false once the client has gone. */
export async function writeLine(res: ServerResponse, value: unknown): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(JSON.stringify(value) + '\n')) return true;
  await new Promise<void>((resolve) => {
    res.once('drain', resolve);
    res.once('close', resolve);
  });
  return !res.destroyed;
}

/**
 * Lines queued synchronously and written in order as the socket allows. A client that falls more than
 * `limit` lines behind is cut off: it reconnects and catches up from its last revision, which costs less
 * than holding an unbounded backlog for it.
 */
export class NdjsonQueue {
  private readonly lines: string[] = [];
  private pumping = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly limit: number,
  ) {}

  get idle(): boolean {
    return this.lines.length === 0 && !this.pumping;
  }

  push(values: unknown[]): boolean {
    if (this.res.destroyed) return false;
    if (this.lines.length + values.length > this.limit) {
      this.res.destroy();
      return false;
    }
    for (const v of values) this.lines.push(JSON.stringify(v) + '\n');
    void this.pump();
    return true;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.lines.length && !this.res.destroyed) {
        // One write per batch of queued lines: far fewer syscalls than a write per line under load.
        const chunk = this.lines.splice(0, this.lines.length).join('');
        if (!this.res.write(chunk)) {
          await new Promise<void>((resolve) => {
            this.res.once('drain', resolve);
            this.res.once('close', resolve);
          });
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
