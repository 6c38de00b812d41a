// `cloudnet lab` from the shell: up --detach, status, exec, and down after the lab's process was killed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deleteNetns, listNetns } from '../../../src/lib/netns.js';
import { isRunning } from '../../../src/lab/processes.js';
import { readLabState, type LabState } from '../../../src/lab/state.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'cloudnet-lab-cli-'));
const cloudnet = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
let prefix = '';

after(async () => {
  await cloudnet('lab', 'down', '--dir', dir).catch(() => undefined);
  for (const ns of await listNetns()) if (prefix && ns.startsWith(prefix)) await deleteNetns(ns);
  rmSync(dir, { recursive: true, force: true });
});

test('up --detach, status, exec; a killed lab is cleaned up by down', async () => {
  const up = await cloudnet('lab', 'up', '--detach', '--no-agents', '--hosts', '1', '--dir', dir);
  assert.match(up.stdout, /cloudnet lab [a-z0-9]{6} is up/);
  assert.match(up.stdout, new RegExp(`lab vm create web --network demo-net --dir ${dir}`));
  const state = readLabState(dir)!;
  prefix = state.namespacePrefix;
  assert.equal(state.phase, 'ready');

  const status = JSON.parse((await cloudnet('lab', 'status', '--json', '--dir', dir)).stdout) as LabState;
  assert.equal(status.runId, state.runId);
  const exec = await cloudnet('lab', 'exec', 'public', '--dir', dir, '--', 'ip', '-o', '-4', 'addr', 'show', 'eth0');
  assert.match(exec.stdout, /inet 198\.19\.0\.1\/24/);
  await assert.rejects(cloudnet('lab', 'exec', 'public', '--dir', dir, '--', 'false'), (err: { code: number }) => err.code === 1);
  await assert.rejects(cloudnet('lab', 'vm', 'create', 'x', '--network', 'nope', '--dir', dir), /no network named 'nope'/);
  // The port options reach the port: an exact fixed IP on a subnet named as lab.json names it, a pair with its MAC.
  const v4 = state.networks['demo-net']!.subnets.find((s) => !s.cidr.includes(':'))!;
  const vip = await cloudnet('lab', 'vm', 'create', 'vip', '--network', 'demo-net', '--fixed-ip', `subnet=${v4.name},ip-address=198.18.1.60`, '--allowed-address', '198.18.1.0/28,mac=fa:16:3e:00:00:aa', '--dir', dir);
  assert.match(vip.stdout, /^vip: on host1, port \S+, 198\.18\.1\.60\/24\n$/);
  await cloudnet('lab', 'vm', 'create', 'open', '--network', 'demo-net', '--no-port-security', '--dir', dir);
  await assert.rejects(cloudnet('lab', 'vm', 'create', 'x', '--network', 'demo-net', '--fixed-ip', 'bogus', '--dir', dir), /--fixed-ip bogus/);
  await assert.rejects(
    cloudnet('lab', 'vm', 'create', 'x', '--network', 'demo-net', '--no-port-security', '--allowed-address', '198.18.1.9', '--dir', dir),
    /allowed.address.pairs|port security/i,
  );

  // The lab's process dies without cleaning up; its server and namespaces are left behind.
  process.kill(state.supervisor.pid, 'SIGKILL');
  assert.ok(isRunning(state.server!));
  await assert.rejects(cloudnet('lab', 'vm', 'create', 'x', '--network', 'demo-net', '--dir', dir), /the lab is not running/);

  const down = await cloudnet('lab', 'down', '--dir', dir);
  assert.match(down.stdout, new RegExp(`${state.runId} is down`));
  assert.deepEqual((await listNetns()).filter((ns) => ns.startsWith(prefix)), []);
  assert.equal(isRunning(state.server!), false);
  assert.equal(existsSync(join(dir, 'lab.json')), false);
  assert.match((await cloudnet('lab', 'down', '--dir', dir)).stdout, /nothing to do/);
});
