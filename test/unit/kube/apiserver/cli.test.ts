import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

test('cloudnet kube-apiserver --help says it is not for production', async () => {
  const { stdout } = await promisify(execFile)('node', [...CLI, 'kube-apiserver', '--help']);
  assert.match(stdout, /usage: cloudnet kube-apiserver \[--listen HOST:PORT\]/);
  assert.match(stdout, /NOT for\s+production/);
});

test('cloudnet kube-apiserver serves until SIGTERM, logging where and that it is a stand-in', async () => {
  const child = spawn('node', [...CLI, 'kube-apiserver', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = await new Promise<{ url: string; msg: string }>((resolve, reject) => {
    createInterface(child.stderr).on('line', (line) => {
      const entry = JSON.parse(line) as { url?: string; msg: string };
      if (entry.url) resolve(entry as { url: string; msg: string });
    });
    child.on('exit', () => reject(new Error('exited before listening')));
  });
  assert.match(started.msg, /NOT for production/);
  assert.equal(await (await fetch(`${started.url}/healthz`)).text(), 'ok');
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
