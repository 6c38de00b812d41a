/**
 * The kernel facts the host agent's filtering design rests on (docs/architecture.md, host agent), checked
 * on the machine the tests run on: if a kernel update changes one of them, this fails before the agent does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execTool } from '../../../src/lib/exec.js';
import { addNetns } from '../../../src/lib/netns.js';
import { Topology } from './topology.js';

const topo = new Topology();
let host = '';
let a = '';

before(async () => {
  host = topo.ns('h');
  await addNetns(host);
  await topo.ip(host, 'link add br0 type bridge', 'link set br0 up');
  a = await topo.addVm('a', host, { id: 'aaaaaaaaaaaaaaaa', mac: 'fa:16:3e:00:00:0a', mtu: 1500, address: '198.18.1.1' });
  await topo.addVm('b', host, { id: 'bbbbbbbbbbbbbbbb', mac: 'fa:16:3e:00:00:0b', mtu: 1500, address: '198.18.1.2' });
  await topo.ip(host, 'link set tapaaaaaaaaaaa master br0 up', 'link set tapbbbbbbbbbbb master br0 up');
  await topo.exec(host, ['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1']);
});

after(() => topo.cleanup());

const nft = (script: string) => execTool('ip', ['netns', 'exec', host, 'nft', '-f', '-'], { input: script });

test('the bridge family has no connection tracking here', async () => {
  await assert.rejects(nft('table bridge probe { chain c { type filter hook forward priority 0; ct state established accept; } }'));
});

test('inet hooks see the bridge, not the port, as the interface of bridged packets; bridge-family marks arrive', async () => {
  await nft(`
table bridge m {
  chain pre { type filter hook prerouting priority -300; iifname "tapaaaaaaaaaaa" meta mark set 0x00000007; }
  chain fw { type filter hook forward priority -200; oifname "tapbbbbbbbbbbb" meta mark set meta mark & 0x0000ffff | 0x00050000; }
}
table inet probe {
  counter pre_tap {}
  counter pre_br {}
  counter fwd_tap {}
  counter fwd_br {}
  counter fwd_marked {}
  counter ct_new {}
  chain pre { type filter hook prerouting priority 0; ip daddr 198.18.1.2 iifname "tapaaaaaaaaaaa" counter name pre_tap; ip daddr 198.18.1.2 iifname "br0" counter name pre_br; }
  chain fw { type filter hook forward priority 0;
    ip daddr 198.18.1.2 oifname "tapbbbbbbbbbbb" counter name fwd_tap
    ip daddr 198.18.1.2 oifname "br0" counter name fwd_br
    ip daddr 198.18.1.2 meta mark 0x00050007 counter name fwd_marked
    ip daddr 198.18.1.2 ct state new counter name ct_new
  }
}`);
  await topo.exec(a, ['ping', '-c', '3', '-i', '0.2', '-W', '1', '198.18.1.2']);
  const counters = JSON.parse(await topo.exec(host, ['nft', '-j', 'list', 'counters', 'table', 'inet', 'probe'])) as { nftables: { counter?: { name: string; packets: number } }[] };
  const packets = Object.fromEntries(counters.nftables.filter((o) => o.counter).map((o) => [o.counter!.name, o.counter!.packets]));
  assert.deepEqual(packets, { pre_tap: 0, pre_br: 3, fwd_tap: 0, fwd_br: 3, fwd_marked: 3, ct_new: 1 });
});
