/**
 * bench/convergence: time from a Network API commit to every concerned (simulated) host agent holding the change,
 * with the bytes sent and the agents reached, for the feed's Sprut fan-out and a model of Neutron's, measured in
 * the same run on the same database (see harness.ts, fan-out.ts).
 *
 *   node --max-old-space-size=8192 --import tsx bench/convergence/run.ts [--hosts 500] [--ports 50000]
 *       [--networks 10] [--referencing-hosts 100] [--fail-percent 1] [--agent-down-time 10] [--wait-seconds 120]
 *       [--agent-processes 4] [--db postgres://…]
 *
 * The server is the real app in a child process on 127.0.0.1, on a new SQLite file or on the empty database
 * `--db` names; the agents are real HTTP stream clients spread over `--agent-processes` child processes, so that
 * no one heap's garbage collection stalls them all. Every wait is bounded.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { renderTable, runConvergence } from './harness.js';

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '500' },
    ports: { type: 'string', default: '50000' },
    networks: { type: 'string', default: '10' },
    'referencing-hosts': { type: 'string' },
    'fail-percent': { type: 'string', default: '1' },
    'agent-down-time': { type: 'string', default: '10' },
    'wait-seconds': { type: 'string', default: '120' },
    'agent-processes': { type: 'string', default: '4' },
    db: { type: 'string' },
  },
});
const hosts = Number(args.hosts);
const started = performance.now();
const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
console.log(`convergence benchmark, ${new Date().toISOString()}, ${cpus().length} CPUs, load average at start: ${load(loadavg())}`);
const result = await runConvergence({
  hosts,
  ports: Number(args.ports),
  networks: Number(args.networks),
  referencingHosts: Number(args['referencing-hosts'] ?? Math.max(1, Math.floor(hosts / 5))),
  failPercent: Number(args['fail-percent']),
  agentDownTimeSeconds: Number(args['agent-down-time']),
  waitSeconds: Number(args['wait-seconds']),
  agentProcesses: Number(args['agent-processes']),
  db: args.db,
  log: (line) => console.log(line),
});
console.log('\n' + renderTable(result.results));
console.log(`
latency: from the API request being sent (port create, port update) to each concerned agent holding the change after the
  revision marker that follows it; "fail": from the agents dying to all their ports DOWN in the API (includes the down time);
  "restart"/"return": from the server listening again (or the host heart-beating again) to each agent's first consistent point.
bytes sent: NDJSON bytes received by all agents during the scenario (heartbeat lines excluded; HTTP framing excluded).
agents reached: agents that received any line other than a heartbeat. last msg: the scenario's last line to reach any agent.
load average at end: ${load(result.loadAfter)}; total ${((performance.now() - started) / 1000).toFixed(0)} s`);
