import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrk, renderReport, runLoadBalancerBench, type LoadBalancerBenchOptions } from '../../../bench/loadbalancer/harness.js';

// wrk 4.1's --latency output, as Debian's wrk prints it.
const WRK_OUTPUT = `Running 2s test @ http://198.19.250.1/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.05ms    3.90ms  58.11ms   94.61%
    Req/Sec    13.14k     1.71k   15.63k    75.00%
  Latency Distribution
     50%    1.66ms
     75%    1.95ms
     90%    2.60ms
     99%   28.51ms
  52322 requests in 2.00s, 4.84MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  26160.50
Transfer/sec:      2.42MB
`;

test('parseWrk reads requests per second, the 50th and 99th latency percentiles in ms, and the errors', () => {
  assert.deepEqual(parseWrk(WRK_OUTPUT), { requestsPerSecond: 26160.5, p50Ms: 1.66, p99Ms: 28.51, requests: 52322, errors: 9 });
  assert.equal(parseWrk(WRK_OUTPUT.replace('1.66ms', '830.00us')).p50Ms, 0.83);
  assert.equal(parseWrk(WRK_OUTPUT.replace('28.51ms', '1.20s')).p99Ms, 1200);
  assert.throws(() => parseWrk('unable to connect to 198.19.250.1:80 Connection refused'), /wrk output/);
});

// The benchmark at its smallest scale, so that it keeps running: a lab, one balancer to serving, its bare HAProxy
// anchor, one member created again and its add server anchor, one kill with the pair restored, one second of wrk
// per throughput leg. About a minute on a loaded machine.
test('the load balancer benchmark runs at the smallest scale', { skip: process.getuid?.() !== 0 && 'needs root for the lab', timeout: 600_000 }, async () => {
  const lines: string[] = [];
  const options: LoadBalancerBenchOptions = { balancers: 1, kills: 1, wrkSeconds: 1, wrkThreads: 1, wrkConnections: 4, memberCreates: 1, log: (line) => lines.push(line) };
  const result = await runLoadBalancerBench(options);
  const context = lines.join('\n');
  assert.equal(result.createToActiveMs.length, 1, context);
  assert.equal(result.createToServingMs.length, 1, context);
  assert.equal(result.stepsMs[0]!.length, 4, context);
  assert.equal(result.bareHaproxyServingMs.length, 1, context);
  assert.equal(result.memberToActiveMs.length, 1, context);
  assert.equal(result.memberToServingMs.length, 1, context);
  assert.equal(result.bareAddServerMs.length, 1, context);
  assert.equal(result.kills.length, 1, context);
  assert.ok(result.kills[0]!.successes > 0, context);
  for (const legs of [result.wrkVip, result.wrkAmphoraBare, result.wrkAmphoraVeth, result.wrkBare]) {
    assert.equal(legs.length, 2, context);
    for (const w of legs) assert.ok(w.requests > 0 && w.proxyUsPerRequest > 0 && w.membersUsPerRequest > 0, context);
  }
  assert.ok(result.wrkMemberSdn!.requests > 0 && result.wrkMemberVeth!.requests > 0, context);
  const report = renderReport(result, options).join('\n');
  assert.match(report, /\(c\) \/ \(a\), the overhead asked about: req\/s [\d.]+x/);
  assert.match(report, /cloudnet \/ add server \(p50\): [\d.]+x/);
});
