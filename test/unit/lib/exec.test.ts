import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError, execTool } from '../../../src/lib/exec.js';
import { toolRunner } from '../../../src/lib/netns.js';

test('execTool feeds stdin and returns stdout', async () => {
  assert.deepEqual(await execTool('cat', [], { input: 'a line\n' }), { stdout: 'a line\n', stderr: '' });
});

test("a failing tool's error carries its argv, exit code and stderr", async () => {
  await assert.rejects(execTool('sh', ['-c', 'echo bad thing >&2; exit 3']), (err: ExecError) => {
    assert.ok(err instanceof ExecError);
    assert.equal(err.code, 3);
    assert.equal(err.stderr.trim(), 'bad thing');
    assert.match(err.message, /^sh -c .* failed \(exit 3\): bad thing$/);
    return true;
  });
});

test('a tool that outlives its time limit is killed', async () => {
  const started = Date.now();
  await assert.rejects(execTool('sleep', ['5'], { timeoutMs: 100 }), (err: ExecError) => err.code === null);
  assert.ok(Date.now() - started < 2000);
});

test('a missing tool is an ExecError too', async () => {
  await assert.rejects(execTool('no-such-tool-cloudnet', []), ExecError);
});

test('a runner without a namespace runs the tool directly; with one, through ip netns exec', async () => {
  assert.equal((await toolRunner().run('echo', ['here'])).stdout, 'here\n');
  await assert.rejects(toolRunner('cn-no-such-netns').run('true', []), /ip netns exec cn-no-such-netns true failed/);
});
