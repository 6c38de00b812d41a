// The running DNS server: UDP and TCP listeners per port, dispatch of each query to the most
// specific server block's chain, and encoding of the reply for the transport it came on.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../lib/logger.js';
import { decodeQuery, encodeFormErr, encodeReply, maxReplySize } from '../wire.js';
import { isSubdomain, normalizeName } from '../names.js';
import { Rcode, reply, type DnsReply, type DnsRequest, type Transport } from '../message.js';
import type { DnsMetrics } from '../metrics.js';
import type { Instance, PortConfig, Route } from './instance.js';
import { PluginError } from '../plugin.js';
import { ReplyMemo } from './reply-memo.js';

const TCP_IDLE_TIMEOUT_MS = 10_000;

interface PortListeners {
  port: number;
  udp: dgram.Socket[];
  tcp: net.Server[];
  routes: Route[];
  // Encoded cache answers of these routes, per transport (their sizes limits differ).
  memos: Record<Transport, ReplyMemo>;
}

function freshMemos(metrics: DnsMetrics): Record<Transport, ReplyMemo> {
  return { udp: new ReplyMemo(metrics.replayed.handle(['udp'])), tcp: new ReplyMemo(metrics.replayed.handle(['tcp'])) };
}

// Metrics' family label: 1 for IPv4, also when it reaches an IPv6 socket v4-mapped.
function familyOf(address: string): 4 | 6 {
  return address.includes(':') && !address.startsWith('::ffff:') ? 6 : 4;
}

export class DnsServer {
  private readonly listeners = new Map<number, PortListeners>();
  private readonly tcpConnections = new Set<net.Socket>();

  constructor(
    private readonly metrics: DnsMetrics,
    private readonly logger: Logger,
  ) {}

  // Opens listeners for ports new in this instance, closes those it no longer has, and points
  // every port at the instance's routes. Sockets of unchanged ports stay open, so no query drops.
  async apply(instance: Instance): Promise<void> {
    for (const [port, pl] of this.listeners) {
      if (!instance.ports.has(port)) {
        this.listeners.delete(port);
        await closeListeners(pl);
      }
    }
    for (const pc of instance.ports.values()) {
      const existing = this.listeners.get(pc.port);
      if (existing) {
        existing.routes = pc.routes;
        existing.memos = freshMemos(this.metrics);
        continue;
      }
      const pl = await this.open(pc);
      this.listeners.set(pc.port, pl);
    }
  }

  // The port actually bound (for `-dns.port 0` in tests).
  boundPort(configuredPort: number): number | null {
    const pl = this.listeners.get(configuredPort);
    if (!pl || pl.udp.length === 0) return null;
    return pl.udp[0].address().port;
  }

  async close(): Promise<void> {
    // A TCP server's close waits for its connections, so end them first.
    for (const s of this.tcpConnections) s.destroy();
    for (const [port, pl] of this.listeners) {
      this.listeners.delete(port);
      await closeListeners(pl);
    }
  }

