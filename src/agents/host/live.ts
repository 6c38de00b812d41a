import type { ToolRunner } from '../../lib/netns.js';

/** What the kernel holds, read with the tools' JSON output and reduced to what the planners compare. */
export interface LiveLink {
  ifindex: number;
  name: string;
  kind: string | null;
  master: string | null;
  mtu: number;
  up: boolean;
  /** VXLAN devices: VNI, local address, UDP port, learning. */
  vxlan?: { id: number; local: string | null; port: number; learning: boolean };
  /** Bridge ports: the bridge-side flags we set. */
  neighSuppress?: boolean;
}

export interface LiveFdbEntry {
  mac: string;
  dev: string;
  /** VXLAN remote (self entries); null for the bridge's own (master) entries. */
  dst: string | null;
  self: boolean;
  state: string;
}

export interface LiveNeighbour {
  ip: string;
  dev: string;
  mac: string;
}

export interface LiveNftChain {
  /** The `comment` of each rule in order: the digest of the rule text we wrote (see ruleset.ts). */
  ruleDigests: string[];
}

export interface LiveNftTable {
  chains: Map<string, LiveNftChain>;
  /** Named sets: canonical element text. */
  sets: Map<string, Set<string>>;
  /** Named maps: key text -> value text (e.g. "jump egress_x", or a zone number). */
  maps: Map<string, Map<string, string>>;
}

export type LiveRuleset = Map<string, LiveNftTable>; // key "family name"

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  master?: string;
  mtu: number;
  flags: string[];
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; port?: number; learning?: boolean };
    info_slave_kind?: string;
    info_slave_data?: { neigh_suppress?: boolean };
  };
}

export function parseLinks(json: string): LiveLink[] {
  return (JSON.parse(json || '[]') as IpLinkJson[]).map((l) => {
    const info = l.linkinfo;
    const link: LiveLink = {
      ifindex: l.ifindex,
      name: l.ifname,
      kind: info?.info_kind ?? null,
      master: l.master ?? null,
      mtu: l.mtu,
      up: l.flags.includes('UP'),
    };
    if (info?.info_kind === 'vxlan' && info.info_data) {
      const d = info.info_data;
      link.vxlan = { id: d.id ?? 0, local: d.local ?? null, port: d.port ?? 0, learning: d.learning ?? true };
    }
    if (info?.info_slave_kind === 'bridge') link.neighSuppress = info.info_slave_data?.neigh_suppress ?? false;
    return link;
  });
}

export function parseFdb(json: string): LiveFdbEntry[] {
  const rows = JSON.parse(json || '[]') as { mac: string; ifname: string; dst?: string; flags?: string[]; state?: string; master?: string }[];
  return rows.map((r) => ({ mac: r.mac, dev: r.ifname, dst: r.dst ?? null, self: (r.flags ?? []).includes('self'), state: r.state ?? '' }));
}

export function parseNeighbours(json: string): LiveNeighbour[] {
  const rows = JSON.parse(json || '[]') as { dst: string; dev: string; lladdr?: string }[];
  return rows.filter((r) => r.lladdr).map((r) => ({ ip: r.dst, dev: r.dev, mac: r.lladdr! }));
}

type NftObject = Record<string, Record<string, unknown>>;

/** Element text as we render it: an address, `addr/len`, a range `a-b`, or a concatenation `a . b`. */
function elementText(e: unknown): string {
  if (typeof e === 'string' || typeof e === 'number') return String(e);
  const o = e as { prefix?: { addr: string; len: number }; range?: [string, string]; elem?: { val: unknown }; concat?: unknown[] };
  if (o.concat) return o.concat.map(elementText).join(' . ');
  if (o.prefix) return `${o.prefix.addr}/${o.prefix.len}`;
  if (o.range) return `${o.range[0]}-${o.range[1]}`;
  if (o.elem) return elementText(o.elem.val);
  return JSON.stringify(e);
}

/** A map value as we write it: a verdict (`jump chain`, `drop`) or a plain value (a zone number). */
function mapValueText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return String(v);
  const o = v as Record<string, { target?: string } | null>;
  const [kind] = Object.keys(o);
  const target = o[kind!]?.target;
  return target ? `${kind} ${target}` : kind!;
}

/** Our tables from `nft -j list ruleset`; other tables are not ours and are ignored. */
export function parseRuleset(json: string, tableName: string): LiveRuleset {
  const out: LiveRuleset = new Map();
  const items = (JSON.parse(json || '{"nftables":[]}') as { nftables: NftObject[] }).nftables;
  const table = (family: string, name: string) => {
    const key = `${family} ${name}`;
    let t = out.get(key);
    if (!t) out.set(key, (t = { chains: new Map(), sets: new Map(), maps: new Map() }));
    return t;
  };
  for (const item of items) {
    const [type] = Object.keys(item);
    const o = item[type!]!;
    const name = type === 'table' ? o.name : o.table;
    if (name !== tableName) continue;
    const family = o.family as string;
    if (type === 'table') table(family, tableName);
    else if (type === 'chain') table(family, tableName).chains.set(o.name as string, { ruleDigests: [] });
    else if (type === 'set') table(family, tableName).sets.set(o.name as string, new Set(((o.elem as unknown[]) ?? []).map(elementText)));
    else if (type === 'map') {
      const entries = ((o.elem as [unknown, unknown][]) ?? []).map(([k, v]) => [elementText(k), mapValueText(v)] as const);
      table(family, tableName).maps.set(o.name as string, new Map(entries));
    } else if (type === 'rule') {
      table(family, tableName).chains.get(o.chain as string)?.ruleDigests.push((o.comment as string) ?? '');
    }
  }
  return out;
}

export interface LiveState {
  links: LiveLink[];
  fdb: LiveFdbEntry[];
  neighbours: LiveNeighbour[];
  ruleset: LiveRuleset;
}

export async function readLinks(runner: ToolRunner): Promise<LiveLink[]> {
  return parseLinks((await runner.run('ip', ['-j', '-d', 'link', 'show'])).stdout);
}

export async function readRuleset(runner: ToolRunner, tableName: string): Promise<LiveRuleset> {
  return parseRuleset((await runner.run('nft', ['-j', 'list', 'ruleset'])).stdout, tableName);
}

/** What a pass already knows because the previous one wrote it (see DataPlane): not read again. */
export interface KnownState {
  ruleset: LiveRuleset;
  fdb: LiveFdbEntry[];
  neighbours: LiveNeighbour[];
}

/** Links always (the hypervisor plugs taps behind our back); the rest unless the caller knows it. */
export async function readLiveState(runner: ToolRunner, tableName: string, known?: KnownState): Promise<LiveState> {
  if (known) return { links: await readLinks(runner), ...known };
  const [links, fdb, neigh, ruleset] = await Promise.all([
    readLinks(runner),
    runner.run('bridge', ['-j', 'fdb', 'show']),
    runner.run('ip', ['-j', 'neigh', 'show', 'nud', 'permanent']),
    readRuleset(runner, tableName),
  ]);
  return { links, fdb: parseFdb(fdb.stdout), neighbours: parseNeighbours(neigh.stdout), ruleset };
}
