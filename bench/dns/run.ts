// DNS benchmark: cloudnet dns beside dnsmasq serving the same records, in the same run.
//   1. throughput (dnsperf, fixed duration) and latency distribution (dnsperf -v at a fixed rate)
//      for cluster names (cache path), search-path NXDOMAINs (ndots:5) and forwarded names;
//   2. memory with 50,000 services and 150,000 endpoints beside CoreDNS's published sizing;
//   3. DNS programming latency: Service created -> name resolves, p50/p99 over 1,000 services.
// Loopback only; every load loop is bounded by dnsperf's -l or a count. Usage: bench/dns/run.sh
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/lib/logger.js';
import { startKubeApiServer, type KubeApiServer } from '../../src/kube/apiserver/server.js';
import { ENDPOINT_SLICES, SERVICES as SERVICE_RESOURCE } from '../../src/kube/apiserver/resources.js';
import { query } from '../../test/dns/support/dns-client.js';

const CLI = join(import.meta.dirname, '../../dist/src/cli/main.js');
const QPS_SECONDS = Number(process.env.BENCH_QPS_SECONDS ?? 8);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 4);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_QPS ?? 5000);
const SERVICES = 1000;
const MEMORY_SERVICES = Number(process.env.BENCH_MEMORY_SERVICES ?? 50_000);
const MEMORY_ENDPOINTS_PER_SERVICE = 3;
const PROGRAMMING_SERVICES = Number(process.env.BENCH_PROGRAMMING_SERVICES ?? 1000);

const dir = mkdtempSync(join(tmpdir(), 'cloudnet-bench-dns-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  for (;;) {
    const t = net.createServer();
    await new Promise<void>((r) => t.listen(0, '127.0.0.1', r));
    const port = (t.address() as net.AddressInfo).port;
    await new Promise<void>((r) => t.close(() => r()));
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    u.close();
    if (ok) return port;
  }
}

// BENCH_DNS_NODE_OPTIONS (e.g. --max-old-space-size=256) is passed to cloudnet dns only.
function start(cmd: string, args: string[]): ChildProcess {
  const env = cmd === process.execPath && process.env.BENCH_DNS_NODE_OPTIONS ? { ...process.env, NODE_OPTIONS: process.env.BENCH_DNS_NODE_OPTIONS } : process.env;
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  children.push(c);
  return c;
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}

async function waitForAnswer(port: number, name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await query(port, name, 'A', { timeoutMs: 200 }).catch(() => null);
    if (r && r.rcode === 'NOERROR' && (r.answers?.length ?? 0) > 0) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no answer for ${name} on port ${port}`);
}

function run(cmd: string, args: string[], onLine?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let partial = '';
    c.stdout.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (onLine && l.startsWith('> ')) onLine(l);
        else out += l + '\n';
      }
    });
    c.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

interface Throughput {
  qps: number;
  lost: number;
  rcodes: string;
  // CPU time the server used per answered query, in microseconds.
  cpuPerQueryUs: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

// CPU seconds (user + system) a process and its descendants have used. Unlike queries per second,
// the CPU a query costs hardly depends on how many other processes share the cores.
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ", utime and stime are the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let total = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean)) total += cpuSeconds(Number(child));
  }
  return total;
}

async function throughput(port: number, pid: number, queryFile: string): Promise<Throughput> {
  const cpuBefore = cpuSeconds(pid);
  const out = await run('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(QPS_SECONDS), '-c', '8', '-q', '200', '-t', '2']);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return {
    qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0),
    rcodes: (/Response codes:\s+(.*)/.exec(out)?.[1] ?? '').trim(),
    cpuPerQueryUs: ((cpuSeconds(pid) - cpuBefore) / completed) * 1e6,
  };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function latency(port: number, queryFile: string): Promise<number[]> {
  const samples: number[] = [];
  await run('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(LATENCY_SECONDS), '-Q', String(LATENCY_RATE), '-c', '4', '-t', '2', '-v'], (line) => {
    const v = Number(line.split(' ').pop());
    if (Number.isFinite(v)) samples.push(v * 1000);
  });
  return samples.sort((a, b) => a - b);
}

const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)}µs` : `${ms.toFixed(2)}ms`);
const dist = (s: number[]): string => `p50 ${fmt(percentile(s, 50))}  p90 ${fmt(percentile(s, 90))}  p99 ${fmt(percentile(s, 99))}  p99.9 ${fmt(percentile(s, 99.9))}  max ${fmt(s[s.length - 1] ?? NaN)}  (n=${s.length})`;

// The Kubernetes API stand-in, in this process; objects are written through its registry.
function startApi(): Promise<KubeApiServer> {
  return startKubeApiServer({ host: '127.0.0.1', port: 0, logger: createLogger('kube-apiserver', 'silent') });
}

