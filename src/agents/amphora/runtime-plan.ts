import { backendsOf, renderHaproxyConfig, type HaproxyRenderOptions } from './haproxy-config.js';
import type { LoadBalancer, Member } from './types.js';

/**
 * How the agent brings a running HAProxy from one tree to the next: through the runtime API when only members
 * were added or their weights and admin states changed (no reload, no new process, no connection touched), by a
 * reload otherwise. Either way the agent also writes the new config, so a later reload starts from the same state.
 */
export type RuntimePlan = { reload: false; commands: string[] } | { reload: true };

/** `nextConfig` is `next` rendered with `options`, which the caller has at hand already. */
export function planRuntimeUpdate(current: LoadBalancer, next: LoadBalancer, options: HaproxyRenderOptions, nextConfig = renderHaproxyConfig(next, options)): RuntimePlan {
  const added = addedMembers(current, next);
  // Two trees that render the same config once weights, admin states and new members are set aside differ only in those.
  if (renderHaproxyConfig(withoutMemberState(current), options) !== renderHaproxyConfig(withoutMemberState(withoutMembers(next, added)), options)) return { reload: true };
  const adds = addServerCommands(next, added, nextConfig);
  if (!adds) return { reload: true };
  // The commands that set each member's state, minus those that already held before: what changed.
  const before = new Set(memberStateCommands(current));
  return { reload: false, commands: [...adds, ...memberStateCommands(next).filter((c) => !before.has(c))] };
}

/** Members of `next` that `current` does not have, by pool. */
function addedMembers(current: LoadBalancer, next: LoadBalancer): Map<string, Set<string>> {
  const known = new Set(current.pools.flatMap((p) => p.members.map((m) => `${p.id}/${m.id}`)));
  const added = new Map<string, Set<string>>();
  for (const pool of next.pools) {
    const ids = pool.members.filter((m) => !known.has(`${pool.id}/${m.id}`)).map((m) => m.id);
    if (ids.length) added.set(pool.id, new Set(ids));
  }
  return added;
}

function withoutMembers(lb: LoadBalancer, members: Map<string, Set<string>>): LoadBalancer {
  return { ...lb, pools: lb.pools.map((p) => ({ ...p, members: p.members.filter((m) => !members.get(p.id)?.has(m.id)) })) };
}

/**
 * `add server` for each new member on each backend of its pool, with its server line as rendered, and `enable
 * health` when it is checked (a server added at runtime starts in maintenance without checks; the state commands
 * then enable it). Undefined when a pool balances by a map-based hash (`balance source`), which takes no server
 * at runtime.
 */
function addServerCommands(next: LoadBalancer, added: Map<string, Set<string>>, config: string): string[] | undefined {
  if (added.size === 0) return [];
  if (next.pools.some((p) => added.has(p.id) && p.lbAlgorithm === 'SOURCE_IP')) return undefined;
  return backendsOf(next).flatMap((backend) =>
    [...(added.get(backend.poolId) ?? [])].sort().flatMap((id) => {
      const line = serverLine(config, backend.name, id);
      return [`add server ${backend.name}/${line}`, ...(/ check( |$)/.test(line) ? [`enable health ${backend.name}/${id}`] : [])];
    }),
  );
}

/** `<id> <address> <options…>` of the server line of member `id` in `backend`'s section of a rendered config. */
function serverLine(config: string, backend: string, id: string): string {
  const section = config.split('\n\n').find((s) => s.startsWith(`backend ${backend}\n`));
  const line = section?.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`server ${id} `));
  if (!line) throw new Error(`the rendered config has no server ${id} in backend ${backend}`);
  return line.slice('server '.length);
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
