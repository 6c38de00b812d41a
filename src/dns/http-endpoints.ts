// The HTTP side of the server (metrics, health, ready): listeners shared by address, so several
// server blocks can name the same `prometheus :9153` and a reload can swap routes in place.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

interface Listener {
  server: Server;
  routes: Map<string, HttpRoute>;
  listening: Promise<void> | null;
}

// ":9153" -> all interfaces; "127.0.0.1:9153"; "[::1]:9153".
export function parseHttpAddress(address: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address '${address}': expected [HOST]:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in '${address}'`);
  return { host: m[1] ?? (m[2] || undefined), port };
}

export class HttpEndpoints {
  private readonly listeners = new Map<string, Listener>();

  route(address: string, path: string, handler: HttpRoute): () => void {
    parseHttpAddress(address);
    let l = this.listeners.get(address);
    if (!l) {
      const routes = new Map<string, HttpRoute>();
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        const h = routes.get(path);
        if (!h) {
          res.writeHead(404).end('404 page not found\n');
          return;
        }
        Promise.resolve(h(req, res)).catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(500);
          res.end(String(err));
        });
      });
      server.keepAliveTimeout = 5000;
      l = { server, routes, listening: null };
      this.listeners.set(address, l);
    }
    l.routes.set(path, handler);
    const listener = l;
    return () => {
      if (listener.routes.get(path) === handler) listener.routes.delete(path);
    };
  }

  async listen(): Promise<void> {
    for (const [address, l] of this.listeners) {
      if (!l.listening) {
        const { host, port } = parseHttpAddress(address);
        l.listening = new Promise((resolve, reject) => {
          l.server.once('error', reject);
          l.server.listen({ host, port }, () => {
            l.server.off('error', reject);
            resolve();
          });
        });
      }
      await l.listening;
    }
  }

  boundPort(address: string): number | null {
    const l = this.listeners.get(address);
    const a = l?.server.address() as AddressInfo | null | undefined;
    return a ? a.port : null;
  }

  // Closes listeners no route uses any more (after a reload dropped them).
  async closeUnused(): Promise<void> {
    for (const [address, l] of this.listeners) {
      if (l.routes.size === 0) {
        this.listeners.delete(address);
        await new Promise<void>((resolve) => l.server.close(() => resolve()));
        l.server.closeAllConnections();
      }
    }
  }

  async close(): Promise<void> {
    for (const [address, l] of this.listeners) {
      this.listeners.delete(address);
      l.server.closeAllConnections();
      await new Promise<void>((resolve) => l.server.close(() => resolve()));
    }
  }
}
