/**
 * The lab's control API: a small HTTP/JSON service on a Unix socket in DIR, served by the `lab up` process.
 * `cloudnet lab vm create` and friends in other shells are its clients, so the one process that owns the
 * lab's processes and `lab.json` is the only one that changes them.
 *
 *   GET    /state                  the lab's state (what lab.json holds)
 *   POST   /vms                    {name, network, host?, securityGroups?, fixedIps?, allowedAddresses?, portSecurity?} -> the VM
 *   DELETE /vms/NAME
 *   POST   /agents/HOST/stop       stop a host's agent (e.g. to watch its ports go DOWN)
 *   POST   /agents/HOST/start
 *   POST   /amphorae               {amphoraId, ports, avoidHosts} -> {host, computeId}: an amphora VM and its agent
 *   POST   /amphorae/ID/ports      {portId}: plug one more port into it
 *   DELETE /amphorae/ID
 * The amphora routes are the lab's compute service for `cloudnet server --compute lab:SOCKET`.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import type { Logger } from '../lib/logger.js';
import type { AmphoraVm, AmphoraVmRequest, Compute } from '../controllers/balancer/compute.js';
import type { LabState, VmRecord } from './state.js';
import type { VmPortRequest } from './vm-port.js';

/** A failure the control API reports to its client with a status code. */
export class LabError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A VM with one port; `VmPortRequest` says what the port asks for. */
export interface VmRequest extends VmPortRequest {
  name: string;
  host?: string;
}

/** What the control API serves: implemented by the running lab, which is also a compute service for amphorae. */
export interface LabControl extends Compute {
  state(): LabState;
  createVm(request: VmRequest): Promise<VmRecord>;
  deleteVm(name: string): Promise<void>;
  stopAgent(host: string): Promise<void>;
  startAgent(host: string): Promise<void>;
}

export async function serveControl(socketPath: string, lab: LabControl, logger: Logger): Promise<Server> {
  // A socket file left by a crashed lab would make listen fail with EADDRINUSE.
  rmSync(socketPath, { force: true });
  const server = createServer((req, res) => {
    handle(lab, req)
      .then((body) => reply(res, 200, body))
      .catch((err: unknown) => {
        const status = err instanceof LabError ? err.status : 500;
        if (status === 500) logger.error({ err, method: req.method, url: req.url }, 'lab control request failed');
        reply(res, status, { error: err instanceof Error ? err.message : String(err) });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return server;
}

async function handle(lab: LabControl, req: IncomingMessage): Promise<unknown> {
  const path = new URL(req.url ?? '/', 'http://lab').pathname;
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const route = `${req.method} /${parts.map((p, i) => (i % 2 === 1 ? ':' : p)).join('/')}`;
  switch (route) {
    case 'GET /state':
      return lab.state();
    case 'POST /vms':
      return lab.createVm(vmRequest(await readJson(req)));
    case 'DELETE /vms/:':
      await lab.deleteVm(parts[1]);
      return {};
    case 'POST /agents/:/stop':
      await lab.stopAgent(parts[1]);
      return {};
    case 'POST /agents/:/start':
      await lab.startAgent(parts[1]);
      return {};
    case 'POST /amphorae':
      return lab.createAmphoraVm(amphoraRequest(await readJson(req)));
    case 'POST /amphorae/:/ports': {
      const body = (await readJson(req)) as { portId?: unknown } | null;
      if (typeof body?.portId !== 'string') throw new LabError(400, 'a port request is {portId}');
      await lab.attachPort(parts[1], body.portId);
      return {};
    }
    case 'DELETE /amphorae/:':
      await lab.deleteAmphoraVm(parts[1]);
      return {};
    default:
      throw new LabError(404, `no such lab control route: ${req.method} ${path}`);
  }
}

function vmRequest(body: unknown): VmRequest {
  const b = body as Partial<VmRequest> | null;
  const optional = (v: unknown, ok: (x: unknown) => boolean) => v === undefined || ok(v);
  const text = (x: unknown) => typeof x === 'string';
  const listOf = (item: (x: unknown) => boolean) => (v: unknown) => Array.isArray(v) && v.every(item);
  const fields = (x: unknown, shape: Record<string, boolean>) => typeof x === 'object' && x !== null && Object.entries(x).every(([k, v]) => k in shape && text(v));
  const valid =
    b &&
    text(b.name) &&
    text(b.network) &&
    optional(b.host, text) &&
    optional(b.securityGroups, listOf(text)) &&
    optional(b.fixedIps, listOf((f) => fields(f, { subnet: true, ipAddress: true }))) &&
    optional(b.allowedAddresses, listOf((a) => fields(a, { ipAddress: true, macAddress: true }) && text((a as { ipAddress?: unknown }).ipAddress))) &&
    optional(b.portSecurity, (x) => typeof x === 'boolean');
  if (!valid) {
    throw new LabError(
      400,
      'a VM request is {name, network, host?, securityGroups?: string[], fixedIps?: {subnet?, ipAddress?}[], allowedAddresses?: {ipAddress, macAddress?}[], portSecurity?: boolean}',
    );
  }
  return {
    name: b.name!,
    network: b.network!,
    host: b.host,
    securityGroups: b.securityGroups,
    fixedIps: b.fixedIps,
    allowedAddresses: b.allowedAddresses,
    portSecurity: b.portSecurity,
  };
}

function amphoraRequest(body: unknown): AmphoraVmRequest {
  const b = body as Partial<AmphoraVmRequest> | null;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!b || typeof b.amphoraId !== 'string' || !strings(b.ports) || !b.ports!.length || !strings(b.avoidHosts)) {
    throw new LabError(400, 'an amphora request is {amphoraId, ports: string[] (at least one), avoidHosts: string[]}');
  }
  return { amphoraId: b.amphoraId, ports: b.ports!, avoidHosts: b.avoidHosts! };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new LabError(400, 'the request body is not JSON');
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The client side, for other shells; for `cloudnet server --compute lab:SOCKET` it is the compute service. */
export class LabControlClient implements Compute {
  constructor(private readonly socketPath: string) {}

  state(): Promise<LabState> {
    return this.call('GET', '/state');
  }

  createVm(vm: VmRequest): Promise<VmRecord> {
    return this.call('POST', '/vms', vm);
  }

  async deleteVm(name: string): Promise<void> {
    await this.call('DELETE', `/vms/${encodeURIComponent(name)}`);
  }

  async stopAgent(host: string): Promise<void> {
    await this.call('POST', `/agents/${encodeURIComponent(host)}/stop`);
  }

  async startAgent(host: string): Promise<void> {
    await this.call('POST', `/agents/${encodeURIComponent(host)}/start`);
  }

  createAmphoraVm(request: AmphoraVmRequest): Promise<AmphoraVm> {
    return this.call('POST', '/amphorae', request);
  }

  async attachPort(computeId: string, portId: string): Promise<void> {
    await this.call('POST', `/amphorae/${encodeURIComponent(computeId)}/ports`, { portId });
  }

  async deleteAmphoraVm(computeId: string): Promise<void> {
    await this.call('DELETE', `/amphorae/${encodeURIComponent(computeId)}`);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as T & { error?: string };
          if (res.statusCode === 200) resolve(parsed);
          else reject(new LabError(res.statusCode ?? 500, parsed?.error ?? `HTTP ${res.statusCode}`));
        });
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new Error(`the lab is not running (no one answers on ${this.socketPath}); start it with 'cloudnet lab up'`) : err),
      );
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
}
