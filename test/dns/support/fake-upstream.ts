// A scriptable upstream resolver on 127.0.0.1 (UDP and TCP) that records what it was asked.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';

export interface FakeUpstream {
  port: number;
  seen: { name: string; type: string; proto: 'udp' | 'tcp' }[];
  // Behaviour knobs tests flip while running.
  ttl: number;
  delayMs: number;
  silent: boolean;
  truncateUdp: boolean;
  nxdomain: Set<string>;
  close(): Promise<void>;
}

export async function startFakeUpstream(address = '10.6.6.6'): Promise<FakeUpstream> {
  // The UDP socket picks the port; TCP may find it taken (by an outgoing connection), then pick again.
  let udp: dgram.Socket;
  let tcp: net.Server;
  for (let attempt = 1; ; attempt++) {
    udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    tcp = net.createServer();
    const listening = await new Promise<boolean>((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(udp.address().port, '127.0.0.1', () => r(true));
    });
    if (listening) break;
    udp.close();
    if (attempt === 20) throw new Error('no port free for both UDP and TCP');
  }
  const port = udp.address().port;
  const connections = new Set<net.Socket>();
  const u: FakeUpstream = {
    port,
    seen: [],
    ttl: 30,
    delayMs: 0,
    silent: false,
    truncateUdp: false,
    nxdomain: new Set(),
    close: async () => {
      u.silent = true;
      udp.close();
      for (const c of connections) c.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
  const answer = (msg: Buffer, proto: 'udp' | 'tcp'): Buffer | null => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0];
    u.seen.push({ name: question.name, type: question.type, proto });
    if (u.silent) return null;
    const name = question.name.toLowerCase();
    const base = { id: q.id, type: 'response' as const, questions: q.questions };
    if (u.nxdomain.has(name)) {
      return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_AVAILABLE | 3, authorities: [{ name: 'test', type: 'SOA', ttl: 60, data: { mname: 'ns.test', rname: 'h.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 10 } }] } as Packet);
    }
    if (proto === 'udp' && u.truncateUdp) return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
    return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_AVAILABLE, answers: question.type === 'A' ? [{ name: question.name, type: 'A', ttl: u.ttl, data: address }] : [] });
  };
  let closed = false;
  udp.on('close', () => (closed = true));
  udp.on('message', (msg, rinfo) => {
    setTimeout(() => {
      const r = answer(msg, 'udp');
      if (r && !closed) udp.send(r, rinfo.port, rinfo.address);
    }, u.delayMs);
  });
  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    let buf = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const r = answer(msg, 'tcp');
        if (r) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(r.length);
          socket.write(Buffer.concat([len, r]));
        }
      }
    });
  });
  return u;
}
