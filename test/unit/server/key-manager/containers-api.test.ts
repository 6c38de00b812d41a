import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIALECTS } from '../../../support/databases.js';
import type { ProjectUser, TestServer } from '../../../support/server.js';
import type { JsonClient } from '../../../support/http.js';
import { CertificateBundleError, keyEncryptionKey, readCertificateBundle } from '../../../../src/server/key-manager/index.js';
import { assertFault, startKeyManagerFixture, testServerKek, uuidOf } from './support.js';

/** A real self-signed certificate and its key (openssl req -x509), and an encrypted copy of the key. */
function makeCertificate(): { certificate: string; privateKey: string; encryptedKey: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cn-km-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=www.example.test',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', join(dir, 'key.pem'), '-aes256', '-passout', 'pass:sesame', '-out', join(dir, 'enc.pem')], { stdio: 'ignore' });
    return { certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'), privateKey: readFileSync(join(dir, 'key.pem'), 'utf8'), encryptedKey: readFileSync(join(dir, 'enc.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const dialect of DIALECTS) {
  describe(`Key Manager containers and certificate bundles on ${dialect}`, () => {
    let server: TestServer;
    let base: string;
    let alice: ProjectUser;
    let bob: ProjectUser;
    let a: JsonClient;
    let b: JsonClient;
    const pem = makeCertificate();

    const store = (client: JsonClient, name: string, text: string, secretType = 'opaque') =>
      client.post('/v1/secrets', { name, payload: text, payload_content_type: 'text/plain', secret_type: secretType }).then((r) => {
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body.secret_ref as string;
      });
    const containerCount = async (client: JsonClient) => (await client.get('/v1/containers')).body.total as number;

    before(async () => {
      ({ server, base, alice, bob, a, b } = await startKeyManagerFixture(dialect));
    });
    after(() => server.close());

    test('a certificate container: create, show, list, delete; the secrets outlive it', async () => {
      const certificate = await store(a, 'cert', pem.certificate, 'certificate');
      const privateKey = await store(a, 'key', pem.encryptedKey, 'private');
      const passphrase = await store(a, 'pass', 'sesame', 'passphrase');
      const created = await a.post('/v1/containers', {
        name: 'www', type: 'certificate',
        secret_refs: [{ name: 'certificate', secret_ref: certificate }, { name: 'private_key', secret_ref: privateKey }, { name: 'private_key_passphrase', secret_ref: passphrase }],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const ref: string = created.body.container_ref;
      assert.match(ref, new RegExp(`^${base}/v1/containers/[0-9a-f-]{36}$`));
      assert.equal(created.headers.get('location'), ref);

      const shown = (await a.get(`/v1/containers/${uuidOf(ref)}`)).body;
      assert.deepEqual(
        { ...shown, created: undefined, updated: undefined },
        {
          container_ref: ref, name: 'www', type: 'certificate', status: 'ACTIVE', consumers: [], creator_id: alice.userId, created: undefined, updated: undefined,
          secret_refs: [{ name: 'certificate', secret_ref: certificate }, { name: 'private_key', secret_ref: privateKey }, { name: 'private_key_passphrase', secret_ref: passphrase }],
        },
      );
      const listed = (await a.get('/v1/containers?name=www')).body;
      assert.deepEqual([listed.total, listed.containers[0].container_ref], [1, ref]);
      assert.equal((await b.get('/v1/containers')).body.total, 0);
      assertFault(await b.get(`/v1/containers/${uuidOf(ref)}`), 403, /^Container retrieval attempt not allowed/);
      assertFault(await b.delete(`/v1/containers/${uuidOf(ref)}`), 403);

      assert.equal((await a.delete(`/v1/containers/${uuidOf(ref)}`)).status, 204);
      assertFault(await a.get(`/v1/containers/${uuidOf(ref)}`), 404, /your container is in another castle/);
      assert.equal((await a.get(`/v1/secrets/${uuidOf(certificate)}`)).status, 200);
    });

    test('generic and rsa containers; bad containers are refused and change nothing', async () => {
      const one = await store(a, 'one', 'x');
      const two = await store(a, 'two', 'y');
      const generic = await a.post('/v1/containers', { type: 'generic', secret_refs: [{ name: 'a', secret_ref: one }, { secret_ref: two }] });
      assert.equal(generic.status, 201);
      assert.deepEqual((await a.get(`/v1/containers/${uuidOf(generic.body.container_ref)}`)).body.secret_refs, [{ name: 'a', secret_ref: one }, { name: null, secret_ref: two }]);
      assert.equal((await a.post('/v1/containers', { type: 'rsa', secret_refs: [{ name: 'public_key', secret_ref: one }, { name: 'private_key', secret_ref: two }] })).status, 201);
      assert.equal((await a.post('/v1/containers', { type: 'generic' })).status, 201, 'an empty container');
      assert.deepEqual((await a.get('/v1/containers?type=rsa')).body.containers.map((c: { type: string }) => c.type), ['rsa']);

      const before = await containerCount(a);
      const bobs = await store(b, 'bobs', 'z');
      const cases: Array<[unknown, number, RegExp]> = [
        [{ name: 'x' }, 400, /'type' is a required property/],
        [{ type: 'bag' }, 400, /is not one of/],
        [{ type: 'certificate', secret_refs: [{ name: 'private_key', secret_ref: one }] }, 400, /minimum required reference name is 'certificate'/],
        [{ type: 'certificate', secret_refs: [{ name: 'certificate', secret_ref: one }, { name: 'chain', secret_ref: two }] }, 400, /reference names are allowed for Certificate type/],
        [{ type: 'rsa', secret_refs: [{ name: 'public_key', secret_ref: one }] }, 400, /'public_key' and'private_key' for RSA type/],
        [{ type: 'generic', secret_refs: [{ name: 'a', secret_ref: one }, { name: 'a', secret_ref: two }] }, 400, /Duplicate reference names/],
        [{ type: 'generic', secret_refs: [{ name: 'a', secret_ref: one }, { name: 'b', secret_ref: one }] }, 400, /Duplicate secret ids/],
        [{ type: 'generic', secret_refs: [{ name: 'a' }] }, 400, /'secret_ref' is a required property/],
        [{ type: 'generic', secret_refs: 'all' }, 400, /not of type 'array'/],
        [{ type: 'generic', secret_refs: [{ name: 'a', secret_ref: `http://elsewhere.test/key-manager/v1/secrets/${uuidOf(one)}` }] }, 400, /does not match the configured hostname/],
        [{ type: 'certificate', secret_refs: [{ name: 'certificate', secret_ref: bobs }] }, 404, /^Secret provided for 'certificate' doesn't exist\.$/],
        [{ type: 'generic', secret_refs: [{ name: 'a', secret_ref: `${base}/v1/secrets/00000000-0000-4000-8000-000000000000` }] }, 404, /doesn't exist/],
      ];
      for (const [body, status, message] of cases) assertFault(await a.post('/v1/containers', body), status, message);
      assert.equal(await containerCount(a), before);
    });

    test('container ACLs, as on secrets', async () => {
      const ref = (await a.post('/v1/containers', { type: 'generic', name: 'acl' })).body.container_ref;
      const id = uuidOf(ref);
      assert.deepEqual((await a.get(`/v1/containers/${id}/acl`)).body, { read: { 'project-access': true } });
      assert.deepEqual((await a.put(`/v1/containers/${id}/acl`, { read: { users: [bob.userId] } })).body, { acl_ref: `${ref}/acl` });
      assert.equal((await b.get(`/v1/containers/${id}`)).status, 200);
      assertFault(await b.put(`/v1/containers/${id}/acl`, { read: { users: [] } }), 403, /ContainerACL\(s\) Update/);
      assert.equal((await a.put(`/v1/containers/${id}/acl`, {})).status, 200, 'PUT without read removes the ACL');
      assertFault(await b.get(`/v1/containers/${id}`), 403);
    });

    test('readCertificateBundle: the owner project, an ACL-granted service user, and every refusal', async () => {
      const kek = testServerKek(server);
      const read = (ref: string, options: { projectId: string; userId?: string }) => server.store.read((db) => readCertificateBundle(db, ref, { ...options, kek }));
      const rejects = async (promise: Promise<unknown>, reason: string, message: RegExp) => {
        await assert.rejects(promise, (err: unknown) => err instanceof CertificateBundleError && err.reason === reason && message.test(err.message));
      };

      const certificate = await store(a, 'cert', pem.certificate, 'certificate');
      const privateKey = await store(a, 'key', pem.encryptedKey, 'private');
      const passphrase = await store(a, 'pass', 'sesame', 'passphrase');
      const intermediates = await store(a, 'chain', pem.certificate, 'certificate');
      const full = (await a.post('/v1/containers', {
        type: 'certificate',
        secret_refs: [
          { name: 'certificate', secret_ref: certificate }, { name: 'private_key', secret_ref: privateKey },
          { name: 'private_key_passphrase', secret_ref: passphrase }, { name: 'intermediates', secret_ref: intermediates },
        ],
      })).body.container_ref;

      const bundle = await read(full, { projectId: alice.projectId });
      assert.deepEqual(bundle, { certificate: pem.certificate.trim(), privateKey: pem.encryptedKey.trim(), intermediates: pem.certificate.trim(), passphrase: 'sesame' });
      // The key really opens with the passphrase, and matches the certificate.
      const keyModulus = execFileSync('openssl', ['rsa', '-noout', '-modulus', '-passin', 'pass:sesame'], { input: bundle.privateKey + '\n' }).toString();
      const certModulus = execFileSync('openssl', ['x509', '-noout', '-modulus'], { input: bundle.certificate + '\n' }).toString();
      assert.equal(keyModulus, certModulus);
      assert.deepEqual(await read(uuidOf(full), { projectId: alice.projectId }), bundle, 'a bare id works too');

      const plain = (await a.post('/v1/containers', {
        type: 'certificate', secret_refs: [{ name: 'certificate', secret_ref: certificate }, { name: 'private_key', secret_ref: await store(a, 'k2', pem.privateKey, 'private') }],
      })).body.container_ref;
      assert.deepEqual({ ...(await read(plain, { projectId: alice.projectId })), certificate: '', privateKey: '' }, { certificate: '', privateKey: '', intermediates: null, passphrase: null });

      await rejects(read(full, { projectId: bob.projectId }), 'forbidden', /container .* may not be read by project/);
      // A service user let in by the container's ACL still needs each secret's ACL, as in Barbican.
      await a.put(`/v1/containers/${uuidOf(full)}/acl`, { read: { users: [bob.userId] } });
      await rejects(read(full, { projectId: bob.projectId, userId: bob.userId }), 'forbidden', /the certificate secret .* may not be read/);
      for (const ref of [certificate, privateKey, passphrase, intermediates]) await a.put(`/v1/secrets/${uuidOf(ref)}/acl`, { read: { users: [bob.userId] } });
      assert.deepEqual(await read(full, { projectId: bob.projectId, userId: bob.userId }), bundle);

      const generic = (await a.post('/v1/containers', { type: 'generic', secret_refs: [{ name: 'certificate', secret_ref: certificate }] })).body.container_ref;
      await rejects(read(generic, { projectId: alice.projectId }), 'not_certificate', /generic container, not a certificate container/);
      const noKey = (await a.post('/v1/containers', { type: 'certificate', secret_refs: [{ name: 'certificate', secret_ref: certificate }] })).body.container_ref;
      await rejects(read(noKey, { projectId: alice.projectId }), 'incomplete', /names no private_key/);
      const notPem = (await a.post('/v1/containers', {
        type: 'certificate', secret_refs: [{ name: 'certificate', secret_ref: await store(a, 'junk', 'not a certificate') }, { name: 'private_key', secret_ref: privateKey }],
      })).body.container_ref;
      await rejects(read(notPem, { projectId: alice.projectId }), 'not_pem', /the certificate of container .* is not PEM text/);
      await rejects(read(`${base}/v1/secrets/${uuidOf(certificate)}`, { projectId: alice.projectId }), 'not_pkcs12', /is not a PKCS#12 bundle/);
      await rejects(read(`${base}/v1/orders/${uuidOf(certificate)}`, { projectId: alice.projectId }), 'invalid_ref', /not a key-manager container or secret reference/);
      await rejects(read('../etc/passwd', { projectId: alice.projectId }), 'invalid_ref', /not a key-manager container or secret reference/);
      await rejects(read(`${base}/v1/containers/00000000-0000-4000-8000-000000000000`, { projectId: alice.projectId }), 'not_found', /does not exist/);

      await assert.rejects(
        server.store.read((db) => readCertificateBundle(db, plain, { projectId: alice.projectId, kek: keyEncryptionKey(Buffer.alloc(32, 7)) })),
        /was sealed with key-encryption key [0-9a-f]{16}, but this server holds [0-9a-f]{16}/,
      );
      assert.equal((await a.delete(`/v1/secrets/${uuidOf(certificate)}`)).status, 204);
      await rejects(read(plain, { projectId: alice.projectId }), 'incomplete', /the certificate secret .* no longer exists/);
    });

    test('readCertificateBundle of a PKCS#12 secret, as Octavia takes one', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cn-km-p12-'));
      try {
        for (const [name, text] of [['cert.pem', pem.certificate], ['key.pem', pem.privateKey]]) writeFileSync(join(dir, name), text);
        execFileSync('openssl', ['pkcs12', '-export', '-inkey', join(dir, 'key.pem'), '-in', join(dir, 'cert.pem'), '-certfile', join(dir, 'cert.pem'),
          '-passout', 'pass:', '-out', join(dir, 'bundle.p12')]);
        const p12 = readFileSync(join(dir, 'bundle.p12'));
        const stored = await a.post('/v1/secrets', { name: 'p12', payload: p12.toString('base64'), payload_content_type: 'application/octet-stream', payload_content_encoding: 'base64' });
        const bundle = await server.store.read((db) => readCertificateBundle(db, stored.body.secret_ref, { projectId: alice.projectId, kek: testServerKek(server) }));
        assert.equal(bundle.certificate, pem.certificate);
        assert.equal(bundle.intermediates, pem.certificate, 'the other certificates of the bundle');
        assert.equal(bundle.passphrase, null);
        const modulus = (args: string[], input: string) => execFileSync('openssl', args, { input }).toString();
        assert.equal(modulus(['rsa', '-noout', '-modulus'], bundle.privateKey), modulus(['x509', '-noout', '-modulus'], pem.certificate));
        await assert.rejects(
          server.store.read((db) => readCertificateBundle(db, stored.body.secret_ref, { projectId: bob.projectId, kek: testServerKek(server) })),
          (err: unknown) => err instanceof CertificateBundleError && err.reason === 'forbidden',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('payloads are sealed at rest: the database holds neither the text nor its base64, and a moved ciphertext does not open', async () => {
      const marker = `marker-${Date.now()}-plaintext`;
      const first = uuidOf(await store(a, 'sealed', marker));
      const second = uuidOf(await store(a, 'other', 'something else'));
      const rows = await server.store.read((db) => db.selectFrom('key_manager_secrets').selectAll().where('id', 'in', [first, second]).execute());
      const dump = JSON.stringify(rows);
      assert.ok(!dump.includes(marker) && !dump.includes(Buffer.from(marker).toString('base64').slice(0, 20)), 'no plaintext at rest');
      const sealed = rows.find((r) => r.id === first)!.sealed_payload as string;
      await server.store.write((tx) => tx.db.updateTable('key_manager_secrets').set({ sealed_payload: sealed }).where('id', '=', second).execute());
      const moved = await fetch(`${base}/v1/secrets/${second}/payload`, { headers: { 'x-auth-token': alice.token, accept: 'text/plain' } });
      assert.equal(moved.status, 500);
      assert.ok(!(await moved.text()).includes(marker));
    });
  });
}
