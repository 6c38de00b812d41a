// One configuration generation: the Corefile's server blocks set up into plugin chains, grouped by
// port. A reload builds a new instance beside the running one and swaps it in.
import { isIP } from 'node:net';
import type { Logger } from '../../lib/logger.js';
import { CorefileError } from '../corefile/lexer.js';
import { parseCorefile, type Directive, type ServerBlock } from '../corefile/parser.js';
import { parseServerKey } from '../corefile/address.js';
import { fqdn } from '../names.js';
import { Rcode, reply, type DnsRequest } from '../message.js';
import type { DnsMetrics } from '../metrics.js';
import type { HttpEndpoints } from '../http-endpoints.js';
import type { CacheHitRecorder, Handler, NextHandler, PluginInstance, Readiness, SetupContext } from '../plugin.js';
import { PLUGIN_ORDER, COREDNS_ONLY_PLUGINS, pluginDefinition } from '../plugins/index.js';

export interface Route {
  zone: string;
  server: string;
  chain: NextHandler;
  // Non-null when the cache's answers may be replayed without the chain: what the handlers in
  // front of cache record per query. Null without cache or with a handler that must always run.
  cacheHitRecorders: CacheHitRecorder[] | null;
}

export interface PortConfig {
  port: number;
  bindAddresses: string[];
  routes: Route[];
}

export interface Instance {
  ports: Map<number, PortConfig>;
  readiness: Readiness;
  parts: PluginInstance[];
  // Names of plugins per block, for coredns_plugin_enabled.
  enabled: { server: string; zone: string; name: string }[];
}

export interface InstanceOptions {
  corefile: string;
  corefilePath: string | null;
  defaultPort: number;
  metrics: DnsMetrics;
  http: HttpEndpoints;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  reload(): Promise<void>;
}

const DEFAULT_BIND = ['::'];

function terminal(name: string): NextHandler {
  // CoreDNS's NextOrFailure: no plugin left to answer means SERVFAIL.
  return async () => reply(name, Rcode.SERVFAIL, [], [], [], false);
}

// The recorders of the handlers in front of cache, when every one of them allows replays.
export function cacheHitRecorders(handlers: Handler[]): CacheHitRecorder[] | null {
  const cacheAt = handlers.findIndex((h) => h.name === 'cache');
  if (cacheAt < 0) return null;
  const recorders: CacheHitRecorder[] = [];
  for (const h of handlers.slice(0, cacheAt)) {
    if (h.onCacheHit === undefined) return null;
    if (h.onCacheHit !== 'passes') recorders.push(h.onCacheHit);
  }
  return recorders;
}

export function composeChain(handlers: Handler[]): NextHandler {
  let next: NextHandler = terminal(handlers.length ? handlers[handlers.length - 1].name : 'server');
  for (let i = handlers.length - 1; i >= 0; i--) {
    const h = handlers[i];
    const after = next;
    next = (req: DnsRequest) => h.serveDNS(req, after);
  }
  return next;
}

function bindAddresses(block: ServerBlock): string[] {
  const binds: string[] = [];
  for (const d of block.directives) {
    if (d.name !== 'bind') continue;
    if (d.block) throw new CorefileError(d.file, d.line, 'bind: blocks (except) are not supported');
    if (d.args.length === 0) throw new CorefileError(d.file, d.line, 'bind: expected at least one address');
    for (const a of d.args) {
      if (!isIP(a)) throw new CorefileError(d.file, d.line, `bind: '${a}' is not an IP address (interface names are not supported)`);
      binds.push(a);
    }
  }
  return binds.length ? binds : DEFAULT_BIND;
}

export function buildInstance(options: InstanceOptions): Instance {
  const blocks = parseCorefile(options.corefile, options.corefilePath ?? 'Corefile', { env: options.env });
  if (blocks.length === 0) throw new CorefileError(options.corefilePath ?? 'Corefile', 1, 'no server blocks');
  const ports = new Map<number, PortConfig>();
  const parts: PluginInstance[] = [];
  const enabled: Instance['enabled'] = [];
  const reporters: { name: string; part: PluginInstance }[] = [];
  const readiness: Readiness = {
    notReady: () => reporters.filter((r) => r.part.ready && !r.part.ready()).map((r) => r.name),
  };
  for (const block of blocks) {
    let addresses;
    try {
      addresses = block.keys.flatMap((k) => parseServerKey(k, options.defaultPort));
    } catch (err) {
      throw new CorefileError(block.file, block.line, (err as Error).message);
    }
    const byPort = new Map<number, string[]>();
    for (const a of addresses) byPort.set(a.port, [...(byPort.get(a.port) ?? []), a.zone]);
    for (const d of block.directives) {
      if (d.name === 'bind') continue;
      if (!pluginDefinition(d.name)) {
        const why = COREDNS_ONLY_PLUGINS.has(d.name) ? `plugin '${d.name}' is not supported by cloudnet dns` : `unknown directive '${d.name}'`;
        throw new CorefileError(d.file, d.line, why);
      }
    }
    const binds = bindAddresses(block);
    for (const [port, zones] of byPort) {
      const server = `dns://:${port}`;
      const ctx: SetupContext = { zones, server, corefilePath: options.corefilePath, metrics: options.metrics, http: options.http, logger: options.logger, port, bindAddresses: binds, readiness, reload: options.reload };
      // The Corefile's order does not matter: plugins run in CoreDNS's plugin.cfg order.
      const directivesInOrder: Directive[] = [];
      for (const name of PLUGIN_ORDER) {
        const ds = block.directives.filter((d) => d.name === name);
        if (ds.length > 1) throw new CorefileError(ds[1].file, ds[1].line, `directive '${name}' given more than once in this server block`);
        directivesInOrder.push(...ds);
      }
      const handlers: Handler[] = [];
      for (const d of directivesInOrder) {
        const part = pluginDefinition(d.name)!.setup(d, ctx);
        parts.push(part);
        if (part.ready) reporters.push({ name: d.name, part });
        if (part.handler) handlers.push(part.handler);
        for (const zone of zones) enabled.push({ server, zone: fqdn(zone), name: d.name });
      }
      const chain = composeChain(handlers);
      const recorders = cacheHitRecorders(handlers);
      let pc = ports.get(port);
      if (!pc) {
        pc = { port, bindAddresses: binds, routes: [] };
        ports.set(port, pc);
      } else {
        for (const b of binds) if (!pc.bindAddresses.includes(b)) pc.bindAddresses.push(b);
      }
      for (const zone of zones) {
        if (pc.routes.some((r) => r.zone === zone)) throw new CorefileError(block.file, block.line, `cannot serve dns://${fqdn(zone)}:${port} - it is already defined`);
        pc.routes.push({ zone, server, chain, cacheHitRecorders: recorders });
      }
    }
  }
  for (const pc of ports.values()) {
    if (pc.bindAddresses.includes('::') && pc.bindAddresses.length > 1) pc.bindAddresses = ['::'];
    // Longest zone first, so the first match is the most specific.
    pc.routes.sort((a, b) => b.zone.length - a.zone.length);
  }
  return { ports, parts, enabled, readiness };
}
