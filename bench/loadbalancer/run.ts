/**
 * bench/loadbalancer: create -> serving, member create -> traffic, failover gaps and throughput of a cloudnet
 * balancer in one lab, each beside its anchor (bare HAProxy on the same rendered config, its runtime API's `add
 * server`; keepalived VRRPv2's computed takeover).
 *
 *   node --import tsx bench/loadbalancer/run.ts [--balancers 5] [--kills 20] [--wrk-seconds 10] [--wrk-threads 2] [--wrk-connections 50] [--member-creates 5]
 *
 * Runs as root; brings up its own lab (3 hosts) and takes it down at the end, also on failure. See README.md.
 */
import { parseArgs } from 'node:util';
import { renderReport, runLoadBalancerBench, type LoadBalancerBenchOptions } from './harness.js';

const { values: args } = parseArgs({
  options: {
    balancers: { type: 'string', default: '5' },
    kills: { type: 'string', default: '20' },
    'wrk-seconds': { type: 'string', default: '10' },
    'wrk-threads': { type: 'string', default: '2' },
    'wrk-connections': { type: 'string', default: '50' },
    'member-creates': { type: 'string', default: '5' },
  },
});

const bounded = (name: string, value: string | undefined, min: number, max: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
  return n;
};

const options: LoadBalancerBenchOptions = {
  balancers: bounded('balancers', args.balancers, 1, 20),
  kills: bounded('kills', args.kills, 0, 100),
  wrkSeconds: bounded('wrk-seconds', args['wrk-seconds'], 1, 60),
  wrkThreads: bounded('wrk-threads', args['wrk-threads'], 1, 8),
  wrkConnections: bounded('wrk-connections', args['wrk-connections'], 1, 1000),
  memberCreates: bounded('member-creates', args['member-creates'], 0, 50),
  log: (line) => console.log(`# ${line}`),
};

runLoadBalancerBench(options).then(
  (result) => console.log(renderReport(result, options).join('\n')),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
