// `cloudnet dns`: the cluster DNS server, with CoreDNS's flags (-conf, -dns.port).
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { createLogger } from '../lib/logger.js';
import { startDnsServer } from '../dns/run.js';
import { fqdn } from '../dns/names.js';
import { COREDNS_COMPAT_VERSION } from '../dns/metrics.js';
import { reportServing, superviseWorkers } from '../dns/cluster.js';
import { shareWorkerRegistry } from '../dns/cluster-metrics.js';

const USAGE = `usage: cloudnet dns [-conf Corefile] [-dns.port 53] [-quiet] [-version]

  -conf FILE      Corefile to load (default: ./Corefile)
  -dns.port PORT  default port for server blocks without one (default 53; 0 picks a free port)
  -workers N      worker processes sharing the sockets (default: one per core)
  -quiet          do not print the listening addresses on stdout
  -version        print the version and exit`;

interface DnsFlags {
  conf: string;
  port: number;
  quiet: boolean;
  version: boolean;
  workers: number;
}

// Go's flag package accepts -name value, -name=value and the same with two dashes.
export function parseDnsFlags(argv: string[]): DnsFlags {
  const flags: DnsFlags = { conf: 'Corefile', port: 53, quiet: false, version: false, workers: availableParallelism() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([a-z.]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unexpected argument '${arg}'`);
    const name = m[1];
    const value = (): string => {
      if (m[2] !== undefined) return m[2];
      const v = argv[++i];
      if (v === undefined) throw new Error(`flag -${name} needs a value`);
      return v;
    };
    switch (name) {
      case 'conf':
        flags.conf = value();
        break;
      case 'dns.port': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`invalid -dns.port '${v}'`);
        flags.port = Number(v);
        break;
      }
      case 'workers': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`invalid -workers '${v}'`);
        flags.workers = Number(v);
        break;
      }
      case 'quiet':
        flags.quiet = true;
        break;
      case 'version':
        flags.version = true;
        break;
      case 'help':
      case 'h':
        throw new Error(USAGE);
      default:
        throw new Error(`flag provided but not defined: -${name}\n${USAGE}`);
    }
  }
  return flags;
}

export async function run(argv: string[]): Promise<number> {
  const code = await runDns(argv);
  // A worker's IPC channel would keep it alive after it is done.
  if (cluster.isWorker) process.exit(code);
  return code;
}

async function runDns(argv: string[]): Promise<number> {
  let flags: DnsFlags;
  try {
    flags = parseDnsFlags(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (flags.version) {
    process.stdout.write(`cloudnet dns (CoreDNS-compatible ${COREDNS_COMPAT_VERSION})\nnode ${process.version}\n`);
    return 0;
  }
  const logger = createLogger('dns');
  const path = resolve(flags.conf);
  if (!existsSync(path)) {
    process.stderr.write(`cloudnet dns: Corefile ${path} not found\n`);
    return 1;
  }
  if (flags.workers > 1 && cluster.isPrimary) {
    return superviseWorkers(flags.workers, logger, (ports) => {
      if (!flags.quiet) for (const p of ports) process.stdout.write(`${fqdn('')}:${p}\n`);
    });
  }
  const server = await startDnsServer({ corefile: null, corefilePath: path, defaultPort: flags.port, logger }).catch((err: unknown) => {
    process.stderr.write(`cloudnet dns: ${(err as Error).message}\n`);
    return null;
  });
  if (!server) return 1;
  shareWorkerRegistry(server.metrics.registry);
  reportServing(server.ports().map((p) => server.boundPort(p) ?? p));
  if (!flags.quiet && !cluster.isWorker) {
    for (const p of server.ports()) process.stdout.write(`${fqdn('')}:${server.boundPort(p)}\n`);
  }
  logger.info({ ports: server.ports().map((p) => server.boundPort(p)) }, 'serving');
  return new Promise<number>((resolveExit) => {
    const shutdown = (signal: string): void => {
      logger.info({ signal }, 'shutting down');
      server.close().then(
        () => resolveExit(0),
        () => resolveExit(1),
      );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGUSR1', () => {
      server.reload().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'reload failed'));
    });
  });
}
