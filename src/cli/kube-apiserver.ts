// `cloudnet kube-apiserver`: argument parsing for the Kubernetes API stand-in.
import { parseArgs } from 'node:util';
import { DEFAULT_SERVICE_CIDRS, startKubeApiServer } from '../kube/apiserver/server.js';

const HELP = `usage: cloudnet kube-apiserver [--listen HOST:PORT] [--service-cidr CIDR[,CIDR]] [--node-port-range FIRST-LAST]

A small stand-in for the Kubernetes API server, for tests and the lab. It is NOT for
production: no authentication or authorization, no TLS, everything in memory and lost
on exit. It serves Namespaces, Services, Pods, Nodes and discovery.k8s.io/v1
EndpointSlices with discovery, list, watch, create, get, update, patch and delete, so
kubectl and the official clients work against it.

options:
  --listen HOST:PORT        address to listen on (default 127.0.0.1:6443; use [::1]:PORT for IPv6)
  --service-cidr CIDRS      ClusterIP ranges, one or one per IP family, primary first
                            (default ${DEFAULT_SERVICE_CIDRS.join(',')})
  --node-port-range A-B     NodePort range (default 30000-32767)
  --history N               changes kept for watches from a past resourceVersion (default 10000)
  -h, --help                show this help`;

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new Error(`--listen wants HOST:PORT or [IPv6]:PORT, got '${text}'`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

function parseRange(text: string): { first: number; last: number } {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`--node-port-range wants FIRST-LAST, got '${text}'`);
  return { first: Number(m[1]), last: Number(m[2]) };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:6443' },
      'service-cidr': { type: 'string' },
      'node-port-range': { type: 'string' },
      history: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const { host, port } = parseListen(values.listen!);
  const server = await startKubeApiServer({
    host,
    port,
    serviceCidrs: values['service-cidr']?.split(','),
    nodePortRange: values['node-port-range'] ? parseRange(values['node-port-range']) : undefined,
    historyLimit: values.history ? Number(values.history) : undefined,
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
