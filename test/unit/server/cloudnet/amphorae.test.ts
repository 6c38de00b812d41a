// The amphora endpoints and the balancer controller behind them, on SQLite and PostgreSQL: a balancer made
// through the Load Balancer API gets its VIP port, security group, two amphorae with VRRP ports on different
// hosts; it turns ACTIVE once both amphorae report the revision they were sent; a silent amphora is replaced;
// a delete removes everything. The amphora agents are played by the test over the real endpoints, and the
// compute service is a small in-test one that binds ports through the Network API as the lab does (the lab's
// own is exercised end to end in test/e2e/balancer). Two servers on one PostgreSQL share the controller's lease.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AmphoraHealthReport, AmphoraTarget } from '../../../../src/agents/amphora/target.js';
import type { AmphoraVm, AmphoraVmRequest, Compute } from '../../../../src/controllers/balancer/compute.js';
import { amphoraeOf, type AmphoraRow } from '../../../../src/controllers/balancer/records.js';
import { parseHealthReport } from '../../../../src/server/cloudnet/amphorae.js';
import { apiModules } from '../../../../src/server/apis.js';
import { keyEncryptionKey } from '../../../../src/server/key-manager/index.js';
import { waitUntil } from '../../../../src/lab/processes.js';
import { DIALECTS, createTestDatabase } from '../../../support/databases.js';
import { jsonClient, readNdjson, type JsonClient } from '../../../support/http.js';
import { startTestServer, type TestServer } from '../../../support/server.js';

/** Places amphorae on three hosts, keeping away from the hosts asked, and binds their ports as a hypervisor would. */
class TestCompute implements Compute {
  readonly vms = new Map<string, { host: string; ports: string[] }>();
  admin: JsonClient | undefined;

  async createAmphoraVm(request: AmphoraVmRequest): Promise<AmphoraVm> {
    const existing = this.vms.get(request.amphoraId);
    if (existing) return { host: existing.host, computeId: request.amphoraId };
    const used = new Set([...this.vms.values()].map((v) => v.host));
    const free = ['host1', 'host2', 'host3'].filter((h) => !request.avoidHosts.includes(h));
    const host = free.find((h) => !used.has(h)) ?? free[0];
    if (!host) throw new Error('no host left');
    this.vms.set(request.amphoraId, { host, ports: [] });
    for (const port of request.ports) await this.attachPort(request.amphoraId, port);
    return { host, computeId: request.amphoraId };
  }