  private async open(pc: PortConfig): Promise<PortListeners> {
    // With port 0 the UDP socket picks the port and TCP must get the same one; another process
    // may hold it for TCP, so pick again a few times.
    const attempts = pc.port === 0 ? 20 : 1;
    for (let attempt = 1; ; attempt++) {
      const pl: PortListeners = { port: pc.port, udp: [], tcp: [], routes: pc.routes, memos: freshMemos(this.metrics) };
      try {
        let port = pc.port;
        for (const address of pc.bindAddresses) {
          const udp = await bindUdp(address, port);
          pl.udp.push(udp);
          // Every socket of this port shares the port the first one got.
          port = udp.address().port;
          udp.on('message', (msg, rinfo) => {
            const replayed = pl.memos.udp.answer(msg, familyOf(rinfo.address));
            if (replayed) {
              udp.send(replayed, rinfo.port, rinfo.address);
              return;
            }
            this.handle(pl, msg, 'udp', rinfo.address, rinfo.port).then(
              (wire) => {
                if (wire) udp.send(wire, rinfo.port, rinfo.address);
              },
              (err: unknown) => this.logger.error({ err }, 'udp reply failed'),
            );
          });
          udp.on('error', (err) => this.logger.error({ err }, 'udp socket error'));
          pl.tcp.push(await this.listenTcp(pl, address, port));
        }
        return pl;
      } catch (err) {
        await closeListeners(pl);
        if (attempt >= attempts || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
  }

  private listenTcp(pl: PortListeners, address: string, port: number): Promise<net.Server> {
    const server = net.createServer((socket) => this.serveTcp(pl, socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  private serveTcp(pl: PortListeners, socket: net.Socket): void {
    this.tcpConnections.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('close', () => this.tcpConnections.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    const family = familyOf(socket.remoteAddress ?? '');
    const send = (wire: Buffer): void => {
      const frame = Buffer.allocUnsafe(2 + wire.length);
      frame.writeUInt16BE(wire.length, 0);
      wire.copy(frame, 2);
      socket.write(frame);
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const replayed = pl.memos.tcp.answer(msg, family);
        if (replayed) {
          send(replayed);
          continue;
        }
        this.handle(pl, msg, 'tcp', socket.remoteAddress ?? '', socket.remotePort ?? 0).then(
          (wire) => {
            if (wire && !socket.destroyed) send(wire);
          },
          (err: unknown) => this.logger.error({ err }, 'tcp reply failed'),
        );
      }
    });
  }

  // Turns one query into one reply on the wire, or null to drop it. Never throws.
  async handle(pl: PortListeners, msg: Buffer, transport: Transport, clientAddress: string, clientPort: number): Promise<Buffer | null> {
    const decoded = decodeQuery(msg);
    if (decoded.kind === 'drop') {
      this.metrics.malformed.inc({ proto: transport, action: 'drop' });
      return null;
    }
    if (decoded.kind === 'formerr') {
      this.metrics.malformed.inc({ proto: transport, action: 'formerr' });
      return encodeFormErr(decoded.id, decoded.flags);
    }
    const packet = decoded.packet;
    const question = packet.questions![0];
    const qname = normalizeName(question.name);
    const route = findRoute(pl.routes, qname);
    const name = question.name.endsWith('.') && question.name !== '.' ? question.name.slice(0, -1) : question.name === '.' ? '' : question.name;
    const encodeCtx = {
      id: packet.id ?? 0,
      question,
      recursionDesired: ((packet.flags ?? 0) & (1 << 8)) !== 0,
      ednsSize: decoded.ednsSize,
      dnssecOk: decoded.dnssecOk,
      maxSize: maxReplySize(transport, decoded.ednsSize),
    };
    if (!route) {
      return encodeReply(encodeCtx, reply('server', Rcode.REFUSED, [], [], [], false)).wire;
    }
    const family = familyOf(clientAddress);
    const req: DnsRequest = {
      name,
      qname,
      qtype: question.type,
      qclass: question.class ?? 'IN',
      transport,
      clientAddress: clientAddress.startsWith('::ffff:') ? clientAddress.slice(7) : clientAddress,
      clientPort,
      family,
      ednsSize: decoded.ednsSize,
      dnssecOk: decoded.dnssecOk,
      recursionDesired: encodeCtx.recursionDesired,
      size: msg.length,
      zone: route.zone,
      server: route.server,
      packet,
      question,
      wire: msg,
      observers: [],
      startedAt: process.hrtime.bigint(),
      lookup: (n, t) => lookupThrough(route, req, n, t),
    };
    let r: DnsReply;
    try {
      r = await route.chain(req);
    } catch (err) {
      if (!(err instanceof PluginError)) this.metrics.panics.inc();
      this.logger.error({ err, name: req.name, type: req.qtype }, 'plugin failed; answering SERVFAIL');
      r = reply('server', Rcode.SERVFAIL, [], [], [], false);
    }
    const { wire } = encodeReply(encodeCtx, r);
    // A query that began before a reload must not leave the old instance's answers behind.
    if (req.cached?.reply === r && route.cacheHitRecorders && pl.routes.includes(route)) {
      pl.memos[transport].remember(msg, wire, req.cached, route.cacheHitRecorders, { zone: req.zone, server: req.server, qtype: req.qtype, transport, dnssecOk: req.dnssecOk, rcode: r.rcode, plugin: r.plugin });
    }
    if (req.observers.length) {
      const seconds = Number(process.hrtime.bigint() - req.startedAt) / 1e9;
      for (const o of req.observers) {
        try {
          o(req, r, wire.length, seconds);
        } catch (err) {
          this.logger.error({ err }, 'reply observer failed');
        }
      }
    }
    return wire;
  }
}

function findRoute(routes: Route[], qname: string): Route | null {
  for (const r of routes) if (isSubdomain(qname, r.zone)) return r;
  return null;
}

// Internal lookups (CNAME targets) run the same chain with a fresh question and no observers.
async function lookupThrough(route: Route, parent: DnsRequest, name: string, qtype: string): Promise<DnsReply> {
  const qname = normalizeName(name);
  const question = { name, type: qtype as DnsRequest['question']['type'], class: 'IN' as const };
  const req: DnsRequest = { ...parent, name, qname, qtype, question, wire: null, observers: [], lookup: (n, t) => lookupThrough(route, req, n, t) };
  return route.chain(req);
}

function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  const type = net.isIPv6(address) ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, ipv6Only: false, recvBufferSize: 4 * 1024 * 1024 } as dgram.SocketOptions);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

async function closeListeners(pl: PortListeners): Promise<void> {
  for (const u of pl.udp) u.close();
  await Promise.all(pl.tcp.map((t) => new Promise<void>((resolve) => t.close(() => resolve()))));
}
