import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * A bare `GET /metrics` endpoint for processes that have no HTTP server of their own (agents).
 * `listen` is HOST:PORT; port 0 picks a free one, returned in the address.
 */
export async function serveMetrics(registry: Registry, listen: string): Promise<{ server: Server; url: string }> {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  if (!match) throw new Error(`metrics address must be HOST:PORT, not '${listen}'`);
  const host = match[1] ?? (match[2] || '127.0.0.1');
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(match[3]), host, resolve);
  });
  const address = server.address() as AddressInfo;
  const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
  return { server, url: `http://${shown}:${address.port}/metrics` };
}