  async attachPort(computeId: string, portId: string): Promise<void> {
    const vm = this.vms.get(computeId)!;
    const r = await this.admin!.put(`/network/v2.0/ports/${portId}`, { port: { 'binding:host_id': vm.host } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    vm.ports.push(portId);
  }

  async deleteAmphoraVm(computeId: string): Promise<void> {
    this.vms.delete(computeId);
  }
}

/** One amphora agent's side of the contract: follows the target stream, reports what it "applied". */
class AgentDouble {
  readonly targets: AmphoraTarget[] = [];
  readonly lines: unknown[] = [];
  private readonly abort = new AbortController();
  silent = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly amphoraId: string,
    private readonly url: string,
    private readonly token: string,
  ) {}

  async start(): Promise<void> {
    const response = await fetch(`${this.url}/cloudnet/v1/amphorae/${this.amphoraId}/target`, { headers: { 'x-auth-token': this.token }, signal: this.abort.signal });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
    readNdjson<{ type: string; target?: AmphoraTarget }>(response, (line) => {
      this.lines.push(line);
      if (line.type === 'target') this.targets.push(line.target!);
    });
    this.timer = setInterval(() => void this.report(), 100);
  }

  get latest(): AmphoraTarget | undefined {
    return this.targets.at(-1);
  }

  private inFlight: Promise<unknown> = Promise.resolve();

  /** Stops reporting, once a report under way has landed. */
  async quiet(): Promise<void> {
    this.silent = true;
    await this.inFlight;
  }

  report(): Promise<unknown> {
    if (this.silent || !this.latest) return Promise.resolve();
    return (this.inFlight = this.send());
  }

  private async send(): Promise<void> {
    if (!this.latest) return;
    const body: AmphoraHealthReport = { appliedConfigRevision: this.latest.configRevision, applyError: null, haproxy: 'RUNNING', vrrpState: this.latest.vrrp?.role === 'MASTER' ? 'MASTER' : 'BACKUP', listeners: {}, pools: {} };
    await fetch(`${this.url}/cloudnet/v1/amphorae/${this.amphoraId}/health`, { method: 'PUT', headers: { 'x-auth-token': this.token, 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.timer);
    this.abort.abort();
  }
}

const GOOD_REPORT: AmphoraHealthReport = {
  appliedConfigRevision: 7,
  applyError: null,
  haproxy: 'RUNNING',
  vrrpState: 'MASTER',
  listeners: { l1: { status: 'OPEN', stats: { activeConnections: 1, totalConnections: 2, bytesIn: 3, bytesOut: 4, requestErrors: 0 } } },
  pools: { p1: { status: 'UP', members: { m1: 'UP', m2: 'DRAIN' } } },
};

test('a health report is checked field by field; the reason names the field', () => {
  assert.deepEqual(parseHealthReport(structuredClone(GOOD_REPORT)), GOOD_REPORT);
  for (const [change, field] of [
    [{ appliedConfigRevision: -1 }, 'appliedConfigRevision'],
    [{ appliedConfigRevision: '7' }, 'appliedConfigRevision'],
    [{ applyError: 5 }, 'applyError'],
    [{ haproxy: 'UP' }, 'haproxy'],
    [{ vrrpState: 'PRIMARY' }, 'vrrpState'],
    [{ listeners: [] }, 'listeners'],
    [{ listeners: { l1: { status: 'OPEN', stats: { ...GOOD_REPORT.listeners.l1.stats, bytesIn: 1.5 } } } }, 'listeners.l1.stats.bytesIn'],
    [{ pools: { p1: { status: 'UP', members: { m1: 'ONLINE' } } } }, 'pools.p1.members.m1'],
  ] as const) {
    assert.throws(() => parseHealthReport({ ...GOOD_REPORT, ...change }), (err: Error) => err.message.includes(`Invalid input for ${field}.`), field);
  }
});

for (const dialect of DIALECTS) {
  describe(`balancer provisioning and amphora endpoints (${dialect})`, () => {
    let server: TestServer;
    let admin: JsonClient;
    let adminToken = '';
    const compute = new TestCompute();
    const agents = new Map<string, AgentDouble>();
    let vipNetwork = '';
    let vipSubnet = '';
    let memberSubnet = '';
    let member: JsonClient;

    before(async () => {
      server = await startTestServer({ dialect, apis: apiModules({ compute, amphoraHeartbeatTimeoutSeconds: 3, keyManagerKek: keyEncryptionKey(randomBytes(32)) }) });
      adminToken = await server.issueToken();
      admin = jsonClient(server.url, adminToken);
      compute.admin = admin;
      const user = await server.createProjectUser('tenant', ['member', 'load-balancer_member']);
      member = jsonClient(server.url, user.token);
      const net = await admin.post('/network/v2.0/networks', { network: { name: 'public', 'router:external': true } });
      vipNetwork = net.body.network.id;
      vipSubnet = (await admin.post('/network/v2.0/subnets', { subnet: { network_id: vipNetwork, ip_version: 4, cidr: '198.19.5.0/24' } })).body.subnet.id;
      const tenantNet = await member.post('/network/v2.0/networks', { network: { name: 'tenant-net' } });
      memberSubnet = (await member.post('/network/v2.0/subnets', { subnet: { network_id: tenantNet.body.network.id, ip_version: 4, cidr: '198.18.5.0/24' } })).body.subnet.id;
    });

    after(async () => {
      for (const agent of agents.values()) agent.stop();
      await server?.close();
    });

    const balancer = async (id: string) => (await member.get(`/load-balancer/v2/lbaas/loadbalancers/${id}`)).body.loadbalancer;
    const amphorae = (id: string) => server.store.read((db) => amphoraeOf(db, id));

    /** Plays an agent for every amphora that has a VM and no agent yet. */
    async function runAgents(balancerId: string): Promise<void> {
      for (const a of await amphorae(balancerId)) {
        if (!a.compute_id || agents.has(a.id)) continue;
        const agent = new AgentDouble(a.id, server.url, adminToken);
        agents.set(a.id, agent);
        await agent.start();
      }
    }

    /** Waits, playing an agent for each new amphora, until the balancer is as `done` wants it. */
    async function untilBalancer(balancerId: string, done: (lb: any, amps: AmphoraRow[]) => boolean, what: string): Promise<any> {
      let lb: any;
      let amps: AmphoraRow[] = [];
      const ok = await waitUntil(async () => {
        await runAgents(balancerId);
        lb = await balancer(balancerId);
        amps = await amphorae(balancerId);
        return done(lb, amps);
      }, 20_000, 50);
      assert.ok(ok, `${what}: ${JSON.stringify({ lb, amphorae: amps })}`);
      return lb;
    }

    const untilActive = (balancerId: string, what: string) => untilBalancer(balancerId, (lb) => lb.provisioning_status === 'ACTIVE', what);

    let balancerId = '';

    test('a new balancer: VIP port, group, two amphorae with VRRP ports on different hosts, ACTIVE once both applied', async () => {
      const created = await member.post('/load-balancer/v2/lbaas/loadbalancers', { loadbalancer: { name: 'lb', vip_subnet_id: vipSubnet, vip_address: '198.19.5.77' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      balancerId = created.body.loadbalancer.id;
      const lb = await untilActive(balancerId, 'ACTIVE after create');
      assert.equal(lb.vip_address, '198.19.5.77');
      const vipPort = (await admin.get(`/network/v2.0/ports/${lb.vip_port_id}`)).body.port;
      assert.equal(vipPort.device_owner, 'Octavia');
      assert.equal(vipPort.project_id, created.body.loadbalancer.project_id);

      const amps = await amphorae(balancerId);
      assert.deepEqual(amps.map((a) => [a.role, a.vrrp_priority, a.status]).sort(), [['BACKUP', 90, 'ALLOCATED'], ['MASTER', 100, 'ALLOCATED']]);
      assert.notEqual(compute.vms.get(amps[0].compute_id!)!.host, compute.vms.get(amps[1].compute_id!)!.host);
      for (const a of amps) {
        const port = (await admin.get(`/network/v2.0/ports/${a.vrrp_port_id}`)).body.port;
        assert.deepEqual(port.allowed_address_pairs.map((p: { ip_address: string }) => p.ip_address), ['198.19.5.77']);
        assert.equal(port.network_id, vipNetwork);
        assert.equal(a.vrrp_ip, port.fixed_ips[0].ip_address);
        assert.equal(a.ha_ip, '198.19.5.77');
        const target = agents.get(a.id)!.latest!;
        const peer = amps.find((b) => b.id !== a.id)!;
        assert.deepEqual(target.vrrp, { role: a.role, interface: 'eth0', virtualRouterId: 1, unicastSrcIp: a.vrrp_ip, unicastPeers: [peer.vrrp_ip], vips: ['198.19.5.77/24'], advertIntervalSeconds: 0.1 });
        assert.equal(target.loadBalancer?.vipAddress, '198.19.5.77');
      }
      // The tenant does not see the service's ports; the group allows VRRP between the pair.
      const own = (await member.get('/network/v2.0/ports?device_owner=Octavia')).body.ports as any[];
      assert.deepEqual(own.map((p) => p.id), [lb.vip_port_id]);
      const group = (await admin.get(`/network/v2.0/security-groups?name=lb-${balancerId}`)).body.security_groups[0];
      assert.ok(group.security_group_rules.some((r: any) => r.direction === 'ingress' && r.protocol === '112' && r.remote_group_id === group.id));
    });

    test('a listener and a member on another subnet: the rule, a member port plugged into each VM, ACTIVE again', async () => {
      const listener = await member.post('/load-balancer/v2/lbaas/listeners', { listener: { loadbalancer_id: balancerId, protocol: 'TCP', protocol_port: 80 } });
      assert.equal(listener.status, 201, JSON.stringify(listener.body));
      await untilActive(balancerId, 'ACTIVE after the listener');
      const pool = await member.post('/load-balancer/v2/lbaas/pools', { pool: { listener_id: listener.body.listener.id, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' } });
      await untilActive(balancerId, 'ACTIVE after the pool');
      const m = await member.post(`/load-balancer/v2/lbaas/pools/${pool.body.pool.id}/members`, { member: { address: '198.18.5.10', protocol_port: 80, subnet_id: memberSubnet } });
      assert.equal(m.status, 201, JSON.stringify(m.body));
      await untilActive(balancerId, 'ACTIVE after the member');
      const group = (await admin.get(`/network/v2.0/security-groups?name=lb-${balancerId}`)).body.security_groups[0];
      assert.ok(group.security_group_rules.some((r: any) => r.direction === 'ingress' && r.protocol === 'tcp' && r.port_range_min === 80 && r.port_range_max === 80));
      for (const a of await amphorae(balancerId)) {
        const ports = (await admin.get(`/network/v2.0/ports?device_id=${a.id}`)).body.ports as any[];
        const memberPort = ports.find((p) => p.fixed_ips[0]?.subnet_id === memberSubnet);
        assert.ok(memberPort, `amphora ${a.id} has a port on the member subnet`);
        assert.equal(memberPort['binding:host_id'], compute.vms.get(a.compute_id!)!.host);
        assert.ok(compute.vms.get(a.compute_id!)!.ports.includes(memberPort.id));
        assert.equal(agents.get(a.id)!.latest!.loadBalancer!.pools[0].members[0].address, '198.18.5.10');
      }
    });

    test("a TERMINATED_HTTPS listener: its amphorae's targets carry the key manager's PEM bundle by the tree's name", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cloudnet-amp-cert-'));
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=www.example.test', '-days', '2', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
        const keyManager = jsonClient(`${server.url}/key-manager`, await server.issueToken('tenant'));
        const secret = async (name: string, file: string, type: string) => {
          const r = await keyManager.post('/v1/secrets', { name, payload: readFileSync(join(dir, file), 'utf8'), payload_content_type: 'text/plain', secret_type: type });
          assert.equal(r.status, 201, JSON.stringify(r.body));
          return r.body.secret_ref as string;
        };
        const container = await keyManager.post('/v1/containers', {
          name: 'www',
          type: 'certificate',
          secret_refs: [{ name: 'certificate', secret_ref: await secret('cert', 'cert.pem', 'certificate') }, { name: 'private_key', secret_ref: await secret('key', 'key.pem', 'private') }],
        });
        assert.equal(container.status, 201, JSON.stringify(container.body));
        const listener = await member.post('/load-balancer/v2/lbaas/listeners', {
          listener: { loadbalancer_id: balancerId, protocol: 'TERMINATED_HTTPS', protocol_port: 443, default_tls_container_ref: container.body.container_ref },
        });
        assert.equal(listener.status, 201, JSON.stringify(listener.body));
        await untilActive(balancerId, 'ACTIVE after the TLS listener');
        for (const a of await amphorae(balancerId)) {
          const target = agents.get(a.id)!.latest!;
          const tls = target.loadBalancer!.listeners.find((l) => l.id === listener.body.listener.id)!.tls!;
          const bundle = target.certificates[tls.defaultCertificatePath];
          assert.ok(bundle, `a bundle named ${tls.defaultCertificatePath}`);
          assert.ok(bundle.includes(readFileSync(join(dir, 'cert.pem'), 'utf8').trim()), 'the certificate');
          assert.ok(bundle.includes(readFileSync(join(dir, 'key.pem'), 'utf8').trim()), 'the private key');
        }

        // Re-encryption verified against a CA: the CA secret's PEM reaches the target by the pool's name for it.
        const caRef = await secret('members-ca', 'cert.pem', 'certificate');
        const pool = await member.post('/load-balancer/v2/lbaas/pools', {
          pool: { listener_id: listener.body.listener.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', tls_enabled: true, ca_tls_container_ref: caRef, session_persistence: { type: 'APP_COOKIE', cookie_name: 'SID' } },
        });
        assert.equal(pool.status, 201, JSON.stringify(pool.body));
        await untilActive(balancerId, 'ACTIVE after the re-encrypting pool');
        const amps = await amphorae(balancerId);
        for (const a of amps) {
          const target = agents.get(a.id)!.latest!;
          const caPath = target.loadBalancer!.pools.find((p) => p.id === pool.body.pool.id)!.tls!.caPath!;
          assert.equal(target.certificates[caPath], readFileSync(join(dir, 'cert.pem'), 'utf8'));
          // The pair shares its stick tables through HAProxy peers on the VRRP addresses.
          assert.deepEqual(target.haproxyPeers, {
            localPeer: a.id,
            peers: amps.map((b) => ({ name: b.id, address: b.vrrp_ip })).sort((x, y) => (x.name < y.name ? -1 : 1)),
            port: 1025,
          });
        }
        const group = (await admin.get(`/network/v2.0/security-groups?name=lb-${balancerId}`)).body.security_groups[0];
        assert.ok(
          group.security_group_rules.some((r: any) => r.protocol === 'tcp' && r.port_range_min === 1025 && r.port_range_max === 1025 && r.remote_group_id === group.id),
          'the peer port is open between the pair',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the endpoints: admin only, unknown amphorae 404, bad reports 400 and nothing stored', async () => {
      const [a] = await amphorae(balancerId);
      assert.equal((await member.get(`/cloudnet/v1/amphorae/${a.id}/target`)).status, 403);
      assert.equal((await jsonClient(server.url).get(`/cloudnet/v1/amphorae/${a.id}/target`)).status, 401);
      assert.equal((await admin.get('/cloudnet/v1/amphorae/00000000-0000-0000-0000-000000000000/target')).status, 404);
      assert.equal((await member.put(`/cloudnet/v1/amphorae/${a.id}/health`, GOOD_REPORT)).status, 403);
      assert.equal((await admin.put('/cloudnet/v1/amphorae/00000000-0000-0000-0000-000000000000/health', GOOD_REPORT)).status, 404);
      await agents.get(a.id)!.quiet();
      const stored = (await amphorae(balancerId)).find((b) => b.id === a.id)!;
      const bad = await admin.put(`/cloudnet/v1/amphorae/${a.id}/health`, { ...GOOD_REPORT, appliedConfigRevision: 10_000_000, haproxy: 'MAYBE' });
      assert.equal(bad.status, 400);
      assert.match(bad.body.NeutronError.message, /Invalid input for haproxy/);
      const after = (await amphorae(balancerId)).find((b) => b.id === a.id)!;
      assert.deepEqual([after.health, after.heartbeat_at], [stored.health, stored.heartbeat_at], 'nothing stored');
      agents.get(a.id)!.silent = false;
    });

    test('a silent amphora: the balancer DEGRADED, the amphora replaced with the same role, the survivor told its new peer, ONLINE again', async () => {
      // On a loaded machine the last test's quiet agent may have been failed over: start from a whole, settled pair.
      await untilBalancer(
        balancerId,
        (lb, amps) => lb.provisioning_status === 'ACTIVE' && lb.operating_status === 'ONLINE' && amps.length === 2 && amps.every((a) => a.status === 'ALLOCATED'),
        'a whole pair first',
      );
      const before = await amphorae(balancerId);
      const victim = before.find((a) => a.role === 'MASTER')!;
      const survivor = before.find((a) => a.role === 'BACKUP')!;
      agents.get(victim.id)!.silent = true;
      assert.ok(await waitUntil(async () => (await balancer(balancerId)).operating_status === 'DEGRADED', 10_000, 50), 'DEGRADED');
      let now: any[] = [];
      const replaced = await waitUntil(async () => {
        await runAgents(balancerId);
        now = await amphorae(balancerId);
        return now.length === 2 && !now.some((a) => a.id === victim.id) && now.every((a) => a.status === 'ALLOCATED');
      }, 20_000, 50);
      assert.ok(replaced, JSON.stringify(now));
      const fresh = now.find((a) => a.id !== survivor.id)!;
      assert.equal(fresh.role, 'MASTER');
      assert.ok(!compute.vms.has(victim.compute_id!), 'the dead VM is deleted');
      assert.notEqual(compute.vms.get(fresh.compute_id!)!.host, compute.vms.get(survivor.compute_id!)!.host);
      assert.ok(await waitUntil(() => agents.get(survivor.id)!.latest!.vrrp!.unicastPeers[0] === fresh.vrrp_ip, 10_000, 50), 'the survivor hears of its new peer');
      // A loaded machine may starve a report past the timeout and fail over another amphora: its agent is played too.
      await untilBalancer(balancerId, (lb) => lb.operating_status === 'ONLINE', 'ONLINE');
      assert.equal((await balancer(balancerId)).provisioning_status, 'ACTIVE');
      agents.get(victim.id)!.stop();
    });

    test('delete: VMs, ports and group removed, the balancer gone', async () => {
      const amps = await amphorae(balancerId);
      const vipPort = (await balancer(balancerId)).vip_port_id;
      assert.equal((await member.delete(`/load-balancer/v2/lbaas/loadbalancers/${balancerId}?cascade=true`)).status, 204);
      assert.ok(await waitUntil(async () => (await member.get(`/load-balancer/v2/lbaas/loadbalancers/${balancerId}`)).status === 404, 20_000, 50), 'gone');
      for (const a of amps) assert.ok(!compute.vms.has(a.compute_id!));
      assert.equal((await admin.get(`/network/v2.0/ports/${vipPort}`)).status, 404);
      assert.deepEqual((await admin.get('/network/v2.0/ports?device_owner=Octavia')).body.ports, []);
      assert.deepEqual((await admin.get(`/network/v2.0/security-groups?name=lb-${balancerId}`)).body.security_groups, []);
    });

    test('without a compute service a new balancer goes to ERROR with the reason', async () => {
      const plain = await startTestServer({ dialect, apis: apiModules() });
      try {
        const client = jsonClient(plain.url, await plain.issueToken());
        const net = await client.post('/network/v2.0/networks', { network: { name: 'public' } });
        const subnet = await client.post('/network/v2.0/subnets', { subnet: { network_id: net.body.network.id, ip_version: 4, cidr: '198.19.6.0/24' } });
        const created = await client.post('/load-balancer/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: subnet.body.subnet.id } });
        const id = created.body.loadbalancer.id;
        assert.ok(await waitUntil(async () => (await client.get(`/load-balancer/v2/lbaas/loadbalancers/${id}`)).body.loadbalancer.provisioning_status === 'ERROR', 10_000, 50));
        const row = await plain.store.read((db) => db.selectFrom('load_balancers').select('provisioning_error').where('id', '=', id).executeTakeFirst());
        assert.match(String(row?.provisioning_error), /no compute service/);
      } finally {
        await plain.close();
      }
    });
  });
}

describe('two servers on one PostgreSQL: one controller at a time', () => {
  test('only the lease holder provisions; when it stops, the other server takes over', async () => {
    const tdb = await createTestDatabase('postgres');
    const compute = new TestCompute();
    const asked: string[] = [];
    /** The shared compute service, noting which server asked it for each VM. */
    const computeFor = (server: string): Compute => ({
      createAmphoraVm: (request) => (asked.push(server), compute.createAmphoraVm(request)),
      attachPort: (computeId, portId) => compute.attachPort(computeId, portId),
      deleteAmphoraVm: (computeId) => compute.deleteAmphoraVm(computeId),
    });
    const apis = (server: string) => apiModules({ compute: computeFor(server), amphoraHeartbeatTimeoutSeconds: 10, keyManagerKek: keyEncryptionKey(randomBytes(32)) });
    const first = await startTestServer({ dialect: 'postgres', databaseUrl: tdb.url, apis: apis('first') });
    const second = await startTestServer({ dialect: 'postgres', databaseUrl: tdb.url, adminPassword: first.adminPassword, apis: apis('second') });
    const agents: AgentDouble[] = [];
    let firstOpen = true;
    try {
      const token = await second.issueToken();
      compute.admin = jsonClient(second.url, token);
      const client = jsonClient(second.url, token);
      const net = await client.post('/network/v2.0/networks', { network: { name: 'public' } });
      const subnet = (await client.post('/network/v2.0/subnets', { subnet: { network_id: net.body.network.id, ip_version: 4, cidr: '198.19.7.0/24' } })).body.subnet.id;

      /** Creates a balancer through the second server, plays its agents against the second server, waits for ACTIVE. */
      async function activeBalancer(name: string): Promise<void> {
        const created = await client.post('/load-balancer/v2/lbaas/loadbalancers', { loadbalancer: { name, vip_subnet_id: subnet } });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const id = created.body.loadbalancer.id;
        const ok = await waitUntil(async () => {
          for (const a of await second.store.read((db) => amphoraeOf(db, id))) {
            if (!a.compute_id || agents.some((agent) => agent.amphoraId === a.id)) continue;
            const agent = new AgentDouble(a.id, second.url, token);
            agents.push(agent);
            await agent.start();
          }
          return (await client.get(`/load-balancer/v2/lbaas/loadbalancers/${id}`)).body.loadbalancer.provisioning_status === 'ACTIVE';
        }, 60_000, 50);
        assert.ok(ok, `${name} ACTIVE`);
      }

      await activeBalancer('lb-1');
      assert.deepEqual(asked, ['first', 'first'], 'the first server started first and holds the lease; the second made no VM');
      await first.close();
      firstOpen = false;
      await activeBalancer('lb-2');
      assert.deepEqual(asked, ['first', 'first', 'second', 'second']);
      assert.equal(compute.vms.size, 4);
    } finally {
      for (const agent of agents) agent.stop();
      if (firstOpen) await first.close();
      await second.close();
      await tdb.drop();
    }
  });
});
