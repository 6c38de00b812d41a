// Starts and stops a whole DNS server from a Corefile: builds an instance, starts its plugins,
// opens listeners, and on reload swaps in a new instance without closing the sockets.
import { readFileSync } from 'node:fs';
import type { Logger } from '../lib/logger.js';
import { HttpEndpoints } from './http-endpoints.js';
import { createDnsMetrics, COREDNS_COMPAT_VERSION, type DnsMetrics } from './metrics.js';
import { buildInstance, type Instance } from './server/instance.js';
import { DnsServer } from './server/dns-server.js';
import type { PluginInstance } from './plugin.js';

export interface DnsServerOptions {
  // Corefile text; when null it is read from corefilePath.
  corefile: string | null;
  corefilePath: string | null;
  defaultPort: number;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  metrics?: DnsMetrics;
}

export interface RunningDnsServer {
  // The port actually bound for a server block's configured port (they differ with port 0).
  boundPort(configuredPort: number): number | null;
  ports(): number[];
  httpPort(address: string): number | null;
  reload(): Promise<void>;
  close(): Promise<void>;
  metrics: DnsMetrics;
}

let processMetrics: DnsMetrics | null = null;

function sharedMetrics(): DnsMetrics {
  processMetrics ??= createDnsMetrics(COREDNS_COMPAT_VERSION, process.env.CLOUDNET_REVISION ?? 'dev');
  return processMetrics;
}

async function startParts(parts: PluginInstance[]): Promise<void> {
  await Promise.all(parts.map((p) => p.start?.()));
}

async function stopParts(parts: PluginInstance[]): Promise<void> {
  await Promise.all(parts.map((p) => p.stop?.()));
}

export async function startDnsServer(options: DnsServerOptions): Promise<RunningDnsServer> {
  const metrics = options.metrics ?? sharedMetrics();
  const http = new HttpEndpoints();
  const server = new DnsServer(metrics, options.logger);
  let current: Instance | null = null;
  let reloading: Promise<void> | null = null;

  const corefileText = (): string => {
    if (options.corefile !== null && current === null) return options.corefile;
    if (!options.corefilePath) return options.corefile ?? '';
    return readFileSync(options.corefilePath, 'utf8');
  };

  const build = (): Instance =>
    buildInstance({
      corefile: corefileText(),
      corefilePath: options.corefilePath,
      defaultPort: options.defaultPort,
      metrics,
      http,
      logger: options.logger,
      env: options.env,
      reload: () => reload(),
    });

  const activate = async (next: Instance): Promise<void> => {
    try {
      await startParts(next.parts);
      await server.apply(next);
    } catch (err) {
      // Whatever did start (a watch, an HTTP route) must not outlive the failed configuration.
      await stopParts(next.parts);
      throw err;
    }
    const previous = current;
    current = next;
    metrics.pluginEnabled.reset();
    for (const e of next.enabled) metrics.pluginEnabled.set({ server: e.server, zone: e.zone, view: '', name: e.name }, 1);
    for (const [port] of next.ports) {
      const bound = server.boundPort(port);
      if (bound !== null) for (const p of next.parts) p.serving?.(bound);
    }
    if (previous) {
      await stopParts(previous.parts);
      await http.closeUnused();
    }
  };

  const reload = (): Promise<void> => {
    reloading ??= (async () => {
      try {
        const next = build();
        await activate(next);
        options.logger.info('reloaded the Corefile');
      } finally {
        reloading = null;
      }
    })();
    return reloading;
  };

  try {
    await activate(build());
  } catch (err) {
    await server.close();
    await http.close();
    throw err;
  }

  return {
    metrics,
    boundPort: (p) => server.boundPort(p),
    ports: () => [...(current?.ports.keys() ?? [])],
    httpPort: (a) => http.boundPort(a),
    reload,
    async close() {
      // Lameduck (health) delays happen in stop(), while the sockets still answer.
      if (current) await stopParts(current.parts);
      await server.close();
      await http.close();
    },
  };
}
