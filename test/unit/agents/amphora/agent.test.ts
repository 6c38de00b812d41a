import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { haproxyCommand } from '../../../../src/agents/amphora/runtime-socket.js';
import { parseShowProc } from '../../../../src/agents/amphora/show-proc.js';
import type { AmphoraHealthReport, AmphoraTarget } from '../../../../src/agents/amphora/target.js';
import { processStartTime } from '../../../../src/lib/proc.js';
import { startTestServer, type TestServer } from '../../../support/server.js';
import { eventually, Topology } from '../../../e2e/host-agent/topology.js';
import { balancer, listener, member, pool } from './fixtures.js';
import { requests, startMember } from './traffic.js';

const CLI = ['node', '--import', 'tsx', 'src/cli/main.ts', 'amphora-agent'];

describe('cloudnet amphora-agent (command line)', () => {
  it('--help documents the flags; the four identifying flags are required (exit 2)', async () => {
    const { stdout } = await promisify(execFile)(CLI[0]!, [...CLI.slice(1), '--help']);
    for (const flag of ['--amphora-id', '--server', '--netns', '--state-dir', '--health-interval', '--metrics-listen', '--os-auth-url']) assert.ok(stdout.includes(flag), flag);
    await assert.rejects(promisify(execFile)(CLI[0]!, [...CLI.slice(1), '--amphora-id', 'a1', '--server', 'http://127.0.0.1:1']), (err: { code: number; stderr: string }) => err.code === 2 && /are required/.test(err.stderr));
  });
});

/**
 * The whole agent as the lab starts it, against the real Keystone and a stand-in for the server's amphora
 * endpoints (built in another branch): a SINGLE amphora whose VIP goes straight onto its interface.
 */
