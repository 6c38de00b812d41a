import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openrcVariables } from '../../../src/cli/openrc.js';
import { createTestDatabase } from '../../support/databases.js';
import { startServerProcess } from '../../support/server.js';
import { json, openstack, tokenEnv } from './openstackCli.js';

test('two cloudnet server processes on one PostgreSQL share admin, tokens and revocations', async () => {
  const db = await createTestDatabase('postgres');
  const password = 'shared-admin-pw';
  // Started together, so their migrations and bootstraps race.
  const args = ['--listen', '127.0.0.1:0', '--db', db.url, '--admin-password', password];
  const [a, b] = await Promise.all([startServerProcess(args), startServerProcess(args)]);
  try {
    const envA = { ...process.env, ...openrcVariables({ url: a.url, user: 'admin', password, project: 'admin', region: 'RegionOne' }) };
    const envB = { ...envA, ...openrcVariables({ url: b.url, user: 'admin', password, project: 'admin', region: 'RegionOne' }) };
    assert.deepEqual((await json(envB, 'user', 'list')).map((u: { Name: string }) => u.Name), ['admin'], 'one admin user');
    assert.deepEqual((await json(envB, 'project', 'list')).map((p: { Name: string }) => p.Name), ['admin'], 'one admin project');

    const { id } = await json(envA, 'token', 'issue');
    const onB = tokenEnv(envB, id);
    assert.equal((await openstack(onB, 'project', 'list')).code, 0, 'server B accepts a token server A issued');

    const revoke = await openstack(envA, 'token', 'revoke', id);
    assert.equal(revoke.code, 0, `token revoke: ${revoke.stderr}`);
    const refused = await openstack(onB, 'project', 'list');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /HTTP 401/, 'server B refuses the token server A revoked');
  } finally {
    const codes = [await a.stop(), await b.stop()];
    await db.drop();
    assert.deepEqual(codes, [0, 0], 'both shut down cleanly on SIGTERM');
    assert.ok(a.logs.some((l) => l.includes('"shutting down"')));
  }
});
