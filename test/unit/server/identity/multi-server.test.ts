import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../../../support/server.js';
import { probeApi, probeStatus } from './probeApi.js';

test('two servers on one PostgreSQL: each validates the other\'s tokens and sees its revocations within two seconds', async () => {
  const a = await startTestServer({ dialect: 'postgres', apis: [probeApi] });
  const b = await startTestServer({ dialect: 'postgres', apis: [probeApi], databaseUrl: a.databaseUrl, adminPassword: a.adminPassword });
  try {
    const token = await a.issueToken();
    assert.equal(await probeStatus(b.url, token), 200);
    const fromB = await b.issueToken();
    assert.equal(await probeStatus(a.url, fromB), 200);

    const admin = await a.issueToken();
    const revoked = await fetch(`${a.url}/identity/v3/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': admin, 'x-subject-token': token } });
    assert.equal(revoked.status, 204);
    assert.equal(await probeStatus(a.url, token), 401, 'the revoking server forgets at once');
    const started = Date.now();
    while ((await probeStatus(b.url, token)) !== 401) {
      assert.ok(Date.now() - started < 2000, 'the other server still accepts a revoked token after 2 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await probeStatus(b.url, fromB), 200, 'other tokens stay valid');
  } finally {
    await b.close();
    await a.close();
  }
});
