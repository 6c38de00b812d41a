// Test clients: a DNS library query (dns-packet over UDP or TCP) and dig, to 127.0.0.1 or inside a test's own
// network namespace.
import dgram from 'node:dgram';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import dnsPacket, { type Packet } from 'dns-packet';

const execFileAsync = promisify(execFile);

export interface QueryOptions {
  tcp?: boolean;
  // null: no EDNS0 OPT record.
  ednsSize?: number | null;
  timeoutMs?: number;
}

export function encodeQuery(name: string, type: string, ednsSize: number | null, id = (Math.random() * 65536) | 0): Buffer {
  const additionals = ednsSize === null ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: ednsSize, flags: 0, options: [] }];
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }], additionals: additionals as unknown as Packet["additionals"] });
}

export async function sendRaw(port: number, wire: Buffer, tcp = false, timeoutMs = 3000): Promise<Buffer> {
  if (tcp) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let data = Buffer.alloc(0);
      socket.setTimeout(timeoutMs, () => {
        socket.destroy();
        reject(new Error('tcp timeout'));
      });
      socket.on('error', reject);
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(wire.length);
        socket.write(Buffer.concat([len, wire]));
      });
      socket.on('data', (c: Buffer) => {
        data = Buffer.concat([data, c]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          socket.end();
          resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
        }
      });
    });
  }
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('udp timeout'));
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(wire, port, '127.0.0.1');
  });
}

export async function query(port: number, name: string, type: string, o: QueryOptions = {}): Promise<Packet & { rcode: string; flag_tc: boolean; flag_aa: boolean }> {
  const wire = encodeQuery(name, type, o.ednsSize === undefined ? 1232 : o.ednsSize);
  const answer = await sendRaw(port, wire, o.tcp, o.timeoutMs);
  return dnsPacket.decode(answer) as unknown as Packet & { rcode: string; flag_tc: boolean; flag_aa: boolean };
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  raw: string;
}

function section(raw: string, title: string): string[] {
  const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(raw);
  if (!m) return [];
  return m[1].split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.replace(/\s+/g, ' ').trim());
}

function parseDig(stdout: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? '';
  const flags = (/;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
  return { status, flags, answer: section(stdout, 'ANSWER'), authority: section(stdout, 'AUTHORITY'), additional: section(stdout, 'ADDITIONAL'), raw: stdout };
}

const digArgs = (server: string, port: number, name: string, type: string, args: string[]): string[] => [`@${server}`, '-p', String(port), name, type, '+tries=1', '+time=3', ...args];

export async function dig(port: number, name: string, type = 'A', args: string[] = []): Promise<DigResult> {
  return parseDig((await execFileAsync('dig', digArgs('127.0.0.1', port, name, type, args))).stdout);
}

/** dig run inside a network namespace of the test's own, to a server in that namespace. */
export async function digInNetns(netns: string, server: string, port: number, name: string, type = 'A'): Promise<DigResult> {
  return parseDig((await execFileAsync('ip', ['netns', 'exec', netns, 'dig', ...digArgs(server, port, name, type, [])])).stdout);
}
