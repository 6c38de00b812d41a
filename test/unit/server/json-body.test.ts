import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../support/server.js';

// tempest's rest_client sends `Content-Type: application/json` on every request, DELETE without a body included.
let server: TestServer;
let token: string;
before(async () => {
  server = await startTestServer({ dialect: 'sqlite' });
  token = await server.issueToken();
});
after(() => server.close());

const call = (method: string, path: string, body?: string) =>
  fetch(server.url + path, { method, headers: { 'content-type': 'application/json', 'x-auth-token': token }, body });

test('an empty body with Content-Type application/json is no body', async () => {
  const created = await call('POST', '/network/v2.0/networks', JSON.stringify({ network: { name: 'n' } }));
  assert.equal(created.status, 201);
  const { network } = (await created.json()) as { network: { id: string } };
  assert.equal((await call('DELETE', `/network/v2.0/networks/${network.id}`)).status, 204);
  assert.equal((await call('DELETE', `/network/v2.0/networks/${network.id}`, '')).status, 404);
});

test('a body that is not JSON is still a 400, and a poisoned one too', async () => {
  assert.equal((await call('POST', '/network/v2.0/networks', '{"network":')).status, 400);
  assert.equal((await call('POST', '/network/v2.0/networks', '{"network":{"__proto__":{"x":1}}}')).status, 400);
});
