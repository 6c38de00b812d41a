// Replayed cache answers (server/reply-memo.ts) against the full path. Two servers run the same
// Corefile, except that the reference one has `log` in front of cache, which keeps every query on
// the full path. Every query goes to both; the replies must decode the same (TTLs aside), have
// the same size, and the servers' CoreDNS series must count the same.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type Packet } from 'dns-packet';
import { loadClusterFixture, startStandIn, type StandIn } from './support/cluster-fixture.js';
import { sendRaw } from './support/dns-client.js';
import { createLogger } from '../../src/lib/logger.js';
import { createDnsMetrics } from '../../src/dns/metrics.js';
import { startDnsServer, type RunningDnsServer } from '../../src/dns/run.js';

const MANY = Array.from({ length: 80 }, (_, i) => `10.9.${Math.floor(i / 250)}.${(i % 250) + 1} many.big.test`).join('\n    ');

function corefile(apiUrl: string, log: boolean): string {
  const front = log ? '  log\n' : '';
  return `cluster.local:0 {
  bind 127.0.0.1
  prometheus 127.0.0.1:0
  errors
${front}  loadbalance
  cache 30
  kubernetes cluster.local {
    endpoint ${apiUrl}
    ttl 30
  }
}
test:0 {
  bind 127.0.0.1
  prometheus 127.0.0.1:0
  errors
${front}  loadbalance
  cache 30 {
    servfail 30s
  }
  hosts {
    10.0.0.1 one.test
    fd00::1 one.test
    10.0.0.2 three.test
    10.0.0.3 three.test
    10.0.0.4 three.test
  }
}
big.test:0 {
  bind 127.0.0.1
  prometheus 127.0.0.1:0
  errors
${front}  cache 30
  hosts {
    ${MANY}
  }
}
short.test:0 {
  bind 127.0.0.1
  prometheus 127.0.0.1:0
  cache {
    success 100 3 3
  }
  hosts {
    10.0.0.5 short.test
  }
}
`;
}

interface Case {
  name: string;
  type: string;
  ednsSize?: number;
  dnssecOk?: boolean;
  recursionDesired?: boolean;
  tcp?: boolean;
  // Never replayed: loadbalance reorders it on every query.
  shuffled?: boolean;
}

const CASES: Case[] = [
  { name: 'web.default.svc.cluster.local', type: 'A' },
  { name: 'WeB.Default.SVC.cluster.local', type: 'A', ednsSize: 1232 },
  { name: 'web.default.svc.cluster.local', type: 'A', ednsSize: 4096, dnssecOk: true },
  { name: 'web.default.svc.cluster.local', type: 'A', recursionDesired: false },
  { name: '_http._tcp.web.default.svc.cluster.local', type: 'SRV', ednsSize: 1232 },
  { name: 'api.example.com.default.svc.cluster.local', type: 'A' },
  { name: 'web.default.svc.cluster.local', type: 'TXT', ednsSize: 1232 },
  { name: 'one.test', type: 'AAAA' },
  { name: 'missing.test', type: 'A' },
  { name: 'many.big.test', type: 'A' },
  { name: 'many.big.test', type: 'A', tcp: true },
  { name: 'three.test', type: 'A', shuffled: true },
];

function encode(c: Case, id: number): Buffer {
  const additionals = c.ednsSize === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: c.ednsSize, flags: c.dnssecOk ? dnsPacket.DNSSEC_OK : 0, options: [] }];
  return dnsPacket.encode({
    id,
    type: 'query',
    flags: c.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name: c.name, type: c.type as 'A', class: 'IN' }],
    additionals: additionals as unknown as Packet['additionals'],
  });
}

// The decoded reply without TTLs, which depend on when each cache stored its entry, nor SOA
// serials, which are each server's last index change; answers in a fixed order when loadbalance
// shuffles them. (TTLs here are 30 s, so no entry expires while the test runs.)
function withoutTtls(wire: Buffer, shuffled = false): unknown {
  const p = dnsPacket.decode(wire) as unknown as Record<string, unknown>;
  if (shuffled) (p.answers as { data: string }[]).sort((a, b) => a.data.localeCompare(b.data));
  for (const section of ['answers', 'authorities', 'additionals']) {
    for (const rr of (p[section] as Record<string, unknown>[]) ?? []) {
      if (rr.type === 'OPT') continue;
      assert.ok(typeof rr.ttl === 'number' && rr.ttl > 0, `${String(rr.name)} has TTL ${String(rr.ttl)}`);
      delete rr.ttl;
      if (rr.type === 'SOA') delete (rr.data as { serial?: number }).serial;
    }
  }
  return p;
}

