import { backendsOf, renderHaproxyConfig, type HaproxyRenderOptions } from './haproxy-config.js';
import type { LoadBalancer, Member } from './types.js';

/**
 * How the agent brings a running HAProxy from one tree to the next: through the runtime API when only
 * members' weights and admin states changed (no reload, no new process, no connection touched), by a reload
 * otherwise. Either way the agent also writes the new config, so a later reload starts from the same state.
 */
export type RuntimePlan = { reload: false; commands: string[] } | { reload: true };

export function planRuntimeUpdate(current: LoadBalancer, next: LoadBalancer, options: HaproxyRenderOptions): RuntimePlan {
  // Two trees that render the same config once weights and admin states are set aside differ only in those.
  if (renderHaproxyConfig(withoutMemberState(current), options) !== renderHaproxyConfig(withoutMemberState(next), options)) return { reload: true };
  // The commands that set each member's state, minus those that already held before: what changed.
  const before = new Set(memberStateCommands(current));
  return { reload: false, commands: memberStateCommands(next).filter((c) => !before.has(c)) };
}

/**
 * The runtime API commands that put every member of every backend in the tree's weight and admin state. After a
 * reload the agent sends them all: the server state file carries a member disabled through the runtime API
 * into the new worker, even when the new config enables it. An enabled member that no check watches is also
 * declared up: the state file restores it as stopped, `enable server` only lifts the maintenance, and nothing
 * would ever bring it back (octavia-tempest-plugin's member updates found it DOWN, its traffic cut).
 */
export function memberStateCommands(lb: LoadBalancer): string[] {
  const pools = new Map(lb.pools.map((p) => [p.id, p]));
  return backendsOf(lb).flatMap((backend) => {
    const pool = pools.get(backend.poolId)!;
    const unchecked = !pool.healthMonitor?.adminStateUp;
    return [...pool.members]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .flatMap((m) => {
        const server = `${backend.name}/${m.id}`;
        if (!m.adminStateUp) return [`set server ${server} weight ${m.weight}`, `disable server ${server}`];
        return [`set server ${server} weight ${m.weight}`, `enable server ${server}`, ...(unchecked ? [`set server ${server} health up`] : [])];
      });
  });
}

function withoutMemberState(lb: LoadBalancer): LoadBalancer {
  const neutral = (m: Member): Member => ({ ...m, weight: 1, adminStateUp: true });
  return { ...lb, pools: lb.pools.map((p) => ({ ...p, members: p.members.map(neutral) })) };
}
