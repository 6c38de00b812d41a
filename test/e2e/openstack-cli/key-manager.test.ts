import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type ProjectUser, type TestServer } from '../../support/server.js';
import { readCertificateBundle } from '../../../src/server/key-manager/index.js';
import { testServerKek } from '../../unit/server/key-manager/support.js';
import { CLI_DIALECT, json, openstack } from './openstackCli.js';

for (const dialect of [CLI_DIALECT.keyManager]) {
  describe(`openstack CLI against the Key Manager on ${dialect}`, () => {
    let server: TestServer;
    let env: NodeJS.ProcessEnv;
    let alice: ProjectUser;
    let dir: string;
    before(async () => {
      server = await startTestServer({ dialect });
      alice = await server.createProjectUser('alice');
      env = server.openrcEnv('alice');
      dir = mkdtempSync(join(tmpdir(), 'cn-km-cli-'));
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('secret store, get, get --payload, list, delete', async () => {
      const stored = await json(env, 'secret', 'store', '--name', 'db-password', '--payload', 'correct horse battery staple');
      const href: string = stored['Secret href'];
      assert.match(href, new RegExp(`^${server.url}/key-manager/v1/secrets/[0-9a-f-]{36}$`));
      assert.equal(stored.Name, 'db-password');
      assert.equal(stored['Secret type'], 'opaque');

      assert.deepEqual(await json(env, 'secret', 'get', '--payload', href), { Payload: 'correct horse battery staple' });
      const meta = await json(env, 'secret', 'get', href);
      assert.deepEqual([meta.Name, meta.Status, meta.Algorithm, meta['Bit length'], meta.Mode], ['db-password', 'ACTIVE', 'aes', 256, 'cbc']);
      assert.deepEqual(meta['Content types'], { default: 'application/octet-stream' });

      const text = await json(env, 'secret', 'store', '--name', 'note', '--secret-type', 'passphrase', '--payload-content-type', 'text/plain', '--payload', 'plain words');
      assert.deepEqual(await json(env, 'secret', 'get', '--payload', text['Secret href']), { Payload: 'plain words' });

      const listed = await json(env, 'secret', 'list');
      assert.deepEqual(listed.map((s: { Name: string }) => s.Name), ['db-password', 'note']);
      assert.equal((await json(env, 'secret', 'list', '--name', 'note', '--limit', '1'))[0]['Secret href'], text['Secret href']);

      // Another project cannot read it.
      const bobEnv = (await server.createProjectUser('bob'), server.openrcEnv('bob'));
      const foreign = await openstack(bobEnv, 'secret', 'get', '--payload', href);
      assert.notEqual(foreign.code, 0);
      assert.match(foreign.stderr, /Forbidden: Secret payload retrieval attempt not allowed/);

      assert.equal((await openstack(env, 'secret', 'delete', href)).code, 0);
      const gone = await openstack(env, 'secret', 'get', href);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /Not Found: Not Found\. Sorry but your secret is in another castle/);
      assert.deepEqual((await json(env, 'secret', 'list')).map((s: { Name: string }) => s.Name), ['note']);
    });

    test('a real certificate: secrets from files, a certificate container, an ACL for a service user, and the bundle for the load balancer', async () => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=lb.example.test',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const certificate = await json(env, 'secret', 'store', '--name', 'lb-cert', '--secret-type', 'certificate', '--file', join(dir, 'cert.pem'));
      const key = await json(env, 'secret', 'store', '--name', 'lb-key', '--secret-type', 'private', '--file', join(dir, 'key.pem'));
      const container = await json(
        env, 'secret', 'container', 'create', '--name', 'lb-tls', '--type', 'certificate',
        '--secret', `certificate=${certificate['Secret href']}`, '--secret', `private_key=${key['Secret href']}`,
      );
      const ref: string = container['Container href'];
      assert.match(ref, new RegExp(`^${server.url}/key-manager/v1/containers/[0-9a-f-]{36}$`));
      assert.equal(container.Type, 'certificate');
      assert.equal(container.Certificate, certificate['Secret href']);
      assert.equal(container['Private Key'], key['Secret href']);

      // barbicanclient cannot print a certificate container as JSON (it hands a datetime to the JSON formatter),
      // whatever the server, so the values are read one per line.
      const shown = await openstack(env, 'secret', 'container', 'get', ref, '-f', 'value', '-c', 'Name', '-c', 'Status', '-c', 'Certificate');
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(shown.stdout.trim().split('\n'), ['lb-tls', 'ACTIVE', certificate['Secret href']]);
      assert.deepEqual((await json(env, 'secret', 'container', 'list', '--type', 'certificate')).map((c: { Name: string }) => c.Name), ['lb-tls']);

      // Octavia's way: the owner grants the service user read on the container and on each of its secrets (the
      // secrets' ACLs through the API, to keep the number of slow CLI runs down).
      const service = await server.createProjectUser('octavia-service');
      assert.equal((await openstack(env, 'acl', 'user', 'add', '--user', service.userId, ref)).code, 0);
      for (const href of [certificate['Secret href'], key['Secret href']]) {
        const put = await fetch(`${href}/acl`, {
          method: 'PUT',
          headers: { 'x-auth-token': alice.token, 'content-type': 'application/json' },
          body: JSON.stringify({ read: { users: [service.userId] } }),
        });
        assert.equal(put.status, 200);
      }
      const acl = await json(env, 'acl', 'get', ref);
      assert.equal(acl[0]['Operation Type'], 'read');
      assert.deepEqual(acl[0].Users, [service.userId]);

      const read = (options: { projectId: string; userId?: string }) =>
        server.store.read((db) => readCertificateBundle(db, ref, { ...options, kek: testServerKek(server) }));
      for (const bundle of [await read({ projectId: alice.projectId }), await read({ projectId: service.projectId, userId: service.userId })]) {
        // Stored from files as bytes, so byte for byte (only a text/plain payload is trimmed, as Barbican does).
        assert.equal(bundle.certificate, readFileSync(join(dir, 'cert.pem'), 'utf8'));
        assert.equal(bundle.privateKey, readFileSync(join(dir, 'key.pem'), 'utf8'));
        assert.deepEqual([bundle.intermediates, bundle.passphrase], [null, null]);
        // The bundle is what HAProxy loads: certificate then key in one PEM file.
        writeFileSync(join(dir, 'bundle.pem'), bundle.certificate + bundle.privateKey);
        const subject = execFileSync('openssl', ['x509', '-in', join(dir, 'bundle.pem'), '-noout', '-subject']).toString();
        assert.match(subject, /CN ?= ?lb\.example\.test/);
      }

      assert.equal((await openstack(env, 'secret', 'container', 'delete', ref)).code, 0);
      assert.equal((await fetch(ref, { headers: { 'x-auth-token': alice.token } })).status, 404);
    });
  });
}
