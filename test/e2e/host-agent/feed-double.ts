/**
 * A TEST DOUBLE of the server side of the host feed, written to the contract in src/feed/target-state.ts
 * and the endpoints in the host-agent brief, because the real feed (src/feed/, the lead's work) has not
 * landed on main yet. Replace with the real `cloudnet server` once it has.
 *
 * It holds a whole small cloud, computes each host's slice the simple way (recompute, diff, send the
 * difference), and serves: Keystone token issue, register, heartbeat, port-status and the NDJSON stream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  emptyTargetState,
  type FeedMessage,
  type HostTargetState,
  type LocalPort,
  type TargetKind,
  type TargetNetwork,
  type TargetSecurityGroup,
} from '../../../src/feed/target-state.js';

export interface CloudPort extends LocalPort {
  host: string;
}

export interface Cloud {
  hosts: Record<string, { tunnelIp: string; providerInterfaces: Record<string, string> }>;
  networks: Record<string, TargetNetwork>;
  ports: Record<string, CloudPort>;
  securityGroups: Record<string, TargetSecurityGroup>;
}

/** One host's slice of the cloud: what the relevance index would compute. */
export function sliceFor(cloud: Cloud, host: string, revision: number): HostTargetState {
  const info = cloud.hosts[host] ?? { tunnelIp: '', providerInterfaces: {} };
  const s = emptyTargetState({ name: host, ...info });
  s.revision = revision;
  for (const p of Object.values(cloud.ports)) {
    if (p.host !== host) continue;
    const { host: _bound, ...port } = p;
    s.ports[p.id] = port;
    s.networks[p.networkId] = cloud.networks[p.networkId]!;
    for (const g of p.securityGroupIds) s.securityGroups[g] = cloud.securityGroups[g]!;
  }
  for (const p of Object.values(cloud.ports)) {
    if (p.host === host || !s.networks[p.networkId]) continue;
    s.remotePorts[p.id] = { id: p.id, networkId: p.networkId, mac: p.mac, ipAddresses: p.fixedIps.map((f) => f.ipAddress), tunnelIp: cloud.hosts[p.host]!.tunnelIp };
  }
  for (const sg of Object.values(s.securityGroups)) {
    for (const r of sg.rules) {
      if (!r.remoteGroupId) continue;
      const members = Object.values(cloud.ports).filter((p) => p.securityGroupIds.includes(r.remoteGroupId!));
      const addresses = members.flatMap((p) => [...p.fixedIps.map((f) => f.ipAddress), ...p.allowedAddressPairs.map((a) => a.ipAddress)]);
      s.addressSets[r.remoteGroupId] = { securityGroupId: r.remoteGroupId, addresses: [...new Set(addresses)].sort() };
    }
  }
  return s;
}

const KINDS: [TargetKind, 'networks' | 'ports' | 'remotePorts' | 'securityGroups' | 'addressSets'][] = [
  ['network', 'networks'],
  ['securityGroup', 'securityGroups'],
  ['addressSet', 'addressSets'],
  ['remotePort', 'remotePorts'],
  ['port', 'ports'],
];

function diff(before: HostTargetState, after: HostTargetState): FeedMessage[] {
  const out: FeedMessage[] = [];
  for (const [kind, key] of KINDS) {
    const a = before[key] as Record<string, unknown>;
    const b = after[key] as Record<string, unknown>;
    for (const id of Object.keys(b)) if (JSON.stringify(a[id]) !== JSON.stringify(b[id])) out.push({ type: 'upsert', kind, id, value: b[id] as never });
    for (const id of Object.keys(a)) if (!(id in b)) out.push({ type: 'delete', kind, id });
  }
  return out;
}

function snapshot(s: HostTargetState): FeedMessage[] {
  return [{ type: 'snapshot_begin', revision: s.revision, host: s.host }, ...diff(emptyTargetState(s.host), s), { type: 'snapshot_end', revision: s.revision }];
}

export class FeedDouble {
  revision = 1;
  readonly cloud: Cloud = { hosts: {}, networks: {}, ports: {}, securityGroups: {} };
  readonly portStatus = new Map<string, string>();
  readonly heartbeats = new Map<string, number>();
  private readonly slices = new Map<string, HostTargetState>();
  private readonly log = new Map<string, { revision: number; messages: FeedMessage[] }[]>();
  private readonly streams = new Map<string, Set<ServerResponse>>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    const beat = setInterval(() => {
      for (const [host, set] of this.streams) for (const res of set) res.write(JSON.stringify({ type: 'heartbeat', revision: this.slices.get(host)?.revision ?? 0 }) + '\n');
    }, 1000);
    this.server.on('close', () => clearInterval(beat));
  }

  async stop(): Promise<void> {
    for (const set of this.streams.values()) for (const res of set) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Edit the cloud, then send every host the difference of its slice at a new revision. */
  change(edit: (cloud: Cloud) => void): number {
    edit(this.cloud);
    const revision = ++this.revision;
    for (const host of Object.keys(this.cloud.hosts)) {
      const before = this.slices.get(host) ?? emptyTargetState({ name: host, ...this.cloud.hosts[host]! });
      const after = sliceFor(this.cloud, host, revision);
      const messages = diff(before, after);
      this.slices.set(host, after);
      if (!messages.length) continue;
      messages.push({ type: 'revision', revision });
      const entries = this.log.get(host) ?? [];
      entries.push({ revision, messages });
      this.log.set(host, entries);
      for (const res of this.streams.get(host) ?? []) for (const m of messages) res.write(JSON.stringify(m) + '\n');
    }
    return revision;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    if (req.method === 'POST' && url.pathname === '/identity/v3/auth/tokens') {
      res.writeHead(201, { 'x-subject-token': 'test-token', 'content-type': 'application/json' }).end(JSON.stringify({ token: { expires_at: new Date(Date.now() + 3_600_000).toISOString() } }));
      return;
    }
    if (req.headers['x-auth-token'] !== 'test-token') return void res.writeHead(401).end();
    const m = /^\/cloudnet\/v1\/hosts\/([^/]+)(?:\/(heartbeat|port-status|target))?$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    const host = decodeURIComponent(m[1]!);
    if (req.method === 'PUT' && !m[2]) {
      this.heartbeats.set(host, Date.now());
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
    if (req.method === 'POST' && m[2] === 'heartbeat') {
      this.heartbeats.set(host, Date.now());
      return void res.writeHead(204).end();
    }
    if (req.method === 'POST' && m[2] === 'port-status') {
      for (const [id, status] of Object.entries((body as { ports: Record<string, string> }).ports)) this.portStatus.set(id, status);
      return void res.writeHead(204).end();
    }
    if (req.method === 'GET' && m[2] === 'target') {
      const since = Number(url.searchParams.get('since') ?? 0);
      const slice = this.slices.get(host) ?? sliceFor(this.cloud, host, this.revision);
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const messages = since === 0 ? snapshot(slice) : (this.log.get(host) ?? []).filter((e) => e.revision > since).flatMap((e) => e.messages);
      for (const msg of messages) res.write(JSON.stringify(msg) + '\n');
      const set = this.streams.get(host) ?? new Set();
      set.add(res);
      this.streams.set(host, set);
      res.on('close', () => set.delete(res));
      return;
    }
    res.writeHead(405).end();
  }
}
