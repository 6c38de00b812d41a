/**
 * A port forwards nothing before its rules are in place: one convergence pass against a real host namespace,
 * stopped at the moment it tells the kernel to put the tap into its bridge, when the tap starts forwarding.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPlane } from '../../../src/agents/host/dataplane.js';
import { NFT_TABLE, bridgeName, tapName } from '../../../src/agents/host/names.js';
import { toolRunner, type ToolRunner } from '../../../src/lib/netns.js';
import { sampleTarget } from '../../unit/agents/host/fixtures.js';
import { Topology } from './topology.js';

const topo = new Topology();
after(() => topo.cleanup());

test('a tap joins its bridge only after the transaction that filters it', async () => {
  await topo.createFabric();
  const host = await topo.addHost('h1', '198.18.0.1');
  const target = sampleTarget();
  const port = target.ports.port1aaaaaaaaaaa!;
  const tap = tapName(port.id);
  await topo.addVm('vm1', host, { id: port.id, mac: port.mac, mtu: port.mtu, address: port.fixedIps[0]!.ipAddress });
  await topo.ip(host, `link set ${tap} up`);

  const kernel = toolRunner(host);
  const elements = async (kind: 'set' | 'map', family: string, name: string) => {
    const { stdout } = await kernel.run('nft', ['-j', 'list', kind, family, NFT_TABLE, name]).catch(() => ({ stdout: '{"nftables":[]}' }));
    const set = (JSON.parse(stdout) as { nftables: { set?: { elem?: unknown[] }; map?: { elem?: unknown[] } }[] }).nftables.find((o) => o.set ?? o.map);
    return JSON.stringify((set?.set ?? set?.map)?.elem ?? []);
  };
  const atPlugging: { protectedTaps: string; marks: string; egress: string }[] = [];
  const watching: ToolRunner = {
    netns: host,
    async run(file, args, options) {
      if (file === 'ip' && args[0] === '-batch' && String(options?.input ?? '').includes(`${tap} master`)) {
        atPlugging.push({ protectedTaps: await elements('set', 'bridge', 'protected'), marks: await elements('map', 'bridge', 'in_marks'), egress: await elements('map', 'inet', 'egress_ports') });
      }
      return kernel.run(file, args, options);
    },
  };

  const result = await new DataPlane(watching).reconcile(target, { fresh: true });
  assert.equal(atPlugging.length, 1, 'the pass plugs the tap once');
  const [seen] = atPlugging;
  assert.ok(seen!.protectedTaps.includes(tap), `anti-spoofing covers ${tap} before it joins the bridge (protected: ${seen!.protectedTaps})`);
  assert.ok(seen!.marks.includes(tap), `${tap} is marked before it joins the bridge (in_marks: ${seen!.marks})`);
  assert.notEqual(seen!.egress, '[]', 'its security groups are attached before it joins the bridge');

  const links = JSON.parse((await kernel.run('ip', ['-j', 'link', 'show', tap])).stdout) as { master?: string }[];
  assert.equal(links[0]?.master, bridgeName(port.networkId), 'the pass leaves the tap in its bridge');
  assert.deepEqual([...result.wired], [port.id]);
  const again = await new DataPlane(kernel).reconcile(target, { fresh: true });
  assert.equal(again.ipOps + again.bridgeOps + again.nftOps, 0, 'a second pass finds nothing to do');
});
