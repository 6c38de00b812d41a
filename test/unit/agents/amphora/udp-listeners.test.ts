import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { AmphoraReconciler } from '../../../../src/agents/amphora/reconciler.js';
import type { AmphoraTarget } from '../../../../src/agents/amphora/target.js';
import type { LoadBalancer } from '../../../../src/agents/amphora/types.js';
import { eventually, Topology } from '../../../e2e/host-agent/topology.js';
import { balancer, listener, member, monitor, pool } from './fixtures.js';
import { startUdpMember, udpRequests } from './traffic.js';

const VIP = '198.18.0.100';
const MEMBERS = { m1: '198.18.0.21', m2: '198.18.0.22' } as const;

/**
 * A SINGLE amphora serving a UDP listener with nftables, its members UDP servers answering their name, all on
 * one bridge of this run; the reconciler runs in this process, its health checks in the amphora's namespace.
 */
describe('amphora reconciler: UDP listeners through nftables', { skip: process.getuid?.() !== 0 && 'needs root for network namespaces' }, () => {
  const topology = new Topology();
  let reconciler: AmphoraReconciler;
  let amphora = '';
  let client = '';
  let stateDir = '';
  let revision = 0;
  const servers: Partial<Record<keyof typeof MEMBERS, ChildProcess>> = {};
  const namespaces: Partial<Record<keyof typeof MEMBERS, string>> = {};

  const udpTree = (lb: Partial<LoadBalancer> = {}): LoadBalancer =>
    balancer({
      vipAddress: VIP,
      listeners: [listener({ id: 'u1', protocol: 'UDP', protocolPort: 53, defaultPoolId: 'p1' })],
      pools: [
        pool({
          id: 'p1',
          protocol: 'UDP',
          healthMonitor: monitor({ id: 'hm1', type: 'UDP-CONNECT', delay: 1, timeout: 1, maxRetries: 1, maxRetriesDown: 2 }),
          members: Object.entries(MEMBERS).map(([id, address]) => member({ id, address, protocolPort: 5353 })),
        }),
      ],
      ...lb,
    });

  const apply = (lb: LoadBalancer | null) => {
    revision++;
    const target: AmphoraTarget = { amphoraId: 'a1', loadBalancerId: 'lb1', configRevision: revision, loadBalancer: lb, vrrp: null, vipInterface: 'uplink', certificates: {}, haproxyPeers: null };
    return reconciler.apply(target);
  };
  const answers = async (count = 8, sourcePort = 0) => (await udpRequests(topology, client, VIP, 53, count, { sourcePort })).map((a) => (a.ok ? a.body : `failed: ${a.error}`));
  const tables = async () => (await topology.exec(amphora, ['nft', 'list', 'tables'])).trim();

  before(async () => {
    await topology.createFabric();
    client = await topology.addHost('client', '198.18.0.2');
    for (const [name, address] of Object.entries(MEMBERS) as [keyof typeof MEMBERS, string][]) {
      namespaces[name] = await topology.addHost(name, address);
      servers[name] = await startUdpMember(topology, namespaces[name]!, address, 5353, name);
    }
    amphora = await topology.addHost('a1', '198.18.0.11');
    stateDir = mkdtempSync(join(tmpdir(), 'cloudnet-amphora-udp-'));
    reconciler = new AmphoraReconciler({ netns: amphora, stateDir, logger: pino({ level: process.env.CLOUDNET_TEST_LOG ?? 'silent' }) });
    await reconciler.start();
  });

  after(async () => {
    await reconciler?.stop();
    await topology.cleanup();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('a balancer with only a UDP listener: HAProxy runs (for the VRRP check), every new flow goes to the next member', async () => {
    assert.equal(await apply(udpTree()), 'start');
    await eventually('the VIP answers over UDP', async () => ['m1', 'm2'].includes((await answers(1))[0]!));
    const got = await answers(8);
    assert.deepEqual(new Set(got), new Set(['m1', 'm2']), `both members: ${got}`);
    assert.ok(got.every((b, i) => i === 0 || b !== got[i - 1]), `round robin alternates: ${got}`);
    const health = await reconciler.health();
    assert.equal(health.haproxy, 'RUNNING');
    assert.equal(health.applyError, null);
    assert.equal(health.listeners.u1!.status, 'OPEN');
    assert.ok(health.listeners.u1!.stats.totalConnections >= 9, JSON.stringify(health.listeners.u1));
    assert.ok(health.listeners.u1!.stats.bytesIn > 0 && health.listeners.u1!.stats.bytesOut > 0, JSON.stringify(health.listeners.u1));
    assert.deepEqual(health.pools, { p1: { status: 'UP', members: { m1: 'UP', m2: 'UP' } } });
    assert.equal((await topology.exec(amphora, ['sysctl', '-n', 'net.ipv4.ip_forward'])).trim(), '1');
  });

  it('an unchanged target changes nothing', async () => {
    const before = await topology.exec(amphora, ['nft', 'list', 'table', 'inet', 'amphora_udp']);
    assert.equal(await apply(udpTree()), 'unchanged');
    assert.equal(await topology.exec(amphora, ['nft', 'list', 'table', 'inet', 'amphora_udp']), before);
  });

  it('a member that stops answers ICMP port unreachable to UDP-CONNECT: DOWN, left out, and a long flow on it moves over', async () => {
    // One flow (fixed source port) that lands on m2, found by trying source ports: round robin alternates.
    let sourcePort = 40000;
    while ((await answers(1, sourcePort))[0] !== 'm2') sourcePort++;
    await topology.stopChild(servers.m2!);
    await eventually('m2 reported DOWN', async () => (await reconciler.health()).pools.p1?.members.m2 === 'DOWN', 10_000);
    const health = await reconciler.health();
    assert.deepEqual(health.pools.p1, { status: 'UP', members: { m1: 'UP', m2: 'DOWN' } });
    assert.deepEqual(new Set(await answers(6)), new Set(['m1']), 'new flows go to the member left');
    assert.deepEqual(await answers(2, sourcePort), ['m1', 'm1'], 'the flow that was on m2 is forgotten by conntrack and goes to m1');
  });

  it('the member back: ONLINE again after max_retries successes, and new flows reach it', async () => {
    servers.m2 = await startUdpMember(topology, namespaces.m2!, MEMBERS.m2, 5353, 'm2');
    await eventually('m2 reported UP', async () => (await reconciler.health()).pools.p1?.members.m2 === 'UP', 10_000);
    assert.deepEqual(new Set(await answers(6)), new Set(['m1', 'm2']));
  });

  it('without a monitor members are NO_CHECK; a disabled member is MAINT and gets no flow', async () => {
    const lb = udpTree();
    lb.pools[0]!.healthMonitor = null;
    lb.pools[0]!.members[1]!.adminStateUp = false;
    assert.equal(await apply(lb), 'udp');
    assert.deepEqual((await reconciler.health()).pools, { p1: { status: 'UP', members: { m1: 'NO_CHECK', m2: 'MAINT' } } });
    assert.deepEqual(new Set(await answers(4)), new Set(['m1']));
  });

  it('allowed_cidrs: a client outside them gets nothing, one inside is served', async () => {
    const only = (cidrs: string[]) => {
      const lb = udpTree();
      lb.listeners[0]!.allowedCidrs = cidrs;
      return lb;
    };
    assert.equal(await apply(only(['198.18.0.64/26'])), 'udp');
    assert.deepEqual(await answers(2), ['failed: timeout', 'failed: timeout']);
    assert.equal(await apply(only(['198.18.0.0/26'])), 'udp');
    assert.deepEqual(new Set(await answers(4)), new Set(['m1', 'm2']));
  });

  it('TCP and UDP listeners side by side: HAProxy serves one, nftables the other', async () => {
    const lb = udpTree();
    lb.listeners.push(listener({ id: 't1', protocol: 'TCP', protocolPort: 53, defaultPoolId: 'p2' }));
    lb.pools.push(pool({ id: 'p2', protocol: 'TCP', members: [member({ id: 'm3', address: MEMBERS.m1, protocolPort: 5353 })] }));
    assert.equal(await apply(lb), 'reload');
    const health = await reconciler.health();
    assert.equal(health.listeners.u1!.status, 'OPEN');
    assert.equal(health.listeners.t1!.status, 'OPEN');
    assert.deepEqual(new Set(await answers(4)), new Set(['m1', 'm2']));
  });

  it('the last UDP listener gone: the table and forwarding go with it', async () => {
    assert.equal(await apply(balancer({ vipAddress: VIP, listeners: [], pools: [] })), 'reload');
    assert.equal(await tables(), '');
    assert.equal((await topology.exec(amphora, ['sysctl', '-n', 'net.ipv4.ip_forward'])).trim(), '0');
    assert.deepEqual(await reconciler.health().then((h) => [h.listeners, h.pools]), [{}, {}]);
  });
});
