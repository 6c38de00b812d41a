import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decideAdoption, isOurDaemon, observeDaemon, parsePidFile, type AdoptionDecision, type DaemonFacts, type DaemonIdentity } from '../../../../src/agents/amphora/adoption.js';

const DIR = '/var/lib/cloudnet/amp/a1';
const HAPROXY: DaemonIdentity = { program: 'haproxy', configPath: `${DIR}/haproxy.cfg` };
const KEEPALIVED: DaemonIdentity = { program: 'keepalived', configPath: `${DIR}/keepalived.conf` };
const haproxyArgv = (dir = DIR) => ['haproxy', '-W', '-S', `${dir}/haproxy-master.sock`, '-f', `${dir}/haproxy.cfg`, '-p', `${dir}/haproxy.pid`];
const keepalivedArgv = ['keepalived', '--dont-fork', '--log-console', '--vrrp', '-f', `${DIR}/keepalived.conf`, '-p', `${DIR}/keepalived.pid`];
const ours = (cmdline: string[], answers: boolean | null = true): DaemonFacts => ({ pidFile: '4242\n', process: { cmdline, inAmphoraNamespace: true }, answers });

test('the adoption decision: adopt only this amphora\'s working daemon, never signal a stranger', () => {
  const cases: [string, DaemonIdentity, DaemonFacts, AdoptionDecision['action']][] = [
    ['no pid file: a first start', HAPROXY, { pidFile: null, process: null, answers: null }, 'start-new'],
    ['an empty pid file', HAPROXY, { pidFile: '', process: null, answers: null }, 'start-new'],
    ['a pid file with garbage', HAPROXY, { pidFile: 'haproxy\n', process: null, answers: null }, 'start-new'],
    ['pid 1 is never ours', HAPROXY, { pidFile: '1\n', process: { cmdline: haproxyArgv(), inAmphoraNamespace: true }, answers: true }, 'start-new'],
    ['the daemon died with the agent away', HAPROXY, { pidFile: '4242\n', process: null, answers: null }, 'start-new'],
    ['the pid was reused by another program', HAPROXY, ours(['sleep', '100'], null), 'start-new'],
    ['the pid is another amphora\'s HAProxy', HAPROXY, ours(haproxyArgv('/var/lib/cloudnet/amp/a2'), null), 'start-new'],
    ['the pid is HAProxy without a config of ours', HAPROXY, ours(['haproxy', '-f', '/etc/haproxy/haproxy.cfg'], null), 'start-new'],
    ['our HAProxy, answering on its master socket', HAPROXY, ours(haproxyArgv()), 'adopt'],
    ['our HAProxy after reloads (its master re-executed with -sf)', HAPROXY, ours([...haproxyArgv(), '-x', `${DIR}/haproxy.sock`, '-sf', '77']), 'adopt'],
    ['our HAProxy by its full path', HAPROXY, ours(['/usr/sbin/haproxy', ...haproxyArgv().slice(1)]), 'adopt'],
    ['our HAProxy, deaf on its master socket', HAPROXY, ours(haproxyArgv(), false), 'kill-stale'],
    ['our HAProxy in an earlier namespace of the same name', HAPROXY, { pidFile: '4242', process: { cmdline: haproxyArgv(), inAmphoraNamespace: false }, answers: null }, 'kill-stale'],
    ['our keepalived (no socket to ask)', KEEPALIVED, ours(keepalivedArgv, null), 'adopt'],
    ['HAProxy where keepalived was', KEEPALIVED, ours(haproxyArgv(), null), 'start-new'],
  ];
  for (const [name, identity, facts, action] of cases) {
    const decision = decideAdoption(identity, facts);
    assert.equal(decision.action, action, `${name}: ${JSON.stringify(decision)}`);
    if (decision.action !== 'start-new') assert.equal(decision.pid, 4242, name);
  }
});

test('pid files and command lines', () => {
  assert.equal(parsePidFile('123\n'), 123);
  assert.equal(parsePidFile(' 123 '), 123);
  for (const bad of ['', '0', '-5', '12a', '1.5', '99999999999999999999']) assert.equal(parsePidFile(bad), undefined, bad);
  assert.ok(isOurDaemon(HAPROXY, haproxyArgv()));
  // The config path must be -f's argument, not merely appear somewhere.
  assert.ok(!isOurDaemon(HAPROXY, ['haproxy', '-p', HAPROXY.configPath]));
  assert.ok(!isOurDaemon(HAPROXY, []));
});

test('observing a daemon reads /proc: a live process of ours, a dead pid, a stranger', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudnet-adoption-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'daemon.cfg');
  // A stand-in daemon: node, named by the config path it was given with -f, as HAProxy and keepalived are.
  const script = 'setTimeout(() => {}, 30000)';
  const child = spawn(process.execPath, ['-e', script, '--', '-f', configPath], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 200));
  const pidFile = join(dir, 'daemon.pid');
  writeFileSync(pidFile, `${child.pid}\n`);
  const identity = { program: basename(process.execPath), configPath };
  let asked = 0;
  const answers = async () => (asked++, true);

  // Not in the amphora's namespace (this test runs in the root one, and no namespace has this name).
  const live = await observeDaemon(pidFile, identity, 'cn-no-such-namespace', answers);
  assert.deepEqual(live.process?.cmdline, [process.execPath, '-e', script, '--', '-f', configPath]);
  assert.equal(live.process?.inAmphoraNamespace, false);
  assert.equal(asked, 0, 'a process outside the namespace is not asked');
  assert.equal(decideAdoption(identity, live).action, 'kill-stale');

  const stranger = await observeDaemon(pidFile, { program: 'haproxy', configPath }, 'cn-no-such-namespace', answers);
  assert.equal(decideAdoption({ program: 'haproxy', configPath }, stranger).action, 'start-new');

  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const dead = await observeDaemon(pidFile, identity, 'cn-no-such-namespace', answers);
  assert.equal(dead.process, null);
  assert.equal(decideAdoption(identity, dead).action, 'start-new');
  assert.equal((await observeDaemon(join(dir, 'missing.pid'), identity, 'x')).pidFile, null);
});
