/**
 * The host agent against the kernel: three hosts on a fabric, two VXLAN networks, VMs as namespaces,
 * one agent process per host (`cloudnet host-agent --netns …`). The server side is FeedDouble, a test
 * double of our own feed (see feed-double.ts) until the real one lands on main.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { SecurityGroupRule } from '../../../src/feed/target-state.js';
import { FeedDouble, type CloudPort } from './feed-double.js';
import { Topology, eventually } from './topology.js';

const HOSTS = { h1: '198.18.0.1', h2: '198.18.0.2', h3: '198.18.0.3' } as const;
type HostName = keyof typeof HOSTS;

const NET_A = randomUUID();
const NET_B = randomUUID();
const SG_BASE = randomUUID(); // egress anything, ICMP in from anywhere
const SG_SSH = randomUUID(); // tcp/22 in from members of G
const SG_G = randomUUID(); // G: no rules of its own, only membership

function rule(r: Partial<SecurityGroupRule>): SecurityGroupRule {
  return { id: randomUUID(), direction: 'ingress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, ...r };
}

interface Vm {
  name: string;
  host: HostName;
  ns: string;
  port: CloudPort;
  address: string;
}

describe('cloudnet host-agent on three hosts', { timeout: 240_000 }, () => {
  const topo = new Topology();
  const feed = new FeedDouble();
  const agents = new Map<HostName, ChildProcess & { output: () => string }>();
  const vms: Record<string, Vm> = {};

  function startAgent(host: HostName) {
    const env = { ...process.env, OS_AUTH_URL: `${feed.url}/identity/v3`, OS_USERNAME: 'admin', OS_PASSWORD: 'x', OS_PROJECT_NAME: 'admin', CLOUDNET_LOG_LEVEL: 'debug' };
    const child = topo.spawn(
      ['node', '--import', 'tsx', 'src/cli/main.ts', 'host-agent', '--host', host, '--server', feed.url, '--netns', topo.ns(host), '--tunnel-ip', HOSTS[host],
        '--heartbeat-interval', '0.5', '--resync-interval', '1', '--tap-poll-interval', '0.2'],
      env,
    );
    agents.set(host, child);
    return child;
  }

  async function addVm(name: string, host: HostName, networkId: string, address: string, securityGroupIds: string[]): Promise<Vm> {
    const id = randomUUID();
    const mac = `fa:16:3e:${[0, 0, 0].map(() => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join(':')}`;
    const port: CloudPort = {
      id, host, networkId, mac, mtu: 1450, adminStateUp: true, fixedIps: [{ subnetId: 's', ipAddress: address }], portSecurityEnabled: true,
      allowedAddressPairs: [], securityGroupIds, deviceOwner: 'compute:nova', deviceId: name,
    };
    feed.change((c) => (c.ports[id] = port));
    const ns = await topo.addVm(name, topo.ns(host), { id, mac, mtu: 1450, address });
    return (vms[name] = { name, host, ns, port, address });
  }

  /** Handles of every rule in a host's inet table: unchanged handles mean no rule was rewritten. */
  async function ruleHandles(host: HostName): Promise<string[]> {
    const json = JSON.parse(await topo.exec(topo.ns(host), ['nft', '-j', 'list', 'table', 'inet', 'cloudnet'])) as { nftables: { rule?: { chain: string; handle: number } }[] };
    return json.nftables.filter((o) => o.rule).map((o) => `${o.rule!.chain}#${o.rule!.handle}`);
  }

  async function tcp22(from: Vm, to: Vm): Promise<boolean> {
    try {
      return (await topo.exec(from.ns, ['socat', '-T', '2', '-', `TCP:${to.address}:22,connect-timeout=2`], 5000)).includes('hello');
    } catch {
      return false;
    }
  }

  before(async () => {
    await feed.start();
    await topo.createFabric();
    for (const [h, ip] of Object.entries(HOSTS)) await topo.addHost(h, ip);
    feed.change((c) => {
      for (const [h, ip] of Object.entries(HOSTS)) c.hosts[h] = { tunnelIp: ip, providerInterfaces: {} };
      c.networks[NET_A] = { id: NET_A, type: 'vxlan', vni: 1001, physicalNetwork: null, mtu: 1450, subnets: [] };
      c.networks[NET_B] = { id: NET_B, type: 'vxlan', vni: 1002, physicalNetwork: null, mtu: 1450, subnets: [] };
      c.securityGroups[SG_BASE] = { id: SG_BASE, stateful: true, rules: [rule({ direction: 'egress' }), rule({ protocol: '1' })] };
      c.securityGroups[SG_SSH] = { id: SG_SSH, stateful: true, rules: [rule({ protocol: '6', portRangeMin: 22, portRangeMax: 22, remoteGroupId: SG_G })] };
      c.securityGroups[SG_G] = { id: SG_G, stateful: true, rules: [] };
    });
    // Both networks use the same subnet: isolation must come from the data plane, not from routing.
    await addVm('a1', 'h1', NET_A, '198.18.100.11', [SG_BASE, SG_SSH]);
    await addVm('a2', 'h2', NET_A, '198.18.100.12', [SG_BASE, SG_G]);
    await addVm('a3', 'h3', NET_A, '198.18.100.13', [SG_BASE]);
    await addVm('b1', 'h2', NET_B, '198.18.100.21', [SG_BASE]);
    await addVm('b2', 'h3', NET_B, '198.18.100.22', [SG_BASE]);
    for (const h of Object.keys(HOSTS) as HostName[]) startAgent(h);
    topo.spawn(['ip', 'netns', 'exec', vms.a1!.ns, 'socat', 'TCP-LISTEN:22,fork,reuseaddr', 'SYSTEM:echo hello']);
  });

  after(async () => {
    try {
      for (const [h, a] of agents) if (process.env.CLOUDNET_TEST_VERBOSE) process.stderr.write(`--- ${h}\n${a.output()}\n`);
    } finally {
      await topo.cleanup();
      await feed.stop();
    }
  });

  test('every port is wired and reported ACTIVE', async () => {
    await eventually('all ports ACTIVE', async () => Object.values(vms).every((v) => feed.portStatus.get(v.port.id) === 'ACTIVE'), 30_000);
    assert.ok(feed.heartbeats.has('h1'));
  });

  test('VMs on the same network reach each other across hosts over VXLAN; the other network is unreachable', async () => {
    assert.ok(await eventually('a2 -> a1', () => topo.ping(vms.a2!.ns, vms.a1!.address)));
    assert.ok(await eventually('a3 -> a2', () => topo.ping(vms.a3!.ns, vms.a2!.address)));
    assert.ok(await eventually('b1 -> b2', () => topo.ping(vms.b1!.ns, vms.b2!.address)));
    assert.equal(await topo.ping(vms.b1!.ns, vms.a1!.address), false, 'b1 (network B) must not reach a1 (network A)');
    assert.equal(await topo.ping(vms.a1!.ns, vms.b2!.address), false, 'a1 must not reach b2');
    assert.equal(await topo.ping(vms.a2!.ns, vms.b1!.address), false, 'a2 must not reach b1 on the same host');
  });

  test('ARP for a remote port is answered on the local host (neighbour suppression)', async () => {
    const h1 = topo.ns('h1');
    const neigh = JSON.parse(await topo.exec(h1, ['ip', '-j', 'neigh', 'show', 'nud', 'permanent'])) as { dst: string; lladdr: string }[];
    assert.ok(neigh.some((n) => n.dst === vms.a2!.address && n.lladdr === vms.a2!.port.mac));
    const fdb = JSON.parse(await topo.exec(h1, ['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan-1001'])) as { mac: string; dst?: string }[];
    assert.deepEqual(fdb.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst).sort(), ['198.18.0.2', '198.18.0.3']);

    // a2 stops answering ARP requests itself; a1 can still resolve it only if h1 answers from its table.
    await topo.exec(vms.a2!.ns, ['nft', 'add table arp t; add chain arp t in { type filter hook input priority 0; }; add rule arp t in arp operation request drop']);
    try {
      await topo.exec(vms.a1!.ns, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
      assert.ok(await topo.ping(vms.a1!.ns, vms.a2!.address), 'a1 resolves a2 through h1');
      const learned = JSON.parse(await topo.exec(vms.a1!.ns, ['ip', '-j', 'neigh', 'show', vms.a2!.address])) as { lladdr: string }[];
      assert.equal(learned[0]?.lladdr, vms.a2!.port.mac);
    } finally {
      await topo.exec(vms.a2!.ns, ['nft', 'delete', 'table', 'arp', 't']);
    }
  });

  test('tcp/22 from remote group G: members in, others out; a new member gets in with no rule rewritten', async () => {
    assert.ok(await eventually('a2 (in G) connects to a1:22', () => tcp22(vms.a2!, vms.a1!)));
    assert.equal(await tcp22(vms.a3!, vms.a1!), false, 'a3 is not in G');
    const handles = await ruleHandles('h1');
    feed.change((c) => c.ports[vms.a3!.port.id]!.securityGroupIds.push(SG_G));
    assert.ok(await eventually('a3 (now in G) connects to a1:22', () => tcp22(vms.a3!, vms.a1!)));
    assert.deepEqual(await ruleHandles('h1'), handles, 'membership is a set element, never a rule');
  });

  test('a spoofed source is dropped; an allowed address pair, or an address inside an allowed CIDR, passes', async () => {
    const a2 = vms.a2!;
    await topo.ip(a2.ns, 'addr add 198.18.100.50/24 dev eth0', 'addr add 198.18.100.53/24 dev eth0');
    const from = (src: string) => topo.ping(a2.ns, vms.a1!.address, ['-I', src]);
    assert.equal(await from('198.18.100.50'), false, 'spoofed .50 must be dropped');
    feed.change((c) => (c.ports[a2.port.id]!.allowedAddressPairs = [{ ipAddress: '198.18.100.50', macAddress: a2.port.mac }]));
    assert.ok(await eventually('.50 as an allowed pair passes', () => from('198.18.100.50')));
    assert.equal(await from('198.18.100.53'), false, 'spoofed .53 must be dropped');
    feed.change((c) => (c.ports[a2.port.id]!.allowedAddressPairs = [{ ipAddress: '198.18.100.48/29', macAddress: a2.port.mac }]));
    assert.ok(await eventually('.53 inside the allowed CIDR passes', () => from('198.18.100.53')));
  });

  test('a continuous ping loses nothing while an agent restarts, and the restart rewrites nothing', async () => {
    const handles = await ruleHandles('h1');
    const count = 120; // 6 s at 50 ms
    const ping = topo.exec(vms.a2!.ns, ['ping', '-q', '-i', '0.05', '-c', String(count), '-W', '1', vms.a1!.address], 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    await topo.stopChild(agents.get('h1')!);
    await new Promise((r) => setTimeout(r, 500));
    const restarted = startAgent('h1');
    // Its first pass on the snapshot: it must find the kernel right and change nothing.
    const firstPass = await eventually('the restarted agent made its first pass', async () => restarted.output().split('\n').find((l) => l.includes('"msg":"pass"')), 15_000);
    assert.match(firstPass, /"ops":0/, firstPass);
    const summary = await ping;
    assert.match(summary, new RegExp(`${count} packets transmitted, ${count} received, 0% packet loss`), summary);
    assert.deepEqual(await ruleHandles('h1'), handles, 'a restart must not rewrite rules');
  });

  test('anti-entropy restores a rule deleted by hand', async () => {
    const h1 = topo.ns('h1');
    const chain = `sg_${SG_SSH}_ingress`;
    const list = async () => JSON.parse(await topo.exec(h1, ['nft', '-j', 'list', 'chain', 'inet', 'cloudnet', chain])) as { nftables: { rule?: { handle: number; comment?: string } }[] };
    const [victim] = (await list()).nftables.filter((o) => o.rule).map((o) => o.rule!);
    assert.ok(victim, 'the tcp/22 rule exists');
    await topo.exec(h1, ['nft', 'delete', 'rule', 'inet', 'cloudnet', chain, 'handle', String(victim.handle)]);
    const restored = await eventually('the rule is back', async () => (await list()).nftables.find((o) => o.rule?.comment === victim.comment)?.rule, 10_000);
    assert.notEqual(restored.handle, victim.handle);
    assert.ok(await eventually('a2 connects to a1:22 again', () => tcp22(vms.a2!, vms.a1!)));
  });

  test('a port whose tap is gone is reported DOWN', async () => {
    const b2 = vms.b2!;
    await topo.ip(topo.ns('h3'), `link del tap${b2.port.id.slice(0, 11)}`);
    await eventually('b2 DOWN', async () => feed.portStatus.get(b2.port.id) === 'DOWN', 10_000);
  });

  test('a port leaving the target is unplugged and its rules go', async () => {
    const b1 = vms.b1!;
    feed.change((c) => delete c.ports[b1.port.id]);
    const h2 = topo.ns('h2');
    const tap = `tap${b1.port.id.slice(0, 11)}`;
    await eventually('tap unplugged', async () => {
      const [link] = JSON.parse(await topo.exec(h2, ['ip', '-j', 'link', 'show', tap])) as { master?: string }[];
      return link && !link.master;
    });
    const ruleset = await topo.exec(h2, ['nft', 'list', 'ruleset']);
    assert.equal(ruleset.includes(b1.port.id), false, 'no chain of the departed port remains');
    // Network B has no port left on h2: its bridge and VXLAN device go too.
    await eventually('vxlan-1002 removed from h2', async () => !(await topo.exec(h2, ['ip', '-j', 'link', 'show'])).includes('vxlan-1002'));
  });
});
