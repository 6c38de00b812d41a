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
  const before = new Map(current.pools.flatMap((p) => p.members.map((m) => [`${p.id}/${m.id}`, m] as const)));
  const commands: string[] = [];
  for (const backend of backendsOf(next)) {
    const pool = next.pools.find((p) => p.id === backend.poolId)!;
    for (const member of [...pool.members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const old = before.get(`${pool.id}/${member.id}`)!;
      const server = `${backend.name}/${member.id}`;
      if (old.weight !== member.weight) commands.push(`set server ${server} weight ${member.weight}`);
      if (old.adminStateUp !== member.adminStateUp) commands.push(`${member.adminStateUp ? 'enable' : 'disable'} server ${server}`);
    }
  }
  return { reload: false, commands };
}

function withoutMemberState(lb: LoadBalancer): LoadBalancer {
  const neutral = (m: Member): Member => ({ ...m, weight: 1, adminStateUp: true });
  return { ...lb, pools: lb.pools.map((p) => ({ ...p, members: p.members.map(neutral) })) };
}
