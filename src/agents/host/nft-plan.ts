import type { LiveNftTable, LiveRuleset } from './live.js';
import { ruleDigest, type DesiredTable } from './ruleset.js';

/**
 * The difference between the desired tables and the live ones as one `nft -f` script, which the kernel
 * applies as a single transaction: packets see the old ruleset or the new one, never a half. Empty when
 * nothing differs, so a restarted agent writes nothing. Granularity: set and map elements one by one; a
 * chain whose rules differ (by digest, in order) is rewritten whole, inside the same transaction.
 */
export function planNftables(desired: DesiredTable[], live: LiveRuleset, table: string): string {
  const adds: string[] = [];
  const elementDeletes: string[] = [];
  const elementAdds: string[] = [];
  const chainWrites: string[] = [];
  const mapAdds: string[] = [];
  const removals: string[] = [];
  const chainDeletes: string[] = [];

  for (const want of desired) {
    const t = `${want.family} ${table}`;
    const have: LiveNftTable = live.get(t) ?? { chains: new Map(), sets: new Map(), maps: new Map() };
    if (!live.has(t)) adds.push(`add table ${t}`);

    for (const [name, chain] of want.chains) {
      if (!have.chains.has(name)) adds.push(chain.spec ? `add chain ${t} ${name} { ${chain.spec} }` : `add chain ${t} ${name}`);
    }
    for (const [name, set] of want.sets) {
      const live = have.sets.get(name);
      if (!live) adds.push(`add set ${t} ${name} { ${set.decl} }`);
      const wanted = new Set(set.elements);
      const write = (e: string) => (set.quoteFirst ? e.replace(/^([^ ]+)/, '"$1"') : e);
      const gone = [...(live ?? [])].filter((e) => !wanted.has(e)).map(write);
      const added = set.elements.filter((e) => !live?.has(e)).map(write);
      if (gone.length) elementDeletes.push(`delete element ${t} ${name} { ${gone.join(', ')} }`);
      if (added.length) elementAdds.push(`add element ${t} ${name} { ${added.join(', ')} }`);
    }
    for (const [name, map] of want.maps) {
      const live = have.maps.get(name);
      if (!live) adds.push(`add map ${t} ${name} { ${map.decl} }`);
      const key = (k: string) => (map.quoteKeys ? `"${k}"` : k);
      const gone = [...(live ?? [])].filter(([k, v]) => map.elements.get(k) !== v).map(([k]) => key(k));
      const value = (v: string) => (map.quoteValues ? `"${v}"` : v);
      const added = [...map.elements].filter(([k, v]) => live?.get(k) !== v).map(([k, v]) => `${key(k)} : ${value(v)}`);
      // Removed before chains go, added after chains are filled: a jump never points at a missing chain.
      if (gone.length) elementDeletes.push(`delete element ${t} ${name} { ${gone.join(', ')} }`);
      if (added.length) mapAdds.push(`add element ${t} ${name} { ${added.join(', ')} }`);
    }
    for (const [name, chain] of want.chains) {
      const digests = chain.rules.map(ruleDigest);
      const liveDigests = have.chains.get(name)?.ruleDigests ?? [];
      if (digests.length === liveDigests.length && digests.every((d, i) => d === liveDigests[i])) continue;
      if (have.chains.has(name)) chainWrites.push(`flush chain ${t} ${name}`);
      chain.rules.forEach((rule, i) => chainWrites.push(`add rule ${t} ${name} ${rule} comment "${digests[i]}"`));
    }

    // What we made and no longer want: rules first (they reference chains and sets), then chains, sets.
    for (const name of have.chains.keys()) {
      if (want.chains.has(name)) continue;
      removals.push(`flush chain ${t} ${name}`);
      chainDeletes.push(`delete chain ${t} ${name}`);
    }
    for (const name of have.sets.keys()) if (!want.sets.has(name)) chainDeletes.push(`delete set ${t} ${name}`);
    for (const name of have.maps.keys()) if (!want.maps.has(name)) chainDeletes.push(`delete map ${t} ${name}`);
  }

  const script = [...adds, ...elementDeletes, ...elementAdds, ...chainWrites, ...mapAdds, ...removals, ...chainDeletes];
  return script.length ? script.join('\n') + '\n' : '';
}

/** The ruleset as `nft` will list it once `desired` is applied: what the next pass may diff against. */
export function expectedRuleset(desired: DesiredTable[], table: string): LiveRuleset {
  const out: LiveRuleset = new Map();
  for (const t of desired) {
    out.set(`${t.family} ${table}`, {
      chains: new Map([...t.chains].map(([name, c]) => [name, { ruleDigests: c.rules.map(ruleDigest) }])),
      sets: new Map([...t.sets].map(([name, set]) => [name, new Set(set.elements)])),
      maps: new Map([...t.maps].map(([name, map]) => [name, new Map(map.elements)])),
    });
  }
  return out;
}
