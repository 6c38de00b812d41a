import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

test('cloudnet --help lists the commands and exits 0', async () => {
  const { stdout } = await run('node', [...CLI, '--help']);
  assert.match(stdout, /usage: cloudnet <command>/);
});

test('an unknown command exits 2 with the usage on stderr', async () => {
  await assert.rejects(run('node', [...CLI, 'no-such-command']), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /unknown command 'no-such-command'/);
    return true;
  });
});