describe('cloudnet amphora-agent against the target stream', { skip: process.getuid?.() !== 0 && 'needs root for network namespaces', timeout: 120_000 }, () => {
  const topology = new Topology();
  const stateDir = mkdtempSync(join(tmpdir(), 'cloudnet-amphora-agent-'));
  let keystone: TestServer;
  let endpoints: Server;
  let endpointsUrl = '';
  const streams = new Set<ServerResponse>();
  let connects = 0;
  const reports: { token: string | undefined; body: AmphoraHealthReport }[] = [];
  let current: AmphoraTarget | undefined;
  let client = '';
  let amphora = '';

  const target = (revision: number, weight = 1): AmphoraTarget => ({
    amphoraId: 'a1',
    loadBalancerId: 'lb1',
    configRevision: revision,
    loadBalancer: balancer({
      vipAddress: '198.18.0.100',
      listeners: [listener({ id: 'l1', protocol: 'TCP', protocolPort: 80 })],
      pools: [pool({ id: 'p1', protocol: 'TCP', members: [member({ id: 'm1', address: '198.18.0.21', protocolPort: 8080, weight })] })],
    }),
    vrrp: null,
    vipInterface: 'uplink',
    certificates: {},
    haproxyPeers: null,
  });

  const publish = (t: AmphoraTarget) => {
    current = t;
    for (const res of streams) res.write(JSON.stringify({ type: 'target', target: t }) + '\n');
  };

  // The interval is far longer than the test: every report it sees is the one the agent sends right after an apply.
  const startAgent = (): ChildProcess & { output: () => string } =>
    topology.spawn([...CLI, '--amphora-id', 'a1', '--server', endpointsUrl, '--netns', amphora, '--state-dir', stateDir, '--health-interval', '600', '--metrics-listen', '127.0.0.1:0'], keystone.openrcEnv('admin'));

  const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

  const haproxyPid = () => Number(readFileSync(join(stateDir, 'haproxy.pid'), 'utf8').trim());
  // A daemon that has exited but waits to be reaped (by init, once its agent is gone) counts as gone.
  const alive = (pid: number) => processStartTime(pid) !== undefined;
  const showProcReloads = async () => parseShowProc(await haproxyCommand(join(stateDir, 'haproxy-master.sock'), 'show proc')).reloads;

  before(async () => {
    keystone = await startTestServer({ dialect: 'sqlite', apis: [] });
    endpoints = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/cloudnet/v1/amphorae/a1/target') {
        connects++;
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        streams.add(res);
        res.on('close', () => streams.delete(res));
        if (current) res.write(JSON.stringify({ type: 'target', target: current }) + '\n');
        return;
      }
      if (req.method === 'PUT' && req.url === '/cloudnet/v1/amphorae/a1/health') {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          reports.push({ token: req.headers['x-auth-token'] as string | undefined, body: JSON.parse(body) as AmphoraHealthReport });
          res.writeHead(204).end();
        });
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => endpoints.listen(0, '127.0.0.1', r));
    endpointsUrl = `http://127.0.0.1:${(endpoints.address() as AddressInfo).port}`;
    const heartbeat = setInterval(() => streams.forEach((s) => s.write('{"type":"heartbeat"}\n')), 500);
    endpoints.on('close', () => clearInterval(heartbeat));

    await topology.createFabric();
    client = await topology.addHost('client', '198.18.0.2');
    amphora = await topology.addHost('amp', '198.18.0.11');
    const memberNs = await topology.addHost('m1', '198.18.0.21');
    await startMember(topology, memberNs, '198.18.0.21', 8080, 'm1');
  });

  after(async () => {
    await topology.cleanup();
    endpoints.closeAllConnections();
    await new Promise((r) => endpoints.close(r));
    await keystone.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const lastReport = () => reports.at(-1)?.body;

  it('applies the streamed target, puts the VIP on its interface, reports health with a Keystone token', async () => {
    const agent = startAgent();
    // A balancer just created has no listener yet: HAProxy runs anyway (its runtime socket is its listener).
    publish({ ...target(0), loadBalancer: balancer({ vipAddress: '198.18.0.100', listeners: [], pools: [] }) });
    await eventually('revision 0 reported', async () => lastReport()?.appliedConfigRevision === 0, 30_000);
    assert.equal(lastReport()!.haproxy, 'RUNNING', agent.output());
    publish(target(1));
    await eventually('revision 1 reported', async () => lastReport()?.appliedConfigRevision === 1, 30_000);
    const report = lastReport()!;
    assert.equal(report.haproxy, 'RUNNING', agent.output());
    assert.equal(report.vrrpState, null);
    assert.equal(report.applyError, null);
    assert.equal(report.listeners.l1!.status, 'OPEN');
    assert.ok(reports.every((r) => r.token && r.token.length > 10), 'each report carries a token');
    assert.match(await topology.exec(amphora, ['ip', '-br', 'addr', 'show', 'uplink']), /198\.18\.0\.100\/32/);
    assert.deepEqual((await requests(topology, client, 'http://198.18.0.100/', 3)).map((a) => a.body ?? a.error), ['m1', 'm1', 'm1']);

    publish(target(2, 5));
    await eventually('revision 2 reported', async () => lastReport()?.appliedConfigRevision === 2, 10_000);
    const metricsUrl = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(agent.output())?.[1];
    assert.ok(metricsUrl, 'the agent logs where its metrics are');
    const metrics = await (await fetch(metricsUrl)).text();
    assert.match(metrics, /cloudnet_amphora_agent_applies_total\{action="start"\} 1/);
    assert.match(metrics, /cloudnet_amphora_agent_applies_total\{action="runtime"\} 1/);
    assert.match(metrics, /cloudnet_amphora_agent_applied_config_revision 2/);
    assert.match(metrics, /cloudnet_amphora_agent_health_reports_total\{result="ok"\} [1-9]/);
    const pid = haproxyPid();

    // A dropped stream is followed again; the same target again changes nothing.
    const before = connects;
    for (const s of streams) s.destroy();
    await eventually('reconnected', async () => connects > before, 10_000);
    assert.equal(haproxyPid(), pid);

    // An orderly stop (an upgrade) leaves the data plane serving.
    agent.kill('SIGTERM');
    assert.equal(await exited(agent), 0, agent.output());
    assert.ok(alive(pid), 'HAProxy outlives the agent');
    assert.deepEqual((await requests(topology, client, 'http://198.18.0.100/', 2)).map((a) => a.body ?? a.error), ['m1', 'm1']);
  });

  it('a new agent adopts the HAProxy the previous one left, without a reload, and supervises it', async () => {
    const pid = haproxyPid();
    const reloads = await showProcReloads();
    const reported = reports.length;
    const agent = startAgent();
    await eventually('revision 2 reported again', async () => reports.length > reported && lastReport()?.appliedConfigRevision === 2, 30_000);
    assert.equal(lastReport()!.haproxy, 'RUNNING');
    assert.equal(lastReport()!.listeners.l1!.status, 'OPEN', 'the first report after adoption knows the listeners');
    assert.ok(reports.slice(reported).every((r) => r.body.appliedConfigRevision === 2), 'no report before the first apply');
    assert.equal(haproxyPid(), pid, 'the same HAProxy master');
    assert.equal(await showProcReloads(), reloads, 'the same config: no reload');
    assert.match(agent.output(), /adopted the daemon a previous agent left running/);

    // Supervised as if it had started it: an adopted HAProxy that dies is started again.
    process.kill(pid, 'SIGKILL');
    await eventually('HAProxy started again', async () => alive(haproxyPid()) && haproxyPid() !== pid, 10_000);
    assert.deepEqual((await requests(topology, client, 'http://198.18.0.100/', 2)).map((a) => a.body ?? a.error), ['m1', 'm1']);

    // A crashed agent leaves it running too.
    const restarted = haproxyPid();
    agent.kill('SIGKILL');
    await exited(agent);
    assert.ok(alive(restarted), 'HAProxy outlives a killed agent');
  });

  it('exits non-zero, with the HAProxy it adopted stopped, when the namespace is deleted', async () => {
    const agent = startAgent();
    publish(target(3));
    await eventually('revision 3 reported', async () => lastReport()?.appliedConfigRevision === 3 && lastReport()?.haproxy === 'RUNNING', 30_000);
    const pid = haproxyPid();
    execFileSync('ip', ['netns', 'del', amphora]);
    assert.equal(await exited(agent), 1, agent.output());
    assert.match(agent.output(), /namespace is gone/);
    assert.ok(!alive(pid), 'HAProxy stopped');
  });
});
