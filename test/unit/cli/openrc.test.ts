import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openrcVariables, renderOpenrc, shellQuote } from '../../../src/cli/openrc.js';

const run = promisify(execFile);

for (const [value, quoted] of [
  ['plain', `'plain'`],
  ['', `''`],
  [`it's`, `'it'\\''s'`],
  ['$HOME `x` "y"', `'$HOME \`x\` "y"'`],
]) {
  test(`shellQuote(${JSON.stringify(value)})`, () => assert.equal(shellQuote(value), quoted));
}

test('openrc points at /identity/v3 in domain Default, and survives a round trip through sh', async () => {
  const vars = openrcVariables({ url: 'http://10.1.2.3:9696/', user: 'alice', password: `p'a$s"`, project: 'demo', region: 'RegionOne' });
  assert.equal(vars.OS_AUTH_URL, 'http://10.1.2.3:9696/identity/v3');
  assert.equal(vars.OS_IDENTITY_API_VERSION, '3');
  assert.equal(vars.OS_USER_DOMAIN_NAME, 'Default');
  assert.equal(vars.OS_PROJECT_DOMAIN_NAME, 'Default');
  assert.equal(vars.OS_INTERFACE, 'public');
  const { stdout } = await run('sh', ['-c', `${renderOpenrc(vars)} printf '%s\\n' "$OS_PASSWORD" "$OS_USERNAME" "$OS_PROJECT_NAME"`]);
  assert.equal(stdout, `p'a$s"\nalice\ndemo\n`);
});

test('cloudnet openrc reads the password file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudnet-openrc-'));
  writeFileSync(join(dir, 'pw'), 'secret\n');
  const { stdout } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', 'openrc', '--password-file', join(dir, 'pw'), '--project', 'demo', '--user', 'bob'], {
    env: { ...process.env, CLOUDNET_ADMIN_PASSWORD: '' },
  });
  assert.match(stdout, /^export OS_PASSWORD='secret'$/m);
  assert.match(stdout, /^export OS_USERNAME='bob'$/m);
  assert.match(stdout, /^export OS_PROJECT_NAME='demo'$/m);
  assert.match(stdout, /^export OS_AUTH_URL='http:\/\/127\.0\.0\.1:9696\/identity\/v3'$/m);
});

test('cloudnet openrc without a readable password says where it looked', async () => {
  await assert.rejects(
    run('node', ['--import', 'tsx', 'src/cli/main.ts', 'openrc', '--password-file', '/nonexistent/pw']),
    (err: { code: number; stderr: string }) => err.code === 1 && /\/nonexistent\/pw/.test(err.stderr),
  );
});
