/**
 * The agent's loop without a kernel: a fake converger, and a tiny NDJSON server in the test that plays the
 * feed contract (src/feed/target-state.ts) connection by connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { HostAgent } from '../../../../src/agents/host/agent.js';
import type { Converger, ReconcileOptions, ReconcileResult } from '../../../../src/agents/host/dataplane.js';
import { createHostAgentMetrics } from '../../../../src/agents/host/metrics.js';
import type { FeedMessage, HostTargetState } from '../../../../src/feed/target-state.js';
import { port, sampleTarget } from './fixtures.js';

interface Recorded {
  method: string;
  path: string;
  body: unknown;
}

async function feedServer(connections: ((res: ServerResponse) => void)[]) {
  const requests: Recorded[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    requests.push({ method: req.method!, path: req.url!, body: chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined });
    if (req.method === 'GET') {
      const next = connections.shift();
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (next) next(res);
      return;
    }
    res.writeHead(req.method === 'PUT' ? 200 : 204).end(req.method === 'PUT' ? '{}' : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => (server.closeAllConnections(), new Promise((r) => server.close(r))) };
}

const send = (res: ServerResponse, ...messages: FeedMessage[]) => res.write(messages.map((m) => JSON.stringify(m) + '\n').join(''));

class FakeDataPlane implements Converger {
  passes: HostTargetState[] = [];
  wired = new Set<string>();
  async reconcile(target: HostTargetState, _options: ReconcileOptions): Promise<ReconcileResult> {
    this.passes.push(structuredClone(target));
    return { wired: new Set([...this.wired].filter((id) => target.ports[id])), unmarkable: [], ipOps: 0, bridgeOps: 0, nftOps: 0 };
  }
  async presentTaps(): Promise<string[]> {
    return [...this.wired].sort();
  }
}

function agentFor(url: string, dataPlane: Converger) {
  return new HostAgent({
    host: 'h1',
    server: url,
    tunnelIp: '198.18.0.1',
    providerInterfaces: { public: 'eth-public' },
    session: { fetch: (u, init) => fetch(u, init) },
    dataPlane,
    logger: pino({ level: 'silent' }),
    metrics: createHostAgentMetrics(new Registry()),
    version: 'test',
    heartbeatIntervalMs: 50,
    resyncIntervalMs: 60_000,
    tapPollIntervalMs: 60_000,
  });
}

const until = async (what: string, probe: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('registers, heartbeats, converges only at consistent points, reports port status changes only', async () => {
  const t = sampleTarget();
  const second = port({ id: 'port2aaaaaaaaaaa', mac: 'fa:16:3e:00:00:03' });
  let stream!: ServerResponse;
  const server = await feedServer([(res) => (stream = res)]);
  const dp = new FakeDataPlane();
  dp.wired.add('port1aaaaaaaaaaa');
  const agent = agentFor(server.url, dp);
  try {
    await agent.start();
    assert.deepEqual(server.requests[0], {
      method: 'PUT',
      path: '/cloudnet/v1/hosts/h1',
      body: { host: { tunnel_ip: '198.18.0.1', provider_interfaces: { public: 'eth-public' }, agent_type: 'cloudnet-host-agent', version: 'test' } },
    });
    await until('feed connected', () => stream !== undefined);
    send(stream, { type: 'snapshot_begin', revision: 7, host: t.host }, { type: 'upsert', kind: 'network', id: 'net1aaaaaaaaaaaa', value: t.networks.net1aaaaaaaaaaaa! });
    send(stream, { type: 'upsert', kind: 'port', id: 'port1aaaaaaaaaaa', value: t.ports.port1aaaaaaaaaaa! });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(dp.passes.length, 0, 'nothing is touched before the snapshot is complete');
    send(stream, { type: 'snapshot_end', revision: 7 });
    await agent.converged();
    assert.deepEqual(Object.keys(dp.passes[0]!.ports), ['port1aaaaaaaaaaa']);
    await until('ACTIVE reported', () => server.requests.some((r) => r.path.endsWith('/port-status')));
    assert.deepEqual(server.requests.filter((r) => r.path.endsWith('/port-status')).map((r) => r.body), [{ ports: { port1aaaaaaaaaaa: 'ACTIVE' } }]);

    send(stream, { type: 'upsert', kind: 'port', id: second.id, value: second }, { type: 'revision', revision: 9 });
    await until('second pass', () => dp.passes.length >= 2);
    await until('DOWN reported for the unplugged port', () => server.requests.filter((r) => r.path.endsWith('/port-status')).length === 2);
    assert.deepEqual(server.requests.filter((r) => r.path.endsWith('/port-status'))[1]!.body, { ports: { port2aaaaaaaaaaa: 'DOWN' } });
    await until('heartbeats', () => server.requests.filter((r) => r.path.endsWith('/heartbeat')).length >= 2);
  } finally {
    await agent.stop();
    await server.close();
  }
});

test('after a drop, the agent resumes from the last consistent revision and keeps its state', async () => {
  const t = sampleTarget();
  const server = await feedServer([
    (res) => {
      send(res, { type: 'snapshot_begin', revision: 7, host: t.host }, { type: 'upsert', kind: 'port', id: 'port1aaaaaaaaaaa', value: t.ports.port1aaaaaaaaaaa! }, { type: 'snapshot_end', revision: 7 });
      // A step cut off before its revision marker: held, but never converged on.
      send(res, { type: 'delete', kind: 'port', id: 'port1aaaaaaaaaaa' });
      setTimeout(() => res.destroy(), 50);
    },
    (res) => send(res, { type: 'delete', kind: 'port', id: 'port1aaaaaaaaaaa' }, { type: 'revision', revision: 8 }),
  ]);
  const dp = new FakeDataPlane();
  const agent = agentFor(server.url, dp);
  try {
    await agent.start();
    await until('two passes', () => dp.passes.length >= 2);
    const gets = server.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    assert.deepEqual(gets, ['/cloudnet/v1/hosts/h1/target?since=0', '/cloudnet/v1/hosts/h1/target?since=7']);
    assert.deepEqual(dp.passes.map((p) => [p.revision, Object.keys(p.ports)]), [[7, ['port1aaaaaaaaaaa']], [8, []]]);
  } finally {
    await agent.stop();
    await server.close();
  }
});