// Service i's ClusterIP, in the stand-in's default IPv4 service CIDR 198.19.0.0/16, above the
// 198.19.0.0/24 where the `kubernetes` Service lives (room for 65,000 services).
function serviceIp(i: number): string {
  const n = i + 256;
  return `198.19.${Math.floor(n / 256)}.${n % 256}`;
}

// Endpoint n's address. 150,000 endpoints do not fit in 198.18.0.0/15 beside the service range,
// so endpoints are IPv6, in fd00:18::/64; the queries measured are of service names (ClusterIP).
function endpointIp(n: number): string {
  return `fd00:18::${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
}

function clusterFixture(api: KubeApiServer, count: number, endpointsPerService: number): void {
  for (let i = 0; i < count; i++) {
    const ip = serviceIp(i);
    api.registry.create(SERVICE_RESOURCE, 'default', { metadata: { name: `svc-${i}` }, spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    if (endpointsPerService > 0) {
      const endpoints = Array.from({ length: endpointsPerService }, (_, j) => {
        const n = i * endpointsPerService + j;
        return { addresses: [endpointIp(n)], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `svc-${i}-pod-${j}` } };
      });
      api.registry.create(ENDPOINT_SLICES, 'default', { metadata: { name: `svc-${i}-abcde`, labels: { 'kubernetes.io/service-name': `svc-${i}` } }, addressType: 'IPv6', endpoints, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
    }
  }
}

function corefile(port: number, apiUrl: string, upstreamPort: number, metricsPort: number, cache: boolean): string {
  return `.:${port} {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:0
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       endpoint ${apiUrl}
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:${metricsPort}
    forward . 127.0.0.1:${upstreamPort}
${cache ? '    cache 30\n' : ''}    loadbalance
}
`;
}

async function startCloudnet(workers: number, apiUrl: string, upstreamPort: number, cache = true): Promise<{ port: number; metricsPort: number; child: ChildProcess }> {
  const port = await freePort();
  const metricsPort = await freePort();
  const path = join(dir, `Corefile.${port}`);
  writeFileSync(path, corefile(port, apiUrl, upstreamPort, metricsPort, cache));
  const child = start(process.execPath, [CLI, 'dns', '-conf', path, '-workers', String(workers), '-quiet']);
  await waitForAnswer(port, 'svc-0.default.svc.cluster.local');
  return { port, metricsPort, child };
}

function writeQueries(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function queryPhase(): Promise<void> {
  const api = await startApi();
  clusterFixture(api, SERVICES, 1);
  const upstreamPort = await freePort();
  start('dnsmasq', ['--no-daemon', '--port', String(upstreamPort), '--listen-address', '127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--user=root', '--address=/upstream.test/198.18.200.1', '--cache-size=10000', '--dns-forward-max=1000']);
  const hosts = writeQueries('cluster.hosts', Array.from({ length: SERVICES }, (_, i) => `${serviceIp(i)} svc-${i}.default.svc.cluster.local`));
  const dnsmasqPort = await freePort();
  const dnsmasq = start('dnsmasq', ['--no-daemon', '--port', String(dnsmasqPort), '--listen-address', '127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--user=root', `--addn-hosts=${hosts}`, '--local=/cluster.local/', `--server=127.0.0.1#${upstreamPort}`, '--cache-size=10000', '--local-ttl=30', '--dns-forward-max=1000']);
  await waitForAnswer(dnsmasqPort, 'svc-0.default.svc.cluster.local');

  const scenarios: [string, string][] = [
    ['cluster names (cache path)', writeQueries('cluster.q', Array.from({ length: SERVICES }, (_, i) => `svc-${i}.default.svc.cluster.local A`))],
    ['search-path NXDOMAIN (ndots:5)', writeQueries('nx.q', Array.from({ length: SERVICES }, (_, i) => [`api-${i}.example.com.default.svc.cluster.local A`, `api-${i}.example.com.svc.cluster.local A`, `api-${i}.example.com.cluster.local A`]).flat())],
    ['forwarded names (local upstream)', writeQueries('fwd.q', Array.from({ length: SERVICES }, (_, i) => `host-${i}.upstream.test A`))],
  ];
  const workerCounts = [...new Set([1, availableParallelism()])];
  console.log(`\n== Query load: dnsperf -c 8 -q 200 for ${QPS_SECONDS}s (throughput); -Q ${LATENCY_RATE} for ${LATENCY_SECONDS}s (latency) ==`);
  console.log(`machine: ${availableParallelism()} cores; dnsperf runs on the same cores as the servers; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
  for (const workers of workerCounts) {
    const cn = await startCloudnet(workers, api.url, upstreamPort);
    for (const [title, file] of scenarios) {
      // One warm-up pass so both servers answer from their caches where they have them.
      await run('dnsperf', ['-s', '127.0.0.1', '-p', String(cn.port), '-d', file, '-n', '1', '-c', '4', '-t', '2']);
      await run('dnsperf', ['-s', '127.0.0.1', '-p', String(dnsmasqPort), '-d', file, '-n', '1', '-c', '4', '-t', '2']);
      const a = await throughput(cn.port, cn.child.pid!, file);
      const b = await throughput(dnsmasqPort, dnsmasq.pid!, file);
      const la = await latency(cn.port, file);
      const lb = await latency(dnsmasqPort, file);
      console.log(`-- ${title}, cloudnet dns with ${workers} worker(s); load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
      console.log(`   cloudnet dns: ${a.qps.toFixed(0).padStart(7)} qps  lost ${a.lost}  [${a.rcodes}]`);
      console.log(`   dnsmasq     : ${b.qps.toFixed(0).padStart(7)} qps  lost ${b.lost}  [${b.rcodes}]`);
      console.log(`   QPS ratio cloudnet/dnsmasq: ${(a.qps / b.qps).toFixed(2)}`);
      console.log(`   CPU per query: cloudnet dns ${a.cpuPerQueryUs.toFixed(1)} µs, dnsmasq ${b.cpuPerQueryUs.toFixed(1)} µs  -> dnsmasq/cloudnet ${(b.cpuPerQueryUs / a.cpuPerQueryUs).toFixed(2)}`);
      console.log(`   latency at ${LATENCY_RATE} qps, cloudnet dns: ${dist(la)}`);
      console.log(`   latency at ${LATENCY_RATE} qps, dnsmasq     : ${dist(lb)}`);
    }
    await stop(cn.child);
  }
  await api.close();
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function memoryPhase(): Promise<void> {
  console.log(`\n== Memory: ${MEMORY_SERVICES} services, ${MEMORY_SERVICES * MEMORY_ENDPOINTS_PER_SERVICE} endpoints ==`);
  const api = await startApi();
  clusterFixture(api, MEMORY_SERVICES, MEMORY_ENDPOINTS_PER_SERVICE);
  const upstreamPort = await freePort();
  const started = Date.now();
  const cn = await startCloudnet(1, api.url, upstreamPort);
  const last = `svc-${MEMORY_SERVICES - 1}.default.svc.cluster.local`;
  await waitForAnswer(cn.port, last);
  const syncSeconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 3000));
  const rss = rssMb(cn.child.pid!);
  const metrics = await (await fetch(`http://127.0.0.1:${cn.metricsPort}/metrics`)).text();
  const heapUsed = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN) / 2 ** 20;
  const pods = MEMORY_SERVICES * MEMORY_ENDPOINTS_PER_SERVICE;
  const coredns = (MEMORY_SERVICES + pods) / 1000 + 54;
  console.log(`   cloudnet dns (1 worker) RSS after sync: ${rss.toFixed(0)} MB, V8 heap in use ${heapUsed.toFixed(0)} MB (synced and answering in ${syncSeconds.toFixed(1)}s)`);
  console.log(`   CoreDNS sizing (services + pods)/1000 + 54 MB: ${coredns.toFixed(0)} MB  -> ratio ${(rss / coredns).toFixed(2)}`);
  console.log(`   with N workers each worker holds its own index: about N x that RSS`);
  await stop(cn.child);
  await api.close();
}

