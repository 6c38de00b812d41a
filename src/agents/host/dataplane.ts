import type { HostTargetState } from '../../feed/target-state.js';
import type { ToolRunner } from '../../lib/netns.js';
import { expectedForwarding, planLinks } from './link-plan.js';
import { readLinks, readLiveState, type KnownState, type LiveLink } from './live.js';
import { NFT_TABLE, bridgeName, tapName } from './names.js';
import { expectedRuleset, planNftables } from './nft-plan.js';
import { MAX_PORT_MARK, renderRuleset, type RulesetKeys } from './ruleset.js';

/**
 * One convergence pass: read the kernel, plan, apply. The same pass serves the first start, a restart, a
 * feed update and anti-entropy; when the kernel already matches, it writes nothing.
 */
export interface ReconcileResult {
  /** Ports whose tap is in its bridge with its rules in place: what the agent reports ACTIVE. */
  wired: Set<string>;
  /** Plugged ports whose tap's ifindex is too large to serve as a mark: not wired. */
  unmarkable: string[];
  ipOps: number;
  bridgeOps: number;
  nftOps: number;
}

/** br_netfilter hands bridged IP to the inet hooks only with these on (per network namespace). */
const SYSCTLS = ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'];

export interface ReconcileOptions {
  /**
   * Read everything back from the kernel. Otherwise a pass reads only links and diffs the rest against what
   * the previous pass wrote: listing a large ruleset or FDB costs more than the change itself, and
   * anti-entropy (fresh) passes catch drift.
   */
  fresh: boolean;
}

/** What the agent needs from a data plane (the kernel here; a fake in the agent's tests). */
export interface Converger {
  reconcile(target: HostTargetState, options: ReconcileOptions): Promise<ReconcileResult>;
  presentTaps(target: HostTargetState): Promise<string[]>;
}

export class DataPlane implements Converger {
  /** Ruleset and forwarding entries as the last successful pass left them; unknown at start and after any failure. */
  private written: KnownState | undefined;

  constructor(private readonly runner: ToolRunner) {}

  async reconcile(target: HostTargetState, { fresh }: ReconcileOptions): Promise<ReconcileResult> {
    const known = fresh ? undefined : this.written;
    this.written = undefined;
    if (!known) await this.ensureSysctls();
    const live = await readLiveState(this.runner, NFT_TABLE, known);
    const links = planLinks(target, live);
    if (links.ip.length) await this.runner.run('ip', ['-batch', '-'], { input: links.ip.join('\n') + '\n' });
    if (links.bridge.length) await this.runner.run('bridge', ['-batch', '-'], { input: links.bridge.join('\n') + '\n' });
    const liveLinks = links.ip.length ? await readLinks(this.runner) : live.links;

    const keys = rulesetKeys(target, liveLinks);
    const desired = renderRuleset(target, keys);
    const script = planNftables(desired, live.ruleset, NFT_TABLE);
    if (script) await this.runner.run('nft', ['-f', '-'], { input: script });
    // Taps join their bridges only now, with their rules in place: a port never forwards a packet unfiltered.
    if (links.plug.length) await this.runner.run('ip', ['-batch', '-'], { input: links.plug.join('\n') + '\n' });
    this.written = { ruleset: expectedRuleset(desired, NFT_TABLE), ...expectedForwarding(target) };
    return {
      wired: new Set(keys.marks.keys()),
      unmarkable: keys.unmarkable,
      ipOps: links.ip.length + links.plug.length,
      bridgeOps: links.bridge.length,
      nftOps: script ? script.trimEnd().split('\n').length : 0,
    };
  }

  /** The tap names of the target's ports that exist on the host (cheap: names only), to notice plugging. */
  async presentTaps(target: HostTargetState): Promise<string[]> {
    const { stdout } = await this.runner.run('ip', ['-j', 'link', 'show']);
    const names = new Set((JSON.parse(stdout || '[]') as { ifname: string }[]).map((l) => l.ifname));
    return Object.values(target.ports).map((p) => tapName(p.id)).filter((n) => names.has(n)).sort();
  }

  private async ensureSysctls(): Promise<void> {
    const { stdout } = await this.runner.run('sysctl', ['-n', ...SYSCTLS]);
    if (stdout.split('\n').filter(Boolean).some((v) => v.trim() !== '1')) {
      await this.runner.run('sysctl', ['-q', '-w', ...SYSCTLS.map((s) => `${s}=1`)]);
    }
  }
}

/**
 * Marks of the ports whose tap exists (the pass plugs each into its network's bridge once the rules keyed on
 * these marks are in place), zones of our bridges. A port whose tap's ifindex does not fit the 16 bits of a
 * mark half is left out of its bridge (and reported): it cannot be filtered.
 */
export function rulesetKeys(target: HostTargetState, links: LiveLink[]): RulesetKeys & { unmarkable: string[] } {
  const byName = new Map(links.map((l) => [l.name, l]));
  const marks = new Map<string, number>();
  const unmarkable: string[] = [];
  for (const port of Object.values(target.ports)) {
    const tap = byName.get(tapName(port.id));
    if (!tap || !target.networks[port.networkId]) continue;
    if (tap.ifindex <= MAX_PORT_MARK) marks.set(port.id, tap.ifindex);
    else unmarkable.push(port.id);
  }
  const zones = new Map<string, number>();
  for (const network of Object.values(target.networks)) {
    const bridge = byName.get(bridgeName(network.id));
    if (bridge && bridge.ifindex <= MAX_PORT_MARK) zones.set(bridge.name, bridge.ifindex);
  }
  return { marks, zones, unmarkable };
}
