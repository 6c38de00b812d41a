// One upstream resolver: query exchange over UDP (a few shared sockets, queries told apart by
// a random id) or TCP, plus the failure count health checks reset.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface UpstreamAddress {
  host: string;
  port: number;
}

export function parseUpstreamAddress(text: string): UpstreamAddress {
  let rest = text.replace(/^dns:\/\//, '');
  if (/^[a-z]+:\/\//i.test(rest)) throw new Error(`transport of '${text}' is not supported; only dns://`);
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracket) {
    rest = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (net.isIPv6(rest)) {
    // a bare IPv6 address has no port
  } else {
    const m = /^(.*):(\d+)$/.exec(rest);
    if (m) {
      rest = m[1];
      port = Number(m[2]);
    }
  }
  if (!net.isIP(rest)) throw new Error(`'${text}' is not an IP address (host names are not supported as upstreams)`);
  if (port < 1 || port > 65535) throw new Error(`invalid port in '${text}'`);
  return { host: rest, port };
}

interface Pending {
  originalId: number;
  resolve: (wire: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const UDP_SOCKETS_PER_UPSTREAM = 4;

export class Upstream {
  readonly label: string;
  fails = 0;
  private checking = false;
  private udpSockets: dgram.Socket[] = [];
  private nextSocket = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  // Reports whether a query found an open connection (CoreDNS's conn cache hit) or needed a new one.
  constructor(
    readonly address: UpstreamAddress,
    private readonly onConnection: (proto: 'udp' | 'tcp', reused: boolean) => void = () => undefined,
  ) {
    this.label = net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
  }

  isDown(maxFails: number): boolean {
    return maxFails > 0 && this.fails > maxFails;
  }

  private socket(): dgram.Socket {
    if (this.udpSockets.length < UDP_SOCKETS_PER_UPSTREAM) {
      this.onConnection('udp', false);
      const s = dgram.createSocket(net.isIPv6(this.address.host) ? 'udp6' : 'udp4');
      s.on('message', (msg) => this.onUdpReply(msg));
      s.on('error', () => undefined);
      this.udpSockets.push(s);
      return s;
    }
    this.onConnection('udp', true);
    this.nextSocket = (this.nextSocket + 1) % this.udpSockets.length;
    return this.udpSockets[this.nextSocket];
  }

  private onUdpReply(msg: Buffer): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    msg.writeUInt16BE(p.originalId, 0);
    p.resolve(msg);
  }

  private freeId(): number {
    for (;;) {
      const id = (Math.random() * 65536) | 0;
      if (!this.pending.has(id)) return id;
    }
  }

  // Sends query (a complete DNS message) and resolves with the reply, its id restored.
  exchangeUdp(query: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('upstream closed'));
    const originalId = query.readUInt16BE(0);
    const id = this.freeId();
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`read udp ${this.label}: i/o timeout`));
      }, timeoutMs);
      this.pending.set(id, { originalId, resolve, reject, timer });
      this.socket().send(out, this.address.port, this.address.host, (err) => {
        if (err) {
          this.pending.delete(id);
          clearTimeout(timer);
          reject(err);
        }
      });
    });
  }

  exchangeTcp(query: Buffer, timeoutMs: number): Promise<Buffer> {
    this.onConnection('tcp', false);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.address.host, port: this.address.port });
      let data = Buffer.alloc(0);
      const fail = (err: Error): void => {
        socket.destroy();
        reject(err);
      };
      socket.setTimeout(timeoutMs, () => fail(new Error(`read tcp ${this.label}: i/o timeout`)));
      socket.on('error', fail);
      socket.on('connect', () => {
        const frame = Buffer.allocUnsafe(2 + query.length);
        frame.writeUInt16BE(query.length, 0);
        query.copy(frame, 2);
        socket.write(frame);
      });
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          const reply = data.subarray(2, 2 + data.readUInt16BE(0));
          socket.end();
          resolve(Buffer.from(reply));
        }
      });
      socket.on('end', () => {
        if (data.length < 2 || data.length < 2 + data.readUInt16BE(0)) reject(new Error(`tcp ${this.label}: connection closed before the reply`));
      });
    });
  }

  // CoreDNS's health check: ". IN NS" (or the configured name) must get any reply.
  async check(transport: 'udp' | 'tcp', name: string, recursionDesired: boolean, timeoutMs: number): Promise<boolean> {
    const probe = dnsPacket.encode({
      id: (Math.random() * 65536) | 0,
      type: 'query',
      flags: recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ name, type: 'NS', class: 'IN' }],
    });
    try {
      if (transport === 'tcp') await this.exchangeTcp(probe, timeoutMs);
      else await this.exchangeUdp(probe, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  // Runs health checks every intervalMs until one succeeds; started after a failed query.
  startChecking(intervalMs: number, probe: () => Promise<boolean>, onFailure: () => void): void {
    if (this.checking || this.closed || intervalMs <= 0) return;
    this.checking = true;
    const loop = async (): Promise<void> => {
      while (!this.closed) {
        if (await probe()) {
          this.fails = 0;
          break;
        }
        this.fails++;
        onFailure();
        await new Promise((r) => setTimeout(r, intervalMs).unref());
      }
      this.checking = false;
    };
    void loop();
  }

  close(): void {
    this.closed = true;
    for (const s of this.udpSockets) s.close();
    this.udpSockets = [];
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('upstream closed'));
      this.pending.delete(id);
    }
  }
}
