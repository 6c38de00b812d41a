/**
 * Traffic for the amphora reconciler's namespace test: member servers that answer with their name, and a
 * client loop that requests a URL at a fixed pace, one new TCP connection per request, and prints one JSON
 * line per attempt. Both are plain `node -e` scripts run inside network namespaces (by PID, stopped at cleanup).
 */
import type { ChildProcess } from 'node:child_process';
import type { Topology } from '../../../e2e/host-agent/topology.js';

const MEMBER_SCRIPT = `
const [address, port, name] = process.argv.slice(1);
require('node:http').createServer((req, res) => res.writeHead(200, { connection: 'close' }).end(name)).listen(Number(port), address, () => console.log('listening'));
`;

const CLIENT_SCRIPT = `
const http = require('node:http');
const [url, count, intervalMs, timeoutMs] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
const started = Date.now();
const once = () => new Promise((resolve) => {
  const t = Date.now() - started;
  const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ t, ok: res.statusCode === 200, body }));
    res.on('error', (e) => resolve({ t, ok: false, error: e.message }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve({ t, ok: false, error: e.message }));
});
(async () => {
  for (let i = 0; i < count; i++) {
    const next = Date.now() + intervalMs;
    console.log(JSON.stringify(await once()));
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
})();
`;

export interface Attempt {
  t: number;
  ok: boolean;
  body?: string;
  error?: string;
}

export async function startMember(topology: Topology, ns: string, address: string, port: number, name: string): Promise<ChildProcess> {
  const child = topology.spawn(['ip', 'netns', 'exec', ns, 'node', '-e', MEMBER_SCRIPT, address, String(port), name]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`member ${name} exited (${code}): ${child.output()}`)));
  });
  return child;
}

/** `count` requests, `intervalMs` apart (bounded in count and time); resolves with every attempt. */
export function requests(topology: Topology, ns: string, url: string, count: number, intervalMs = 20, timeoutMs = 1000): Promise<Attempt[]> {
  return clientLoop(topology, ns, url, count, intervalMs, timeoutMs).done;
}

/** A client loop in the background; `stop()` ends it early and resolves with the attempts made so far. */
export function clientLoop(topology: Topology, ns: string, url: string, count: number, intervalMs = 20, timeoutMs = 1000) {
  const child = topology.spawn(['ip', 'netns', 'exec', ns, 'node', '-e', CLIENT_SCRIPT, url, String(count), String(intervalMs), String(timeoutMs)]);
  const attempts = () =>
    child
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Attempt);
  const done = new Promise<Attempt[]>((resolve) => child.once('exit', () => resolve(attempts())));
  return {
    done,
    /** Attempts so far (for waiting on the loop to have started). */
    attempts,
    stop: async () => (await topology.stopChild(child), done),
  };
}

/** The longest time between two successful attempts (a failed stretch counts whole), and the failures. */
export function longestGapMs(attempts: Attempt[]): number {
  let last: number | undefined;
  let longest = 0;
  for (const a of attempts) {
    if (!a.ok) continue;
    if (last !== undefined) longest = Math.max(longest, a.t - last);
    last = a.t;
  }
  return longest;
}

const UDP_MEMBER_SCRIPT = `
const [address, port, name] = process.argv.slice(1);
const socket = require('node:dgram').createSocket(address.includes(':') ? 'udp6' : 'udp4');
socket.on('message', (message, from) => socket.send(name, from.port, from.address));
socket.bind(Number(port), address, () => console.log('listening'));
`;

/**
 * Sends \`count\` datagrams, \`intervalMs\` apart, each answered within \`timeoutMs\` or failed. With \`sourcePort\`
 * 0 every datagram comes from a new socket (a new flow for conntrack); otherwise all from one socket bound to
 * that port (one flow).
 */
const UDP_CLIENT_SCRIPT = `
const dgram = require('node:dgram');
const [host, port, count, intervalMs, timeoutMs, sourcePort] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
const family = host.includes(':') ? 'udp6' : 'udp4';
const started = Date.now();
let shared;
const open = () => new Promise((resolve) => {
  if (shared) return resolve(shared);
  const socket = dgram.createSocket(family);
  socket.on('error', () => {});
  socket.bind(sourcePort, () => { if (sourcePort) shared = socket; resolve(socket); });
});
const once = async () => {
  const t = Date.now() - started;
  const socket = await open();
  return new Promise((resolve) => {
    const end = (result) => { clearTimeout(timer); socket.removeAllListeners('message'); socket.removeAllListeners('error'); socket.on('error', () => {}); if (!sourcePort) socket.close(); resolve(result); };
    const timer = setTimeout(() => end({ t, ok: false, error: 'timeout' }), timeoutMs);
    socket.on('message', (m) => end({ t, ok: true, body: String(m) }));
    socket.on('error', (e) => end({ t, ok: false, error: e.code }));
    socket.send('hello', port, host);
  });
};
(async () => {
  for (let i = 0; i < count; i++) {
    const next = Date.now() + intervalMs;
    console.log(JSON.stringify(await once()));
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  process.exit(0);
})();
`;

/** A UDP server on address:port that answers every datagram with its name. */
export async function startUdpMember(topology: Topology, ns: string, address: string, port: number, name: string): Promise<ChildProcess> {
  const child = topology.spawn(['ip', 'netns', 'exec', ns, 'node', '-e', UDP_MEMBER_SCRIPT, address, String(port), name]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`UDP member ${name} exited (${code}): ${child.output()}`)));
  });
  return child;
}

/** `count` datagrams to host:port (see UDP_CLIENT_SCRIPT for `sourcePort`); resolves with every attempt. */
export function udpRequests(topology: Topology, ns: string, host: string, port: number, count: number, options: { intervalMs?: number; timeoutMs?: number; sourcePort?: number } = {}): Promise<Attempt[]> {
  const { intervalMs = 20, timeoutMs = 500, sourcePort = 0 } = options;
  const child = topology.spawn(['ip', 'netns', 'exec', ns, 'node', '-e', UDP_CLIENT_SCRIPT, host, String(port), String(count), String(intervalMs), String(timeoutMs), String(sourcePort)]);
  return new Promise((resolve) =>
    child.once('exit', () =>
      resolve(
        child
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Attempt),
      ),
    ),
  );
}
