import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { backendName, renderHaproxyConfig } from '../../../../src/agents/amphora/haproxy-config.js';
import { haproxySocketCheck } from '../../../../src/agents/amphora/keepalived-config.js';
import { balancer, listener, member, pool } from './fixtures.js';

/** One runtime API command over the stats socket; HAProxy answers and closes. */
function runtime(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(`${command}\n`);
  });
}

/** `show servers state <backend>` as { server name -> column }. */
async function serverStates(socketPath: string, backend: string): Promise<Map<string, Record<string, string>>> {
  const lines = (await runtime(socketPath, `show servers state ${backend}`)).trim().split('\n');
  const columns = lines[1]!.replace(/^# /, '').split(' ');
  const states = new Map<string, Record<string, string>>();
  for (const line of lines.slice(2)) {
    const values = line.split(' ');
    const row = Object.fromEntries(columns.map((c, i) => [c, values[i]!]));
    states.set(row.srv_name!, row);
  }
  return states;
}

/**
 * The names the renderer gives are the ones the agent will use without reloading: HAProxy runs for real in a
 * network namespace of its own (VIP from 198.18.0.0/15 on its loopback), and its runtime API changes a member's
 * weight and admin state by `<pool>:<listener>/<member>`. Also: the keepalived check passes while HAProxy runs
 * and fails once it is gone.
 */
test('runtime API: members addressed by backendName/member id change without a reload', { skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, async () => {
  const namespace = `cn-${randomBytes(3).toString('hex')}-amp`;
  const dir = mkdtempSync(join(tmpdir(), 'cloudnet-amphora-runtime-'));
  const socketPath = join(dir, 'haproxy.sock');
  execFileSync('ip', ['netns', 'add', namespace]);
  let haproxy: ReturnType<typeof spawn> | null = null;
  try {
    execFileSync('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', namespace, 'addr', 'add', '198.18.0.10/32', 'dev', 'lo']);
    writeFileSync(join(dir, 'haproxy.state'), '1\n');
    const lb = balancer({
      listeners: [listener({ id: 'l1' })],
      pools: [pool({ id: 'p1', members: [member({ id: 'm1', address: '198.18.0.21' }), member({ id: 'm2', address: '198.18.0.22', weight: 3 })] })],
    });
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, renderHaproxyConfig(lb, { statsSocketPath: socketPath, serverStateFilePath: join(dir, 'haproxy.state'), maxconn: 1000, pingCheckCommand: null, peers: null }));
    haproxy = spawn('ip', ['netns', 'exec', namespace, 'haproxy', '-db', '-f', file], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socketPath); i++) await sleep(50);
    assert.ok(existsSync(socketPath), 'HAProxy did not open its runtime socket');
    const check = haproxySocketCheck(socketPath);
    assert.equal(spawnSync(check[0]!, check.slice(1)).status, 0, 'the keepalived check passes while HAProxy runs');

    const backend = backendName('p1', 'l1');
    let states = await serverStates(socketPath, backend);
    assert.deepEqual([...states.keys()], ['m1', 'm2']);
    assert.equal(states.get('m2')!.srv_uweight, '3');

    assert.equal((await runtime(socketPath, `set server ${backend}/m1 weight 0`)).trim(), '');
    assert.equal((await runtime(socketPath, `disable server ${backend}/m2`)).trim(), '');
    states = await serverStates(socketPath, backend);
    assert.equal(states.get('m1')!.srv_uweight, '0');
    assert.equal(Number(states.get('m2')!.srv_admin_state) & 1, 1, 'm2 is in forced maintenance');

    assert.equal((await runtime(socketPath, `enable server ${backend}/m2`)).trim(), '');
    states = await serverStates(socketPath, backend);
    assert.equal(Number(states.get('m2')!.srv_admin_state) & 1, 0);
  } finally {
    if (haproxy?.pid) {
      haproxy.kill('SIGTERM');
      await new Promise((resolve) => haproxy!.once('exit', resolve));
      const check = haproxySocketCheck(socketPath);
      assert.notEqual(spawnSync(check[0]!, check.slice(1)).status, 0, 'the keepalived check fails once HAProxy is gone');
    }
    execFileSync('ip', ['netns', 'del', namespace]);
    rmSync(dir, { recursive: true, force: true });
  }
});
