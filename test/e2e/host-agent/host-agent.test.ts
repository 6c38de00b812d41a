/**
 * The host agent against the kernel and the real server: three hosts on a fabric, two VXLAN networks and a
 * flat one, VMs as namespaces, one agent process per host (`cloudnet host-agent --netns …`), and the cloudnet
 * server (Identity, Network API, hosts feed) in this process on a fresh SQLite database. Everything is
 * created through the Network API, as a user would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { tapName } from '../../../src/agents/host/names.js';
import { apiModules } from '../../../src/server/apis.js';
import { createCloudnetApi } from '../../../src/server/cloudnet/index.js';
import { jsonClient, type JsonClient } from '../../support/http.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { Topology, eventually } from './topology.js';

const HOSTS = { h1: '198.18.0.1', h2: '198.18.0.2', h3: '198.18.0.3' } as const;
type HostName = keyof typeof HOSTS;
const AGENT_DOWN_SECONDS = 3;

interface Vm {
  name: string;
  host: HostName;
  ns: string;
  portId: string;
  mac: string;
  address: string;
}

describe('cloudnet host-agent on three hosts', { timeout: 300_000 }, () => {
  const topo = new Topology();
  let server: TestServer;
  let api: JsonClient;
  const agents = new Map<HostName, ChildProcess & { output: () => string }>();
  const vms: Record<string, Vm> = {};
  const net: Record<string, { id: string; subnet: string; subnet6?: string }> = {};
  const sg: Record<string, string> = {};

  function startAgent(host: HostName) {
    const child = topo.spawn(
      ['node', '--import', 'tsx', 'src/cli/main.ts', 'host-agent', '--host', host, '--server', server.url, '--netns', topo.ns(host), '--tunnel-ip', HOSTS[host],
        '--heartbeat-interval', '0.5', '--resync-interval', '1', '--tap-poll-interval', '0.2', '--provider-interface', 'public:eth-public'],
      { ...server.openrcEnv('admin'), CLOUDNET_LOG_LEVEL: 'debug' },
    );
    agents.set(host, child);
    return child;
  }

  /** The body of a successful call; anything else fails the test with the server's fault. */
  async function ok(response: Promise<{ status: number; body: any }>) {
    const r = await response;
    assert.ok(r.status >= 200 && r.status < 300, `HTTP ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async function addVm(name: string, host: HostName, network: string, address: string, groups: string[], address6?: string): Promise<Vm> {
    const fixedIps = [{ subnet_id: net[network]!.subnet, ip_address: address }, ...(address6 ? [{ subnet_id: net[network]!.subnet6, ip_address: address6 }] : [])];
    const { port } = await ok(api.post('/network/v2.0/ports', {
      port: { network_id: net[network]!.id, fixed_ips: fixedIps, security_groups: groups.map((g) => sg[g]), 'binding:host_id': host, device_owner: 'compute:nova', device_id: name },
    }));
    const mtu = network === 'public' ? 1500 : 1450;
    const ns = await topo.addVm(name, topo.ns(host), { id: port.id, mac: port.mac_address, mtu, address, address6 });
    return (vms[name] = { name, host, ns, portId: port.id, mac: port.mac_address, address });
  }

  const portStatus = async (vm: Vm) => (await ok(api.get(`/network/v2.0/ports/${vm.portId}`))).port.status as string;
  const updatePort = (vm: Vm, port: Record<string, unknown>) => ok(api.put(`/network/v2.0/ports/${vm.portId}`, { port }));

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
    server = await startTestServer({
      dialect: 'sqlite',
      // Quicker liveness than production, so that a killed agent's ports go DOWN within the test's patience.
      apis: [...apiModules().filter((a) => a.prefix !== '/cloudnet/v1'), createCloudnetApi({ hosts: { agentDownTimeSeconds: AGENT_DOWN_SECONDS, livenessCheckMs: 250, streamHeartbeatMs: 1000 } })],
    });
    api = jsonClient(server.url, await server.issueToken());
    await topo.createFabric();
    for (const [h, ip] of Object.entries(HOSTS)) await topo.addHost(h, ip);

    // Both networks use the same subnets: isolation must come from the data plane, not from routing.
    for (const [name, vni] of [['A', 1001], ['B', 1002]] as const) {
      const { network } = await ok(api.post('/network/v2.0/networks', { network: { name, 'provider:network_type': 'vxlan', 'provider:segmentation_id': vni } }));
      const { subnet } = await ok(api.post('/network/v2.0/subnets', { subnet: { network_id: network.id, cidr: '198.18.100.0/24', ip_version: 4 } }));
      const v6 = await ok(api.post('/network/v2.0/subnets', { subnet: { network_id: network.id, cidr: 'fd00:100::/64', ip_version: 6 } }));
      net[name] = { id: network.id, subnet: subnet.id, subnet6: v6.subnet.id };
    }
    // The flat external network, bridged to h1's provider interface.
    const { network: pub } = await ok(api.post('/network/v2.0/networks', { network: { name: 'public', 'provider:network_type': 'flat', 'provider:physical_network': 'public' } }));
    const { subnet: pubSubnet } = await ok(api.post('/network/v2.0/subnets', { subnet: { network_id: pub.id, cidr: '198.18.200.0/24', ip_version: 4, gateway_ip: '198.18.200.1' } }));
    net.public = { id: pub.id, subnet: pubSubnet.id };
    await topo.addProviderNetwork('outside', topo.ns('h1'), 'eth-public', '198.18.200.1');

    // New groups come with Neutron's default egress rules; ingress is only what each group adds.
    for (const name of ['base', 'ssh', 'G']) sg[name] = (await ok(api.post('/network/v2.0/security-groups', { security_group: { name } }))).security_group.id;
    const addRule = (r: Record<string, unknown>) => ok(api.post('/network/v2.0/security-group-rules', { security_group_rule: { direction: 'ingress', ethertype: 'IPv4', ...r } }));
    await addRule({ security_group_id: sg.base, protocol: 'icmp' });
    await addRule({ security_group_id: sg.base, ethertype: 'IPv6', protocol: 'ipv6-icmp' });
    await addRule({ security_group_id: sg.ssh, protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_group_id: sg.G });

    await addVm('a1', 'h1', 'A', '198.18.100.11', ['base', 'ssh'], 'fd00:100::11');
    await addVm('a2', 'h2', 'A', '198.18.100.12', ['base', 'G'], 'fd00:100::12');
    await addVm('a3', 'h3', 'A', '198.18.100.13', ['base']);
    await addVm('b1', 'h2', 'B', '198.18.100.21', ['base']);
    await addVm('b2', 'h3', 'B', '198.18.100.22', ['base']);
    await addVm('p1', 'h1', 'public', '198.18.200.11', ['base']);
    for (const h of Object.keys(HOSTS) as HostName[]) startAgent(h);
    topo.spawn(['ip', 'netns', 'exec', vms.a1!.ns, 'socat', 'TCP-LISTEN:22,fork,reuseaddr', 'SYSTEM:echo hello']);
  });

  after(async () => {
    try {
      if (process.env.CLOUDNET_TEST_VERBOSE) for (const [h, a] of agents) process.stderr.write(`--- ${h}\n${a.output()}\n`);
    } finally {
      await topo.cleanup();
      await server?.close();
    }
  });

  test('agents register; every port is wired and reported ACTIVE', async () => {
    await eventually('all ports ACTIVE', async () => (await Promise.all(Object.values(vms).map(portStatus))).every((s) => s === 'ACTIVE'), 30_000);
  });

  test('VMs on the same network reach each other across hosts over VXLAN; the other network is unreachable', async () => {
    assert.ok(await eventually('a2 -> a1', () => topo.ping(vms.a2!.ns, vms.a1!.address)));
    assert.ok(await eventually('a3 -> a2', () => topo.ping(vms.a3!.ns, vms.a2!.address)));
    assert.ok(await eventually('b1 -> b2', () => topo.ping(vms.b1!.ns, vms.b2!.address)));
    assert.equal(await topo.ping(vms.b1!.ns, vms.a1!.address), false, 'b1 (network B) must not reach a1 (network A)');
    assert.equal(await topo.ping(vms.a1!.ns, vms.b2!.address), false, 'a1 must not reach b2');
    assert.equal(await topo.ping(vms.a2!.ns, vms.b1!.address), false, 'a2 must not reach b1 on the same host');

    // Each network tracks its connections in its own conntrack zone (the bridge's ifindex): the same
    // addresses in two networks never share an entry.
    const h2 = topo.ns('h2');
    const links = JSON.parse(await topo.exec(h2, ['ip', '-j', 'link', 'show', 'type', 'bridge'])) as { ifname: string; ifindex: number }[];
    const zoneOf = (network: string) => links.find((l) => l.ifname === `brq${net[network]!.id.slice(0, 11)}`)!.ifindex;
    const entries = (await topo.conntrackEntries(h2)).filter((l) => l.includes(' icmp ')).join('\n');
    assert.match(entries, new RegExp(`src=${vms.a2!.address} .*zone=${zoneOf('A')}\\b`), entries);
    assert.match(entries, new RegExp(`src=${vms.b1!.address} .*zone=${zoneOf('B')}\\b`), entries);
  });

  test('IPv6 across hosts: neighbour discovery and ICMPv6 pass port security and the tunnels', async () => {
    assert.ok(await eventually('a2 -> a1 over IPv6', () => topo.ping(vms.a2!.ns, 'fd00:100::11')));
    await topo.ip(vms.a2!.ns, 'addr add fd00:100::99/64 dev eth0 nodad');
    assert.equal(await topo.ping(vms.a2!.ns, 'fd00:100::11', ['-I', 'fd00:100::99']), false, 'a spoofed IPv6 source is dropped');
  });

  test('a flat network reaches the outside through the host provider interface', async () => {
    assert.ok(await eventually('p1 -> outside', () => topo.ping(vms.p1!.ns, '198.18.200.1')));
    const [link] = JSON.parse(await topo.exec(topo.ns('h1'), ['ip', '-j', 'link', 'show', 'eth-public'])) as { master?: string }[];
    assert.equal(link?.master, `brq${net.public!.id.slice(0, 11)}`);
  });

  test('ARP for a remote port is answered on the local host (neighbour suppression)', async () => {
    const h1 = topo.ns('h1');
    const fdb = JSON.parse(await topo.exec(h1, ['bridge', '-j', 'fdb', 'show', 'dev', 'vxlan-1001'])) as { mac: string; dst?: string }[];
    assert.deepEqual(fdb.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst).sort(), ['198.18.0.2', '198.18.0.3']);
    // a2 stops answering ARP requests itself; a1 can still resolve it only if h1 answers from its table.
    await topo.exec(vms.a2!.ns, ['nft', 'add table arp t; add chain arp t in { type filter hook input priority 0; }; add rule arp t in arp operation request drop']);
    try {
      await topo.exec(vms.a1!.ns, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
      assert.ok(await topo.ping(vms.a1!.ns, vms.a2!.address), 'a1 resolves a2 through h1');
      const learned = JSON.parse(await topo.exec(vms.a1!.ns, ['ip', '-j', 'neigh', 'show', vms.a2!.address])) as { lladdr: string }[];
      assert.equal(learned[0]?.lladdr, vms.a2!.mac);
    } finally {
      await topo.exec(vms.a2!.ns, ['nft', 'delete', 'table', 'arp', 't']);
    }
  });

  test('tcp/22 from remote group G: members in, others out; a new member gets in with no rule rewritten', async () => {
    assert.ok(await eventually('a2 (in G) connects to a1:22', () => tcp22(vms.a2!, vms.a1!)));
    assert.equal(await tcp22(vms.a3!, vms.a1!), false, 'a3 is not in G');
    const handles = await ruleHandles('h1');
    await updatePort(vms.a3!, { security_groups: [sg.base, sg.G] });
    assert.ok(await eventually('a3 (now in G) connects to a1:22', () => tcp22(vms.a3!, vms.a1!)));
    assert.deepEqual(await ruleHandles('h1'), handles, 'membership is a set element, never a rule');
  });

  test('a spoofed source is dropped; an allowed address pair, or an address inside an allowed CIDR, passes', async () => {
    const a2 = vms.a2!;
    await topo.ip(a2.ns, 'addr add 198.18.100.50/24 dev eth0', 'addr add 198.18.100.53/24 dev eth0');
    const from = (src: string) => topo.ping(a2.ns, vms.a1!.address, ['-I', src]);
    assert.equal(await from('198.18.100.50'), false, 'spoofed .50 must be dropped');
    await updatePort(a2, { allowed_address_pairs: [{ ip_address: '198.18.100.50' }] });
    assert.ok(await eventually('.50 as an allowed pair passes', () => from('198.18.100.50')));
    assert.equal(await from('198.18.100.53'), false, 'spoofed .53 must be dropped');
    await updatePort(a2, { allowed_address_pairs: [{ ip_address: '198.18.100.48/29' }] });
    assert.ok(await eventually('.53 inside the allowed CIDR passes', () => from('198.18.100.53')));
  });

  test('a VIP moving between hosts: its gratuitous ARP reaches the remote VMs at once', async () => {
    const [a1, a2, a3] = [vms.a1!, vms.a2!, vms.a3!];
    const vip = '198.18.100.50'; // inside a2's allowed CIDR since the test above
    await updatePort(a3, { allowed_address_pairs: [{ ip_address: '198.18.100.48/29' }] });
    assert.ok(await eventually('a1 reaches the VIP on a2', () => topo.ping(a1.ns, vip)));
    const macOfVip = async () => (JSON.parse(await topo.exec(a1.ns, ['ip', '-j', 'neigh', 'show', vip])) as { lladdr?: string }[])[0]?.lladdr;
    assert.equal(await macOfVip(), a2.mac);
    // Failover: a2 lets go, a3 takes the address and announces it, as keepalived would.
    await topo.ip(a2.ns, `addr del ${vip}/24 dev eth0`);
    await topo.ip(a3.ns, `addr add ${vip}/24 dev eth0 nodad`);
    await eventually('h3 copies gratuitous ARP to the tunnels', async () => (await topo.exec(topo.ns('h3'), ['nft', 'list', 'table', 'netdev', 'cloudnet'])).includes(tapName(a3.portId)), 10_000);
    await topo.gratuitousArp(a3.ns, 'eth0', a3.mac, vip);
    await eventually("a1's neighbour entry for the VIP moves to a3's MAC", async () => (await macOfVip()) === a3.mac, 2000, 100);
    assert.ok(await topo.ping(a1.ns, vip), 'a1 reaches the VIP on a3');
  });

  test('a continuous ping loses nothing while an agent restarts, and the restart changes nothing', async () => {
    const handles = await ruleHandles('h1');
    const count = 120; // 6 s at 50 ms
    const ping = topo.exec(vms.a2!.ns, ['ping', '-q', '-i', '0.05', '-c', String(count), '-W', '1', vms.a1!.address], 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    await topo.stopChild(agents.get('h1')!);
    await new Promise((r) => setTimeout(r, 500));
    const restarted = startAgent('h1');
    // Its first pass on the snapshot: it must find the kernel right and apply nothing.
    const firstPass = await eventually('the restarted agent made its first pass', async () => restarted.output().split('\n').find((l) => l.includes('"msg":"pass"')), 15_000);
    assert.match(firstPass, /"ops":0/, firstPass);
    const summary = await ping;
    assert.match(summary, new RegExp(`${count} packets transmitted, ${count} received, 0% packet loss`), summary);
    assert.deepEqual(await ruleHandles('h1'), handles, 'a restart must not rewrite rules');
  });

  test('anti-entropy restores a rule deleted by hand', async () => {
    const h1 = topo.ns('h1');
    const chain = `sg_${sg.ssh}_ingress`;
    const list = async () => JSON.parse(await topo.exec(h1, ['nft', '-j', 'list', 'chain', 'inet', 'cloudnet', chain])) as { nftables: { rule?: { handle: number; comment?: string } }[] };
    const [victim] = (await list()).nftables.filter((o) => o.rule).map((o) => o.rule!);
    assert.ok(victim, 'the tcp/22 rule exists');
    await topo.exec(h1, ['nft', 'delete', 'rule', 'inet', 'cloudnet', chain, 'handle', String(victim.handle)]);
    const restored = await eventually('the rule is back', async () => (await list()).nftables.find((o) => o.rule?.comment === victim.comment)?.rule, 10_000);
    assert.notEqual(restored.handle, victim.handle);
    assert.ok(await eventually('a2 connects to a1:22 again', () => tcp22(vms.a2!, vms.a1!)));
  });

  test("killing a host's agent marks its ports DOWN in time; restarting it brings them back ACTIVE", async () => {
    const killedAt = Date.now();
    await topo.stopChild(agents.get('h3')!, 'SIGKILL');
    await eventually('h3 ports DOWN', async () => (await portStatus(vms.a3!)) === 'DOWN' && (await portStatus(vms.b2!)) === 'DOWN', 15_000);
    assert.ok(Date.now() - killedAt < (AGENT_DOWN_SECONDS + 3) * 1000, `took ${Date.now() - killedAt} ms`);
    assert.equal(await portStatus(vms.a2!), 'ACTIVE', 'other hosts are not affected');
    startAgent('h3');
    await eventually('h3 ports ACTIVE again', async () => (await portStatus(vms.a3!)) === 'ACTIVE' && (await portStatus(vms.b2!)) === 'ACTIVE', 15_000);
  });

  test('a port whose tap is gone is reported DOWN', async () => {
    await topo.ip(topo.ns('h3'), `link del ${tapName(vms.b2!.portId)}`);
    await eventually('b2 DOWN', async () => (await portStatus(vms.b2!)) === 'DOWN', 10_000);
  });

  test('a deleted port is unplugged and its rules go; a network without local ports leaves the host', async () => {
    const b1 = vms.b1!;
    await ok(api.delete(`/network/v2.0/ports/${b1.portId}`));
    const h2 = topo.ns('h2');
    await eventually('tap unplugged', async () => {
      const [link] = JSON.parse(await topo.exec(h2, ['ip', '-j', 'link', 'show', tapName(b1.portId)])) as { master?: string }[];
      return link && !link.master;
    });
    await eventually('no element of the deleted port remains', async () => !(await topo.exec(h2, ['nft', 'list', 'ruleset'])).includes(tapName(b1.portId)));
    await eventually('vxlan-1002 removed from h2', async () => !(await topo.exec(h2, ['ip', '-j', 'link', 'show'])).includes('vxlan-1002'));
  });
  test('an allowed address pair passes only with its own MAC, or the port\'s when it names none', async () => {
    const a1 = vms.a1!;
    const m1 = await addVm('m1', 'h3', 'A', '198.18.100.30', ['base']);
    await eventually('m1 ACTIVE', async () => (await portStatus(m1)) === 'ACTIVE');
    const [mac2, mac3] = ['fa:16:3e:aa:00:02', 'fa:16:3e:aa:00:03'];
    // A second MAC inside the VM (a macvlan on eth0); each interface answers ARP only for its own addresses.
    await topo.exec(m1.ns, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
    await topo.ip(m1.ns, `link add mv0 link eth0 address ${mac2} type macvlan mode bridge`, 'link set mv0 up', 'addr add 198.18.100.60/24 dev mv0');
    await updatePort(m1, {
      allowed_address_pairs: [
        { ip_address: '198.18.100.60', mac_address: mac2 },
        { ip_address: '198.18.100.62', mac_address: mac3 },
        { ip_address: '198.18.100.63' },
      ],
    });
    // a1 must resolve the address afresh each time: its answer is what anti-spoofing judges.
    const from = async (ifname: string, address: string) => {
      await topo.ip(a1.ns, `neigh flush to ${address}`);
      return topo.ping(m1.ns, a1.address, ['-I', ifname]);
    };
    assert.ok(await eventually('.60 from its own MAC passes', () => from('mv0', '198.18.100.60')));
    await topo.ip(m1.ns, `link set mv0 address ${mac3}`);
    assert.equal(await from('mv0', '198.18.100.60'), false, '.60 from another allowed MAC is dropped');
    await topo.ip(m1.ns, 'addr flush dev mv0', 'addr add 198.18.100.63/24 dev mv0');
    assert.equal(await from('mv0', '198.18.100.63'), false, 'a pair without a MAC does not pass from another MAC');
    await topo.ip(m1.ns, 'link del mv0', 'addr add 198.18.100.63/24 dev eth0');
    assert.ok(await eventually('a pair without a MAC passes from the port\'s MAC', () => from('198.18.100.63', '198.18.100.63')));
  });

  test('a stateless group: return traffic needs its own rule, and the port\'s packets are not tracked', async () => {
    const a1 = vms.a1!;
    // New groups get Neutron's default egress rules (allow all), so each group here allows egress only.
    const group = async (name: string, stateful: boolean) =>
      (await ok(api.post('/network/v2.0/security-groups', { security_group: { name, stateful } }))).security_group.id as string;
    sg.tracked = await group('tracked', true);
    sg.stateless = await group('stateless', false);
    const s1 = await addVm('s1', 'h2', 'A', '198.18.100.70', ['tracked']);
    await eventually('s1 ACTIVE', async () => (await portStatus(s1)) === 'ACTIVE');
    assert.ok(await eventually('stateful: the echo reply comes back by conntrack', () => topo.ping(s1.ns, a1.address)));
    const h2 = topo.ns('h2');
    const udp = (ns: string, to: string, port: number) => topo.exec(ns, ['sh', '-c', `echo x | socat -u - UDP:${to}:${port}`]);
    const tracked = async (port: number) =>
      (await topo.conntrackEntries(h2)).filter((l) => l.includes(`=${s1.address} `) && l.includes(`dport=${port} `));
    await udp(s1.ns, a1.address, 9997);
    assert.equal((await tracked(9997)).length, 1, 'a stateful port\'s flow is tracked on its host');

    await updatePort(s1, { security_groups: [sg.stateless] });
    await eventually('h2 filters s1 statelessly', async () => (await topo.exec(h2, ['nft', 'list', 'set', 'inet', 'cloudnet', 'stateless_macs'])).includes(s1.mac));
    assert.equal(await topo.ping(s1.ns, a1.address), false, 'stateless without an ingress rule: the echo reply is dropped');
    await ok(api.post('/network/v2.0/security-group-rules', { security_group_rule: { security_group_id: sg.stateless, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' } }));
    assert.ok(await eventually('stateless with an ingress rule for ICMP: the reply passes', () => topo.ping(s1.ns, a1.address)));
    assert.ok(await topo.ping(a1.ns, s1.address), 'and a1 reaches s1');
    await udp(s1.ns, a1.address, 9998);
    await udp(a1.ns, s1.address, 9999);
    assert.deepEqual([...(await tracked(9998)), ...(await tracked(9999))], [], 'no flow from or to the stateless port is tracked on its host');
  });
});
