// A real Prometheus scrapes the prometheus plugin's endpoint and finds CoreDNS's series.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClusterFixture, startStandIn, type StandIn } from './support/cluster-fixture.js';
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { dig } from './support/dns-client.js';
import { freeTcpPort } from './support/ports.js';
import { startTestDns, type TestDns } from './support/server.js';

const EXPECTED_SERIES = [
  'coredns_dns_requests_total',
  'coredns_dns_responses_total',
  'coredns_dns_request_duration_seconds_bucket',
  'coredns_dns_request_size_bytes_bucket',
  'coredns_dns_response_size_bytes_bucket',
  'coredns_cache_requests_total',
  'coredns_cache_hits_total',
  'coredns_cache_misses_total',
  'coredns_cache_entries',
  'coredns_proxy_request_duration_seconds_bucket',
  'coredns_kubernetes_dns_programming_duration_seconds_bucket',
  'coredns_build_info',
  'coredns_panics_total',
  'coredns_plugin_enabled',
];

describe('prometheus plugin scraped by Prometheus', { timeout: 90_000 }, () => {
  let api: StandIn;
  let upstream: FakeUpstream;
  let dns: TestDns;
  let prom: ChildProcess;
  let promPort: number;
  let dir: string;

  before(async () => {
    api = await startStandIn();
    loadClusterFixture(api);
    upstream = await startFakeUpstream();
    const metricsPort = await freeTcpPort();
    dns = await startTestDns(`.:0 {
  bind 127.0.0.1
  prometheus 127.0.0.1:${metricsPort}
  cache
  kubernetes cluster.local {
    endpoint ${api.url}
  }
  forward . 127.0.0.1:${upstream.port}
}`);
    dir = mkdtempSync(join(tmpdir(), 'cloudnet-prom-'));
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: coredns\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`);
    promPort = await freeTcpPort();
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
  }, { timeout: 30_000 });
  after(async () => {
    prom.kill();
    await dns.close();
    await upstream.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it('has CoreDNS series with CoreDNS labels', async () => {
    for (const name of ['web.default.svc.cluster.local', 'web.default.svc.cluster.local', 'nope.default.svc.cluster.local', 'up.example']) await dig(dns.port, name);
    const names = new Set<string>();
    const deadline = Date.now() + 30_000;
    let requests: { metric: Record<string, string> }[] = [];
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/label/__name__/values`);
        const body = (await res.json()) as { data: string[] };
        for (const n of body.data) names.add(n);
        const q = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=coredns_dns_requests_total`);
        requests = ((await q.json()) as { data: { result: { metric: Record<string, string> }[] } }).data.result;
        if (EXPECTED_SERIES.every((s) => names.has(s)) && requests.length > 0) break;
      } catch {
        // Prometheus still starting.
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(EXPECTED_SERIES.filter((s) => !names.has(s)), []);
    const labels = requests[0].metric;
    // view is empty outside views, and Prometheus stores no empty labels.
    for (const l of ['server', 'zone', 'proto', 'family', 'type']) assert.ok(l in labels, `label ${l}`);
    assert.equal(labels.zone, '.');
    assert.equal(labels.proto, 'udp');
    const rc = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=coredns_dns_responses_total{rcode="NXDOMAIN",plugin="kubernetes"}`);
    assert.equal(((await rc.json()) as { data: { result: unknown[] } }).data.result.length, 1);
  });
});
