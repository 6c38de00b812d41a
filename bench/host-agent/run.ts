/**
 * bench/host-agent: the kernel apply rate of one host agent in one host namespace.
 *
 *   node --import tsx bench/host-agent/run.ts [--ports 2000] [--changes 20]
 *
 * Wires N ports (taps made beforehand, as the hypervisor would) on VXLAN networks of 500, with a security group
 * whose remote group is itself (Neutron's default group: N members in one set), then times: the first pass
 * (ports/s), a pass with nothing to do (an agent restart), and single changes on the full host (a member
 * joining the set, one more port, one rule added). The anchor, side by side: the same single change applied
 * the way a flush-and-reinstall agent would (delete our tables and load the whole ruleset in one transaction).
 * Runs as root; everything lives in one namespace named cn-<random>-bench, deleted at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DataPlane } from '../../src/agents/host/dataplane.js';
import { readLinks } from '../../src/agents/host/live.js';
import { NFT_TABLE, tapName } from '../../src/agents/host/names.js';
import { planNftables } from '../../src/agents/host/nft-plan.js';
import { renderRuleset } from '../../src/agents/host/ruleset.js';
import { rulesetKeys } from '../../src/agents/host/dataplane.js';
import type { HostTargetState, LocalPort } from '../../src/feed/target-state.js';
import { addNetns, deleteNetns, toolRunner } from '../../src/lib/netns.js';
import { ms, summarize } from '../lib/stats.js';

const { values: args } = parseArgs({ options: { ports: { type: 'string', default: '2000' }, changes: { type: 'string', default: '20' } } });
const PORTS = Math.min(Number(args.ports), 16_000);
const CHANGES = Math.min(Number(args.changes), 200);

const ns = `cn-${randomBytes(3).toString('hex')}-bench`;
const plain = toolRunner(ns);
const runner: typeof plain = { netns: ns, run: async (f, a, o) => { const t0 = performance.now(); try { return await plain.run(f, a, o); } finally { if (process.env.BENCH_TRACE) console.log("  ", f, a.slice(0, 3).join(" "), (performance.now() - t0).toFixed(1)); } } };
/** A Linux bridge holds at most 1023 ports (BR_MAX_PORTS): the ports are spread over networks of 500. */
const PER_NETWORK = 500;
const NETS: string[] = Array.from({ length: Math.ceil((PORTS + CHANGES) / PER_NETWORK) }, () => randomUUID());
const SG = randomUUID();

/** 198.18.0.0/15 has room for 128k addresses: port i gets 198.18.(i / 250 + 1).(i % 250 + 1). */
const address = (i: number) => `198.18.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;
const mac = (i: number) => `fa:16:3e:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

function port(i: number): LocalPort {
  return {
    id: randomUUID(), networkId: NETS[Math.floor(i / PER_NETWORK)]!, mac: mac(i), mtu: 1450, adminStateUp: true, fixedIps: [{ subnetId: 's', ipAddress: address(i) }],
    portSecurityEnabled: true, allowedAddressPairs: [], securityGroupIds: [SG], deviceOwner: 'compute:nova', deviceId: `vm${i}`,
  };
}

