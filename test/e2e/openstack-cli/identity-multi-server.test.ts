import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { openrcVariables } from '../../../src/cli/openrc.js';
import { createTestDatabase } from '../../support/databases.js';
import { json, openstack, tokenEnv } from './openstackCli.js';

interface ServerProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
}

/** `cloudnet server` as its own process on a random port; resolves once it logs that it is ready. */
async function startServerProcess(dbUrl: string, adminPassword: string): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'server', '--listen', '127.0.0.1:0', '--db', dbUrl, '--admin-password', adminPassword],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logs: string[] = [];
  const lines = createInterface({ input: child.stderr! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      logs.push(line);
      if (line.includes('"cloudnet server ready"')) resolve((JSON.parse(line) as { publicUrl: string }).publicUrl);
    });
    child.once('exit', (code) => reject(new Error(`cloudnet server exited with ${code}:\n${logs.join('\n')}`)));
  });
  return { child, url, logs };
}

async function stop(server: ServerProcess): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  server.child.kill('SIGTERM');
  const [code] = (await once(server.child, 'exit')) as [number | null];
  return code;
}

test('two cloudnet server processes on one PostgreSQL share admin, tokens and revocations', async () => {
  const db = await createTestDatabase('postgres');
  const password = 'shared-admin-pw';
  // Started together, so their migrations and bootstraps race.
  const [a, b] = await Promise.all([startServerProcess(db.url, password), startServerProcess(db.url, password)]);
  try {
    const envA = { ...process.env, ...openrcVariables({ url: a.url, user: 'admin', password, project: 'admin', region: 'RegionOne' }) };
    const envB = { ...envA, ...openrcVariables({ url: b.url, user: 'admin', password, project: 'admin', region: 'RegionOne' }) };
    assert.deepEqual((await json(envB, 'user', 'list')).map((u: { Name: string }) => u.Name), ['admin'], 'one admin user');
    assert.deepEqual((await json(envB, 'project', 'list')).map((p: { Name: string }) => p.Name), ['admin'], 'one admin project');

    const { id } = await json(envA, 'token', 'issue');
    const onB = tokenEnv(envB, id);
    assert.equal((await openstack(onB, 'project', 'list')).code, 0, 'server B accepts a token server A issued');

    assert.equal((await openstack(envA, 'token', 'revoke', id)).code, 0);
    const refused = await openstack(onB, 'project', 'list');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /HTTP 401/, 'server B refuses the token server A revoked');
  } finally {
    const codes = [await stop(a), await stop(b)];
    await db.drop();
    assert.deepEqual(codes, [0, 0], 'both shut down cleanly on SIGTERM');
    assert.ok(a.logs.some((l) => l.includes('"shutting down"')));
  }
});