function ttlsOf(wire: Buffer): number[] {
  const p = dnsPacket.decode(wire);
  return [...(p.answers ?? []), ...(p.authorities ?? [])].map((rr) => (rr as { ttl?: number }).ttl ?? -1);
}

// Each server with its own metrics, so their counts can be compared.
async function start(corefile: string): Promise<{ server: RunningDnsServer; port: number }> {
  const server = await startDnsServer({ corefile, corefilePath: null, defaultPort: 0, logger: createLogger('dns-test', process.env.CLOUDNET_LOG_LEVEL ?? 'silent'), metrics: createDnsMetrics('test', 'test') });
  return { server, port: server.boundPort(0)! };
}

function scrape(dns: { server: RunningDnsServer }): Promise<string> {
  return dns.server.metrics.registry.metrics();
}

function replayed(text: string, proto: string): number {
  return Number(new RegExp(`^cloudnet_dns_replayed_answers_total\\{proto="${proto}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

function seriesOf(text: string, names: string[]): string[] {
  return text
    .split('\n')
    .filter((l) => names.some((n) => l.startsWith(n)))
    .sort();
}

describe('replayed cache answers', { timeout: 90_000 }, () => {
  let api: StandIn;
  let replaying: { server: RunningDnsServer; port: number };
  let reference: { server: RunningDnsServer; port: number };
  before(async () => {
    api = await startStandIn();
    loadClusterFixture(api);
    replaying = await start(corefile(api.url, false));
    reference = await start(corefile(api.url, true));
  }, { timeout: 30_000 });
  after(async () => {
    await replaying.server.close();
    await reference.server.close();
    await api.close();
  }, { timeout: 30_000 });

  it('sends what the full path sends, and replays a query once its exact bytes had a cache answer', async () => {
    // The model of the memo: cache entries by lower-cased name, type and DO; remembered answers
    // by transport and the query's exact bytes after the header.
    const cached = new Set<string>();
    const remembered = new Set<string>();
    let id = 1;
    for (const c of CASES) {
      const proto = c.tcp ? 'tcp' : 'udp';
      const cacheKey = `${c.name.toLowerCase()} ${c.type} ${c.dnssecOk === true}`;
      const memoKey = `${proto} ${c.name} ${c.type} ${c.ednsSize} ${c.dnssecOk === true}`;
      for (let i = 0; i < 3; i++) {
        const before = replayed(await scrape(replaying), proto);
        const query = encode(c, id++);
        const fast = await sendRaw(replaying.port, query, c.tcp);
        const full = await sendRaw(reference.port, query, c.tcp);
        const label = `${JSON.stringify(c)} query ${i + 1}`;
        assert.equal(fast.length, full.length, label);
        assert.deepEqual(withoutTtls(fast, c.shuffled), withoutTtls(full, c.shuffled), label);
        const expected = remembered.has(memoKey) ? 1 : 0;
        assert.equal(replayed(await scrape(replaying), proto) - before, expected, `${label}: replays`);
        if (cached.has(cacheKey) && !c.shuffled) remembered.add(memoKey);
        cached.add(cacheKey);
      }
    }
    // Every case but the shuffled one, and the RD=0 query shares its bytes after the header with the first.
    assert.equal(remembered.size, CASES.length - 2);
    const fast = await scrape(replaying);
    const full = await scrape(reference);
    assert.equal(replayed(full, 'udp') + replayed(full, 'tcp'), 0, 'the reference never replays');
    const counted = ['coredns_dns_requests_total', 'coredns_dns_responses_total', 'coredns_dns_request_size_bytes', 'coredns_dns_response_size_bytes', 'coredns_dns_request_duration_seconds_count', 'coredns_cache_requests_total', 'coredns_cache_hits_total', 'coredns_cache_misses_total'];
    const counts = seriesOf(fast, counted);
    assert.ok(counts.length > 20, counts.join('\n'));
    assert.deepEqual(counts, seriesOf(full, counted));
  });

  it('replays the remaining TTL and stops when the entry expires', async () => {
    const c: Case = { name: 'short.test', type: 'A' };
    const ask = (id: number): Promise<Buffer> => sendRaw(replaying.port, encode(c, id));
    await ask(1);
    await ask(2);
    const before = replayed(await scrape(replaying), 'udp');
    const third = await ask(3);
    assert.equal(replayed(await scrape(replaying), 'udp') - before, 1);
    assert.equal(third.readUInt16BE(0), 3);
    assert.ok(ttlsOf(third)[0] <= 3);
    await new Promise((r) => setTimeout(r, 3100));
    const afterExpiry = await ask(4);
    assert.equal(replayed(await scrape(replaying), 'udp') - before, 1, 'an expired entry is not replayed');
    assert.deepEqual(ttlsOf(afterExpiry), [3600], 'answered by hosts');
  });
});
