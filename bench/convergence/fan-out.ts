/**
 * A model of Neutron's way of moving state to agents, built from the feed's own parts (the same relevance index,
 * the same messages, the same streams): only who is sent what differs.
 *
 * - A port change of any kind (status included) goes to every agent on the port's network: ML2's `port_update`
 *   and the l2population driver's `add_fdb_entries`/`remove_fdb_entries` to the agents hosting the network.
 * - A change of a security group's members goes to every agent (`security_groups_member_updated` is a fanout);
 *   each agent that enforces a rule naming the group then fetches the group's whole member list again
 *   (`security_group_info_for_devices`). Here: every agent is sent the key `addressSet:<group>`, which is the
 *   whole set for an agent that holds it (the re-fetch) and a one-line `delete` naming the group for the others
 *   (the notification).
 * - A change of a security group's rules, a network or a subnet goes to every agent (fanout topics).
 * - A returning agent always gets its whole slice (Neutron agents resync fully on start and on RPC trouble).
 */
import type { FanOutPolicy } from '../../src/feed/hub.js';
import type { RelevanceIndex, TouchedKeys, TouchMode } from '../../src/feed/relevance-index.js';
import type { LoggedChange } from '../../src/store/changelog.js';

type Wire = Record<string, unknown> | null | undefined;

export const NEUTRON_FAN_OUT: FanOutPolicy = {
  touched: neutronTouched,
  snapshotOnResume: () => true,
};

function neutronTouched(index: RelevanceIndex, change: LoggedChange, connectedHosts: () => Iterable<string>, mode: TouchMode): TouchedKeys {
  const out = index.touched(change, mode);
  const add = (host: string, key: string) => {
    let keys = out.get(host);
    if (!keys) out.set(host, (keys = new Set()));
    keys.add(key);
  };
  const before = change.previous as Wire;
  const after = change.body as Wire;
  if (JSON.stringify(before ?? null) === JSON.stringify(after ?? null)) return out;
  switch (change.resource) {
    case 'port': {
      const networks = new Set([before?.network_id, after?.network_id].filter((n): n is string => typeof n === 'string'));
      for (const network of networks) for (const host of index.hostsOnNetwork(network)) add(host, `remotePort:${change.id}`);
      for (const host of new Set([bindingHost(before), bindingHost(after)])) if (host) add(host, `port:${change.id}`);
      const groups = groupsWithChangedMembers(before, after);
      if (groups.length) {
        for (const host of connectedHosts()) for (const g of groups) add(host, `addressSet:${g}`);
        // The re-fetch replaces the patches the Sprut feed would send.
        for (const keys of out.values()) for (const key of keys) if (key.startsWith('member:')) keys.delete(key);
      }
      break;
    }
    case 'security_group':
      for (const host of connectedHosts()) add(host, `securityGroup:${change.id}`);
      break;
    case 'network':
      for (const host of connectedHosts()) add(host, `network:${change.id}`);
      break;
    case 'subnet': {
      const network = (after ?? before)?.network_id;
      if (typeof network === 'string') for (const host of connectedHosts()) add(host, `network:${network}`);
      break;
    }
  }
  return out;
}

function bindingHost(port: Wire): string {
  return String(port?.['binding:host_id'] ?? '');
}

/** Groups the port joined or left, or in which its addresses changed. */
function groupsWithChangedMembers(before: Wire, after: Wire): string[] {
  const view = (p: Wire) => {
    const m = new Map<string, string>();
    if (!p) return m;
    const addresses = [
      ...((p.fixed_ips as { ip_address: string }[] | undefined) ?? []).map((f) => f.ip_address),
      ...((p.allowed_address_pairs as { ip_address: string }[] | undefined) ?? []).map((a) => a.ip_address),
    ]
      .sort()
      .join(',');
    for (const g of (p.security_groups as string[] | undefined) ?? []) m.set(g, addresses);
    return m;
  };
  const a = view(before);
  const b = view(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((g) => a.get(g) !== b.get(g));
}