function target(ports: LocalPort[]): HostTargetState {
  const t: HostTargetState = {
    revision: 1,
    host: { name: 'bench', tunnelIp: '198.18.0.1', providerInterfaces: {} },
    networks: Object.fromEntries(
      [...new Set(ports.map((p) => p.networkId))].map((id) => [id, { id, type: 'vxlan', vni: 5000 + NETS.indexOf(id), physicalNetwork: null, mtu: 1450, subnets: [] }]),
    ),
    ports: Object.fromEntries(ports.map((p) => [p.id, p])),
    remotePorts: {},
    securityGroups: {
      [SG]: {
        id: SG,
        stateful: true,
        rules: [
          { id: 'e4', direction: 'egress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null },
          { id: 'i4', direction: 'ingress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: SG },
        ],
      },
    },
    addressSets: { [SG]: { securityGroupId: SG, addresses: ports.map((p) => p.fixedIps[0]!.ipAddress) } },
  };
  for (let r = 0; r < 50; r++) {
    t.remotePorts[`r${r}`] = { id: `r${r}`, networkId: NETS[0]!, mac: mac(60_000 + r), ipAddresses: [`198.19.0.${r + 1}`], tunnelIp: `198.18.0.${2 + (r % 3)}` };
  }
  return t;
}

async function makeTaps(ports: LocalPort[]): Promise<void> {
  const lines = ports.map((p, i) => `link add ${tapName(p.id)} type veth peer name v${i}-${p.id.slice(0, 6)}`);
  for (let i = 0; i < lines.length; i += 500) await runner.run('ip', ['-batch', '-'], { input: lines.slice(i, i + 500).join('\n') + '\n', timeoutMs: 120_000 });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main() {
  await addNetns(ns);
  try {
    await runner.run('ip', ['link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink-peer']);
    await runner.run('ip', ['addr', 'add', '198.18.0.1/24', 'dev', 'uplink']);
    const dp = new DataPlane(runner);
    const ports = Array.from({ length: PORTS + CHANGES }, (_, i) => port(i));
    const base = ports.slice(0, PORTS);
    const spare = ports.slice(PORTS);
    await makeTaps(ports);

    const state = target(base);
    const first = await timed(() => dp.reconcile(state, { fresh: true }));
    // A restarted agent knows nothing: it reads everything back, and must find nothing to do.
    const noop = await timed(async () => {
      const r = await new DataPlane(runner).reconcile(state, { fresh: true });
      if (r.ipOps + r.bridgeOps + r.nftOps !== 0) throw new Error('a second pass over a converged host applied operations');
    });

    const member: number[] = [];
    const newPort: number[] = [];
    const reinstall: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      state.addressSets[SG]!.addresses.push(`198.19.1.${c + 1}`);
      member.push(await timed(() => dp.reconcile(state, { fresh: false })));
      state.ports[spare[c]!.id] = spare[c]!;
      newPort.push(await timed(() => dp.reconcile(state, { fresh: false })));
      // The anchor: a pass of a flush-and-reinstall agent on the same state: read the links, render, load the
      // whole ruleset from scratch in one transaction.
      reinstall.push(
        await timed(async () => {
          const keys = rulesetKeys(state, await readLinks(runner));
          const full = planNftables(renderRuleset(state, keys), new Map(), NFT_TABLE);
          await runner.run('nft', ['-f', '-'], { input: `delete table bridge ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n${full}`, timeoutMs: 120_000 });
        }),
      );
    }

    const m = summarize(member);
    const p = summarize(newPort);
    const r = summarize(reinstall);
    console.log(`host agent, one host namespace, ${PORTS} ports on ${Object.keys(state.networks).length} VXLAN networks, one security group with itself as remote group`);
    console.log(`first pass (wire every port, rules, sets):   ${ms(first)} ms  = ${(PORTS / (first / 1000)).toFixed(0)} ports/s`);
    console.log(`pass with nothing to do (agent restart):     ${ms(noop)} ms, 0 operations`);
    const resync = await timed(() => dp.reconcile(state, { fresh: true }));
    console.log(`anti-entropy pass (reads everything back):   ${ms(resync)} ms`);
    console.log(`one member joins the set         p50 ${ms(m.p50)} ms  p99 ${ms(m.p99)} ms  (n=${m.n})`);
    console.log(`one port added (tap present)     p50 ${ms(p.p50)} ms  p99 ${ms(p.p99)} ms  (n=${p.n})`);
    console.log(`anchor: flush-and-reinstall pass p50 ${ms(r.p50)} ms  p99 ${ms(r.p99)} ms  (n=${r.n})`);
    console.log(`ratio anchor / incremental (p50): member ${(r.p50 / m.p50).toFixed(1)}x, port ${(r.p50 / p.p50).toFixed(1)}x`);
  } finally {
    await deleteNetns(ns);
  }
}

main().catch(async (err: unknown) => {
  console.error(err);
  await deleteNetns(ns).catch(() => undefined);
  process.exitCode = 1;
});
