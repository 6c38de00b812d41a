// What the balancer e2e files share: one lab per file, the CLI and API as the lab's users, waiting for a balancer
// to settle, servers in member VMs (stopped by pid after the file), and a bounded client loop from `public`.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { execTool } from '../../../src/lib/exec.js';
import { KeystoneSession } from '../../../src/lib/openstack-session.js';
import { waitUntil } from '../../../src/lab/processes.js';
import { labForTests, type TestLab } from '../lab/support.js';
import { json } from '../openstack-cli/openstackCli.js';

export interface AmphoraListed {
  id: string;
  loadbalancer_id: string;
  status: string;
  role: string;
  compute_id: string;
}

export interface ClientLoopResult {
  successes: number;
  failures: number;
  longestGapMs: number;
}

export interface BalancerLab {
  readonly testLab: TestLab;
  /** The environment of a process acting as `user` in the lab: ours without OS_*, plus the lab's openrc. */
  cliEnv(user: 'admin' | 'demo'): NodeJS.ProcessEnv;
  session(user: 'admin' | 'demo'): KeystoneSession;
  getJson(s: KeystoneSession, path: string): Promise<any>;
  /** Until the balancer is ACTIVE again after a change (bounded); ERROR fails at once with its status. */
  waitActive(s: KeystoneSession, id: string, timeoutMs?: number): Promise<void>;
  /** `openstack loadbalancer amphora list --loadbalancer <id> --long` as the admin. */
  amphorae(balancerId: string): Promise<AmphoraListed[]>;
  /** A node process running `script` in a VM's namespace with `env`; killed by its pid after the file. */
  startServer(netns: string, script: string, env: Record<string, string>): ChildProcess;
  /** Runs a command in the public namespace (the lab's outside client). */
  fromPublic(argv: string[], timeoutMs?: number): Promise<string>;
  /**
   * A new connection to vip:port every 20 ms from the public namespace, an answer counting when it contains
   * `expect`; runs until `stop()` or `maxMs`, then gives the longest gap between answered connections.
   */
  clientLoop(vip: string, port: number, expect: string, maxMs: number): { stop: () => void; result: Promise<ClientLoopResult> };
}

/** Runs inside the public namespace: one new connection every 20 ms, bounded in count and time; prints a summary. */
const CLIENT_LOOP = `
const net = require('net');
const [vip, port, expect, maxMs] = [process.argv[1], Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
const started = Date.now();
const successes = [];
let failures = 0;
let pending = 0;
let stopping = false;
const attempt = () => {
  const at = Date.now();
  pending++;
  const socket = net.connect({ host: vip, port, timeout: 500 });
  let data = '';
  socket.on('connect', () => socket.write('GET / HTTP/1.0\\r\\n\\r\\n'));
  socket.on('data', (d) => (data += d));
  const done = (ok) => { if (socket.done) return; socket.done = true; pending--; socket.destroy(); if (ok && data.includes(expect)) successes.push(at); else failures++; };
  socket.on('end', () => done(true));
  socket.on('timeout', () => done(false));
  socket.on('error', () => done(false));
};
process.stdin.on('data', () => {});
process.stdin.on('end', () => (stopping = true));
const timer = setInterval(() => { if (stopping || Date.now() - started >= maxMs) { clearInterval(timer); finish(); } else attempt(); }, 20);
const finish = () => {
  const endedAt = Date.now();
  const wait = setInterval(() => {
    if (pending > 0 && Date.now() - endedAt < 2000) return;
    clearInterval(wait);
    successes.sort((a, b) => a - b);
    let longestGapMs = 0;
    for (let i = 1; i < successes.length; i++) longestGapMs = Math.max(longestGapMs, successes[i] - successes[i - 1]);
    console.log(JSON.stringify({ successes: successes.length, failures, longestGapMs }));
    process.exit(0);
  }, 50);
};
`;

/** A lab of `hosts` hosts for the balancer tests of one file, with the helpers above bound to it. */
export function balancerLab(name: string, hosts: number): BalancerLab {
  const testLab = labForTests(name, { hosts });
  const lab = () => testLab.lab;
  const servers: ChildProcess[] = [];
  // The member VMs' servers run inside their namespaces, which outlive nothing: they are stopped by their pids.
  after(() => {
    for (const child of servers) {
      if (child.pid && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch (err) {
          // Gone between its exit and the event telling us so.
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
    }
  });

  const cliEnv = (user: 'admin' | 'demo'): NodeJS.ProcessEnv => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
    return { ...base, ...lab().openrcEnv(user) };
  };
  const session = (user: 'admin' | 'demo') => KeystoneSession.fromEnvironment(lab().openrcEnv(user));
  const getJson = async (s: KeystoneSession, path: string): Promise<any> => {
    const response = await s.fetch(lab().state().server!.url + path);
    assert.equal(response.status, 200, `GET ${path}`);
    return response.json();
  };

  return {
    testLab,
    cliEnv,
    session,
    getJson,
    async waitActive(s, id, timeoutMs = 60_000) {
      let last: any;
      const ok = await waitUntil(async () => {
        last = (await getJson(s, `/load-balancer/v2/lbaas/loadbalancers/${id}`)).loadbalancer;
        if (last.provisioning_status === 'ERROR') throw new Error(`balancer ${id} went to ERROR: ${JSON.stringify(last)}`);
        return last.provisioning_status === 'ACTIVE';
      }, timeoutMs, 50);
      assert.ok(ok, `balancer ${id} not ACTIVE within ${timeoutMs / 1000} s: ${JSON.stringify(last)}`);
    },
    async amphorae(balancerId) {
      return json(cliEnv('admin'), 'loadbalancer', 'amphora', 'list', '--loadbalancer', balancerId, '--long');
    },
    startServer(netns, script, env) {
      const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { env: { ...process.env, ...env }, stdio: 'ignore' });
      servers.push(child);
      return child;
    },
    async fromPublic(argv, timeoutMs = 10_000) {
      const { stdout } = await execTool('ip', ['netns', 'exec', lab().state().public!.netns, ...argv], { timeoutMs });
      return stdout;
    },
    clientLoop(vip, port, expect, maxMs) {
      const child = spawn('ip', ['netns', 'exec', lab().state().public!.netns, process.execPath, '-e', CLIENT_LOOP, vip, String(port), expect, String(maxMs)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      servers.push(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d));
      child.stderr!.on('data', (d: Buffer) => (err += d));
      const result = new Promise<ClientLoopResult>((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`client loop exited ${code}: ${err}`)))),
      );
      return { stop: () => child.stdin!.end(), result };
    },
  };
}