async function programmingPhase(): Promise<void> {
  console.log(`\n== DNS programming latency: ${PROGRAMMING_SERVICES} services created one after another (Kubernetes API stand-in: each Service created through its registry, ClusterIP allocated by it; no cache plugin, so a negative answer is not cached) ==`);
  const api = await startApi();
  clusterFixture(api, 1, 0);
  const upstreamPort = await freePort();
  const cn = await startCloudnet(1, api.url, upstreamPort, false);
  const samples: number[] = [];
  for (let i = 0; i < PROGRAMMING_SERVICES; i++) {
    const name = `new-${i}`;
    const t0 = performance.now();
    api.registry.create(SERVICE_RESOURCE, 'default', { metadata: { name }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    for (let attempt = 0; attempt < 5000; attempt++) {
      const r = await query(cn.port, `${name}.default.svc.cluster.local`, 'A', { timeoutMs: 500 }).catch(() => null);
      if (r?.rcode === 'NOERROR' && r.answers?.length) break;
    }
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  console.log(`   create -> resolvable: ${dist(samples)}`);
  await stop(cn.child);
  await api.close();
}

const phases = (process.env.BENCH_PHASES ?? 'query,memory,programming').split(',');
if (phases.includes('query')) await queryPhase();
if (phases.includes('memory')) await memoryPhase();
if (phases.includes('programming')) await programmingPhase();
process.exit(0);
