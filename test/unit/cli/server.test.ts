import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { adminPasswordFile, defaultPublicUrl, parseListen } from '../../../src/cli/server.js';
import { startServerProcess } from '../../support/server.js';

for (const [input, expected] of [
  ['127.0.0.1:9696', { host: '127.0.0.1', port: 9696 }],
  [':8080', { host: '0.0.0.0', port: 8080 }],
  ['[::1]:9696', { host: '::1', port: 9696 }],
  ['localhost:0', { host: 'localhost', port: 0 }],
] as const) {
  test(`parseListen(${input})`, () => assert.deepEqual(parseListen(input), expected));
}

for (const bad of ['9696', 'host:', 'host:99999', '::1:80', 'a:b']) {
  test(`parseListen rejects ${bad}`, () => assert.throws(() => parseListen(bad), /--listen must be HOST:PORT/));
}

for (const [listen, url] of [
  [{ host: '127.0.0.1', port: 9696 }, 'http://127.0.0.1:9696'],
  [{ host: '0.0.0.0', port: 1 }, 'http://127.0.0.1:1'],
  [{ host: '::', port: 2 }, 'http://[::1]:2'],
  [{ host: 'fd00::5', port: 3 }, 'http://[fd00::5]:3'],
] as const) {
  test(`defaultPublicUrl(${listen.host})`, () => assert.equal(defaultPublicUrl(listen), url));
}

test('the generated admin password lives beside the SQLite file, or in ./data for PostgreSQL', () => {
  assert.equal(adminPasswordFile('sqlite:/var/lib/cloudnet/c.db'), '/var/lib/cloudnet/admin-password');
  assert.equal(adminPasswordFile('sqlite:///var/lib/x.db'), '/var/lib/admin-password');
  assert.equal(adminPasswordFile('sqlite:./data/cloudnet.db'), `${process.cwd()}/data/admin-password`);
  assert.equal(adminPasswordFile('postgres://u@h/db'), `${process.cwd()}/data/admin-password`);
});

test('cloudnet server generates an admin password once, keeps it 0600 beside the database, and reuses it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudnet-server-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CLOUDNET_ADMIN_PASSWORD;
  const args = ['--listen', '127.0.0.1:0', '--db', `sqlite:${join(dir, 'cloudnet.db')}`];
  try {
    const first = await startServerProcess(args, env);
    const file = join(dir, 'admin-password');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const password = readFileSync(file, 'utf8').trim();
    assert.ok(password.length >= 20);
    assert.ok(first.logs.some((l) => l.includes(file)), 'says where the password is');
    assert.equal(await login(first.url, password), 201);
    assert.equal(await first.stop(), 0);

    const second = await startServerProcess(args, env);
    assert.equal(readFileSync(file, 'utf8').trim(), password, 'the file is not rewritten');
    assert.equal(await login(second.url, password), 201);
    assert.ok(!second.logs.some((l) => l.includes('"level":40')), `no warnings:\n${second.logs.join('\n')}`);
    assert.equal(await second.stop(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cloudnet server --admin-password sets the password of an existing admin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudnet-server-'));
  const args = ['--listen', '127.0.0.1:0', '--db', `sqlite:${join(dir, 'cloudnet.db')}`];
  try {
    const first = await startServerProcess([...args, '--admin-password', 'one']);
    assert.equal(await first.stop(), 0);
    const second = await startServerProcess([...args, '--admin-password', 'two']);
    assert.equal(await login(second.url, 'one'), 401);
    assert.equal(await login(second.url, 'two'), 201);
    assert.equal(await second.stop(), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cloudnet server --help exits 0', async () => {
  const { stdout } = await promisify(execFile)('node', ['--import', 'tsx', 'src/cli/main.ts', 'server', '--help']);
  assert.match(stdout, /--listen HOST:PORT/);
  assert.match(stdout, /--admin-password/);
});

async function login(url: string, password: string): Promise<number> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  return response.status;
}
