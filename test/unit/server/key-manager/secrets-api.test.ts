import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DIALECTS } from '../../../support/databases.js';
import type { ProjectUser, TestServer } from '../../../support/server.js';
import { jsonClient, type JsonClient, type JsonResponse } from '../../../support/http.js';
import { addMember, assertFault, startKeyManagerFixture, uuidOf, type Member } from './support.js';

for (const dialect of DIALECTS) {
  describe(`Key Manager secrets on ${dialect}`, () => {
    let server: TestServer;
    let base: string;
    let alice: ProjectUser;
    let bob: ProjectUser;
    let a: JsonClient;
    let b: JsonClient;

    /** The raw payload as `accept` gets it, with its status and content type. */
    async function payload(token: string, ref: string, accept?: string) {
      const response = await fetch(`${ref}/payload`, { headers: { 'x-auth-token': token, ...(accept ? { accept } : {}) } });
      return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
    }
    async function putPayload(token: string, ref: string, body: Buffer | string, headers: Record<string, string>) {
      const response = await fetch(ref, { method: 'PUT', headers: { 'x-auth-token': token, ...headers }, body });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers } as JsonResponse;
    }
    const total = async (client: JsonClient) => (await client.get('/v1/secrets?limit=1')).body.total as number;

    before(async () => {
      ({ server, base, alice, bob, a, b } = await startKeyManagerFixture(dialect));
    });
    after(() => server.close());

    test('version documents: 300 with the v1 entry barbicanclient discovers, and /v1', async () => {
      const versions = await jsonClient(base).get('/');
      assert.equal(versions.status, 300);
      const [v1] = versions.body.versions.values;
      assert.equal(v1.id, 'v1');
      assert.equal(v1.status, 'stable');
      assert.deepEqual(v1.links[0], { rel: 'self', href: `${base}/v1/` });
      assert.equal(v1['media-types'][0].type, 'application/vnd.openstack.key-manager-v1+json');
      assert.equal((await jsonClient(base).get('/v1')).body.version.id, 'v1');
      assertFault(await jsonClient(base).get('/v1/secrets'), 401);
    });

    test('a text secret: store, metadata, payload by Accept, list, delete', async () => {
      const expiration = new Date(Date.now() + 86_400_000).toISOString();
      const created = await a.post('/v1/secrets', {
        name: '  db password ', payload: 'correct horse battery staple\n', payload_content_type: 'text/plain', secret_type: 'passphrase', expiration,
      });
      assert.equal(created.status, 201);
      const ref: string = created.body.secret_ref;
      assert.match(ref, new RegExp(`^${base}/v1/secrets/[0-9a-f-]{36}$`));
      assert.equal(created.headers.get('location'), ref);

      const meta = (await a.get(`/v1/secrets/${uuidOf(ref)}`)).body;
      assert.equal(meta.secret_ref, ref);
      assert.equal(meta.name, 'db password', 'strings are trimmed as Barbican trims them');
      assert.equal(meta.secret_type, 'passphrase');
      assert.equal(meta.status, 'ACTIVE');
      assert.equal(meta.creator_id, alice.userId);
      assert.equal(meta.expiration, expiration);
      assert.deepEqual(meta.content_types, { default: 'text/plain' });
      assert.equal('payload' in meta, false);

      const text = await payload(alice.token, ref, 'text/plain');
      assert.equal(text.status, 200);
      assert.match(text.type!, /^text\/plain/);
      assert.equal(text.bytes.toString(), 'correct horse battery staple', 'the payload is trimmed too');
      assert.equal((await payload(alice.token, ref, 'application/octet-stream')).type, 'application/octet-stream');
      assert.match((await payload(alice.token, ref, '*/*')).type!, /^text\/plain/, '*/* answers the stored type');
      assert.equal((await payload(alice.token, ref, 'application/json')).status, 406);
      // Barbican's older payload read: GET the secret itself with a non-JSON Accept.
      const legacy = await fetch(ref, { headers: { 'x-auth-token': alice.token, accept: 'text/plain' } });
      assert.equal(await legacy.text(), 'correct horse battery staple');

      const listed = await a.get('/v1/secrets?name=db+password');
      assert.deepEqual(listed.body.secrets.map((s: { secret_ref: string }) => s.secret_ref), [ref]);
      assert.equal(listed.body.total, 1);

      assert.equal((await a.delete(`/v1/secrets/${uuidOf(ref)}`)).status, 204);
      assertFault(await a.get(`/v1/secrets/${uuidOf(ref)}`), 404, /another castle/);
      assertFault(await a.delete(`/v1/secrets/${uuidOf(ref)}`), 404);
    });

    test('binary payloads round-trip byte for byte; text/plain is refused for bytes that are not UTF-8', async () => {
      const bytes = Buffer.from([...Array(256).keys()].map((i) => 255 - i));
      const created = await a.post('/v1/secrets', {
        name: 'all bytes', payload: bytes.toString('base64'), payload_content_type: 'application/octet-stream', payload_content_encoding: 'base64',
        secret_type: 'symmetric', algorithm: 'aes', bit_length: 2048, mode: 'cbc',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const got = await payload(alice.token, created.body.secret_ref, 'application/octet-stream');
      assert.deepEqual(got.bytes, bytes);
      assert.equal((await payload(alice.token, created.body.secret_ref, 'text/plain')).status, 406);
      const meta = (await a.get(`/v1/secrets/${uuidOf(created.body.secret_ref)}`)).body;
      assert.deepEqual([meta.algorithm, meta.bit_length, meta.mode, meta.content_types.default], ['aes', 2048, 'cbc', 'application/octet-stream']);
    });

    test('metadata first, then the payload with PUT; a second PUT is a conflict', async () => {
      const created = await a.post('/v1/secrets', { name: 'later', secret_type: 'symmetric', algorithm: 'aes', bit_length: 256 });
      const ref: string = created.body.secret_ref;
      assert.equal('content_types' in (await a.get(`/v1/secrets/${uuidOf(ref)}`)).body, false);
      assertFault(await a.get(`/v1/secrets/${uuidOf(ref)}/payload`), 404);

      const key = randomBytes(32);
      assertFault(await putPayload(alice.token, ref, '{}', { 'content-type': 'application/json' }), 415);
      assertFault(await putPayload(alice.token, ref, Buffer.alloc(0), { 'content-type': 'application/octet-stream' }), 400);
      assertFault(await putPayload(bob.token, ref, key, { 'content-type': 'application/octet-stream' }), 403);
      assert.equal((await putPayload(alice.token, ref, key, { 'content-type': 'application/octet-stream' })).status, 204);
      assert.deepEqual((await payload(alice.token, ref, 'application/octet-stream')).bytes, key);
      assert.deepEqual((await a.get(`/v1/secrets/${uuidOf(ref)}`)).body.content_types, { default: 'application/octet-stream' });
      assertFault(await putPayload(alice.token, ref, randomBytes(32), { 'content-type': 'application/octet-stream' }), 409, /already has data/);
      assert.deepEqual((await payload(alice.token, ref, 'application/octet-stream')).bytes, key, 'the conflict changed nothing');

      const encoded = (await a.post('/v1/secrets', { name: 'b64 later' })).body.secret_ref;
      const put = await putPayload(alice.token, encoded, key.toString('base64'), { 'content-type': 'application/octet-stream', 'content-encoding': 'base64' });
      assert.equal(put.status, 204);
      assert.deepEqual((await payload(alice.token, encoded, 'application/octet-stream')).bytes, key);
      const text = (await a.post('/v1/secrets', { name: 'text later' })).body.secret_ref;
      assert.equal((await putPayload(alice.token, text, 'héllo', { 'content-type': 'text/plain' })).status, 204);
      assert.equal((await payload(alice.token, text, 'text/plain')).bytes.toString(), 'héllo');
    });

    test('bad input gets the fault body and changes nothing', async () => {
      const before = await total(a);
      const cases: Array<[unknown, number, RegExp]> = [
        [{ payload: 'x' }, 400, /'payload_content_type' must also be supplied/],
        [{ payload: '', payload_content_type: 'text/plain' }, 400, /must be non empty/],
        [{ payload: '   ', payload_content_type: 'text/plain' }, 400, /must be non empty/],
        [{ payload: 'x', payload_content_type: 'image/png' }, 400, /payload_content_type is not one of/],
        [{ payload: 'x', payload_content_type: 'text/plain', payload_content_encoding: 'base64' }, 400, /payload_content_encoding/],
        [{ payload: 'AAAA', payload_content_type: 'application/octet-stream' }, 400, /payload_content_encoding is not one of/],
        [{ payload: 'not base64!', payload_content_type: 'application/octet-stream', payload_content_encoding: 'base64' }, 400, /Invalid payload/],
        [{ payload_content_type: 'text/plain' }, 400, /payload must be provided/],
        [{ secret_type: 'nuclear' }, 400, /'nuclear' is not one of/],
        [{ bit_length: 0 }, 400, /bit_length/],
        [{ bit_length: 'big' }, 400, /not of type 'integer'/],
        [{ name: 7 }, 400, /not of type 'string'/],
        [{ name: 'x'.repeat(256) }, 400, /too long/],
        [{ expiration: 'tomorrow' }, 400, /Invalid date for 'expiration'/],
        [{ expiration: '2001-01-01T00:00:00Z' }, 400, /before current time/],
        [{ payload: 'x'.repeat(20001), payload_content_type: 'text/plain' }, 413, /too large/],
        [[1, 2], 400, /not of type 'object'/],
      ];
      for (const [body, status, message] of cases) {
        const r = await a.post('/v1/secrets', body);
        assertFault(r, status, message);
        assert.match(r.body.description, /./, JSON.stringify(body));
      }
      assertFault(await a.post('/v1/secrets', '{"name": ', { 'content-type': 'application/json' }), 400);
      assertFault(await a.post('/v1/secrets', 'hello', { 'content-type': 'text/plain' }), 415);
      assert.equal(await total(a), before);
    });

    test("list paging (limit, offset, total, next/previous) and filters over the caller's project only", async () => {
      const page = jsonClient(base, (await server.createProjectUser('pager')).token);
      for (let i = 0; i < 5; i++) {
        const r = await page.post('/v1/secrets', { name: `s${i}`, secret_type: i % 2 ? 'opaque' : 'private', algorithm: i === 3 ? 'rsa' : 'aes', bit_length: i === 4 ? 4096 : 256, mode: 'cbc' });
        assert.equal(r.status, 201);
      }
      const first = (await page.get('/v1/secrets?limit=2')).body;
      assert.deepEqual(first.secrets.map((s: { name: string }) => s.name), ['s0', 's1']);
      assert.equal(first.total, 5);
      assert.equal(first.next, `${base}/v1/secrets?limit=2&offset=2`);
      assert.equal('previous' in first, false);
      const middle = (await page.get('/v1/secrets?limit=2&offset=2')).body;
      assert.deepEqual(middle.secrets.map((s: { name: string }) => s.name), ['s2', 's3']);
      assert.equal(middle.previous, `${base}/v1/secrets?limit=2&offset=0`);
      assert.equal(middle.next, `${base}/v1/secrets?limit=2&offset=4`);
      const last = (await page.get('/v1/secrets?limit=2&offset=4')).body;
      assert.deepEqual([last.secrets.length, 'next' in last, last.previous], [1, false, `${base}/v1/secrets?limit=2&offset=2`]);
      assert.deepEqual((await page.get('/v1/secrets?offset=9')).body, { secrets: [], total: 5 });
      assert.equal((await page.get('/v1/secrets?limit=0')).body.secrets.length, 1, 'limits are clamped to 1..100');
      assert.equal((await page.get('/v1/secrets?limit=x&offset=-3')).body.secrets.length, 5, 'bad paging values fall back');

      const names = async (query: string) => (await page.get(`/v1/secrets?${query}`)).body.secrets.map((s: { name: string }) => s.name);
      assert.deepEqual(await names('name=s3'), ['s3']);
      assert.deepEqual(await names('secret_type=private'), ['s0', 's2', 's4']);
      assert.deepEqual(await names('alg=rsa'), ['s3']);
      assert.deepEqual(await names('bits=4096'), ['s4']);
      assert.deepEqual(await names('bits=nonsense&mode=cbc'), ['s0', 's1', 's2', 's3', 's4']);
      assert.deepEqual(await names('mode=ecb'), []);
      assert.equal((await b.get('/v1/secrets?name=s3')).body.total, 0, "another project's secrets are not listed");
    });

    test("another project's secret: 403 as Barbican answers, for every operation, and nothing changes", async () => {
      const ref = (await a.post('/v1/secrets', { name: 'mine', payload: 'p', payload_content_type: 'text/plain' })).body.secret_ref;
      const id = uuidOf(ref);
      assertFault(await b.get(`/v1/secrets/${id}`), 403, /^Secret retrieval attempt not allowed - please review your user\/project privileges$/);
      assert.equal((await payload(bob.token, ref, 'text/plain')).status, 403);
      assertFault(await b.delete(`/v1/secrets/${id}`), 403, /Secret deletion attempt not allowed/);
      assertFault(await b.get(`/v1/secrets/${id}/acl`), 403);
      assertFault(await b.put(`/v1/secrets/${id}/acl`, { read: { users: [bob.userId] } }), 403);
      assert.equal((await a.get(`/v1/secrets/${id}/acl`)).body.read['project-access'], true);
      assertFault(await b.get('/v1/secrets/00000000-0000-4000-8000-000000000000'), 404, /another castle/);
      assert.equal((await payload(alice.token, ref, 'text/plain')).bytes.toString(), 'p');
    });

    describe('roles', () => {
      let reader: Member;
      let observer: Member;
      let creator: Member;
      let audit: Member;
      let colleague: Member;
      before(async () => {
        reader = await addMember(server, 'alice-reader', 'alice', ['reader']);
        observer = await addMember(server, 'alice-observer', 'alice', ['observer']);
        creator = await addMember(server, 'alice-creator', 'alice', ['creator']);
        audit = await addMember(server, 'alice-audit', 'alice', ['audit']);
        colleague = await addMember(server, 'alice-colleague', 'alice', ['member']);
      });

      test("Barbican's legacy roles and Keystone's member/reader, on one project's secrets", async () => {
        const ref = (await a.post('/v1/secrets', { name: 'shared', payload: 'p', payload_content_type: 'text/plain' })).body.secret_ref;
        const id = uuidOf(ref);
        const as = (m: Member) => jsonClient(base, m.token);

        assertFault(await as(reader).get('/v1/secrets'), 403, /Secret\(s\) retrieval attempt not allowed/);
        assertFault(await as(reader).post('/v1/secrets', { name: 'x' }), 403, /Secret creation attempt not allowed/);
        assertFault(await as(reader).get(`/v1/secrets/${id}`), 403);

        assert.equal((await as(observer).get('/v1/secrets')).status, 200);
        assert.equal((await as(observer).get(`/v1/secrets/${id}`)).status, 200);
        assert.equal((await payload(observer.token, ref, 'text/plain')).status, 200);
        assertFault(await as(observer).post('/v1/secrets', { name: 'x' }), 403);
        assertFault(await as(observer).delete(`/v1/secrets/${id}`), 403);

        assert.equal((await as(audit).get(`/v1/secrets/${id}`)).status, 200, 'audit reads metadata');
        assert.equal((await payload(audit.token, ref, 'text/plain')).status, 403, 'but never a payload');
        assertFault(await as(audit).get('/v1/secrets'), 403);

        const made = await as(creator).post('/v1/secrets', { name: 'by creator' });
        assert.equal(made.status, 201);
        assert.equal((await as(colleague).get(`/v1/secrets/${uuidOf(made.body.secret_ref)}`)).status, 200);
        assert.equal((await as(colleague).delete(`/v1/secrets/${uuidOf(made.body.secret_ref)}`)).status, 204, "a member deletes a project colleague's non-private secret");
      });

      test('ACLs: a private secret, a user of another project let in to read, and taken out again', async () => {
        const ref = (await a.post('/v1/secrets', { name: 'for bob', payload: 'cert bytes', payload_content_type: 'text/plain', secret_type: 'certificate' })).body.secret_ref;
        const id = uuidOf(ref);
        assert.deepEqual((await a.get(`/v1/secrets/${id}/acl`)).body, { read: { 'project-access': true } });

        assertFault(await a.put(`/v1/secrets/${id}/acl`, { write: { users: [] } }), 400, /Additional properties/);
        assertFault(await a.put(`/v1/secrets/${id}/acl`, { read: { users: 'bob' } }), 400);
        assertFault(await a.put(`/v1/secrets/${id}/acl`, { read: { 'project-access': 'no' } }), 400);
        assertFault(await jsonClient(base, colleague.token).put(`/v1/secrets/${id}/acl`, { read: { users: [] } }), 403, /SecretACL\(s\) Update attempt not allowed/);
        assert.deepEqual((await a.get(`/v1/secrets/${id}/acl`)).body, { read: { 'project-access': true } }, 'refused ACL changes changed nothing');

        const put = await a.put(`/v1/secrets/${id}/acl`, { read: { users: [bob.userId], 'project-access': false } });
        assert.equal(put.status, 200);
        assert.deepEqual(put.body, { acl_ref: `${ref}/acl` });
        const acl = (await a.get(`/v1/secrets/${id}/acl`)).body.read;
        assert.deepEqual([acl['project-access'], acl.users], [false, [bob.userId]]);
        assert.ok(acl.created && acl.updated);

        assert.equal((await b.get(`/v1/secrets/${id}`)).status, 200, 'the ACL lets bob read across projects');
        assert.equal((await payload(bob.token, ref, 'text/plain')).bytes.toString(), 'cert bytes');
        assertFault(await b.delete(`/v1/secrets/${id}`), 403, /deletion/);
        assertFault(await jsonClient(base, colleague.token).get(`/v1/secrets/${id}`), 403, /retrieval/);
        assert.equal((await a.get(`/v1/secrets/${id}`)).status, 200, 'the creator still reads a private secret');

        const patch = await fetch(`${ref}/acl`, { method: 'PATCH', headers: { 'x-auth-token': alice.token, 'content-type': 'application/json' }, body: JSON.stringify({ read: { users: [] } }) });
        assert.equal(patch.status, 200);
        const afterPatch = (await a.get(`/v1/secrets/${id}/acl`)).body.read;
        assert.deepEqual([afterPatch['project-access'], afterPatch.users], [false, []], 'PATCH keeps what it does not name');
        assertFault(await b.get(`/v1/secrets/${id}`), 403);

        assert.equal((await a.delete(`/v1/secrets/${id}/acl`)).status, 200);
        assert.deepEqual((await a.get(`/v1/secrets/${id}/acl`)).body, { read: { 'project-access': true } });
        assert.equal((await jsonClient(base, colleague.token).get(`/v1/secrets/${id}`)).status, 200);
      });
    });
  });
}
