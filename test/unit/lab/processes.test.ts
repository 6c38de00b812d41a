import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { isRunning, processStartTime, stopProcess } from '../../../src/lab/processes.js';

test('a process is known by pid and start time; a stale record never matches', () => {
  const startTime = processStartTime(process.pid)!;
  assert.match(startTime, /^\d+$/);
  assert.equal(isRunning({ pid: process.pid, startTime }), true);
  // The same pid with another start time is another process, which must not be signalled.
  assert.equal(isRunning({ pid: process.pid, startTime: String(Number(startTime) + 1) }), false);
  assert.equal(processStartTime(2 ** 22 + 1), undefined);
});

test('stopProcess: SIGTERM, and SIGKILL for a process that ignores it', async () => {
  const stubborn = spawn('sh', ['-c', 'trap "" TERM; while :; do sleep 0.05; done'], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const record = { pid: stubborn.pid!, startTime: processStartTime(stubborn.pid!)! };
  const started = Date.now();
  await stopProcess(record, 300);
  assert.equal(isRunning(record), false);
  assert.ok(Date.now() - started >= 300);
});
