import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { keyEncryptionKey, type KeyEncryptionKey } from '../../../../src/server/key-manager/index.js';
import { DEFAULT_DOMAIN_ID } from '../../../../src/server/identity/model.js';
import { newIdentityId } from '../../../../src/server/identity/ids.js';
import { hashPassword } from '../../../../src/server/identity/passwords.js';
import * as repo from '../../../../src/server/identity/repository.js';
import type { DialectName } from '../../../../src/store/database.js';
import { jsonClient, type JsonClient, type JsonResponse } from '../../../support/http.js';
import { startTestServer, type ProjectUser, type TestServer } from '../../../support/server.js';

/** The key the test server seals payloads with (test/support/server.ts derives it from the database URL). */
export function testServerKek(server: TestServer): KeyEncryptionKey {
  return keyEncryptionKey(createHash('sha256').update(server.databaseUrl).digest());
}

export interface Member {
  userId: string;
  token: string;
}

/**
 * A new user holding `roles` on an existing project (made if missing, as Barbican's legacy roles are not among
 * Keystone's built-in ones), with a token scoped to that project.
 */
export async function addMember(server: TestServer, name: string, projectName: string, roles: string[]): Promise<Member> {
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const passwordHash = await hashPassword(password);
  const userId = await server.store.write(async (tx) => {
    const project = await repo.findProjectByName(tx.db, DEFAULT_DOMAIN_ID, projectName);
    if (!project) throw new Error(`no project '${projectName}'`);
    const id = newIdentityId();
    await repo.insertUser(tx.db, { id, domainId: DEFAULT_DOMAIN_ID, name, enabled: true, passwordHash, defaultProjectId: project.id, extra: {} }, tx.now);
    for (const roleName of roles) {
      let role = await repo.findRoleByName(tx.db, roleName);
      if (!role) {
        role = { id: newIdentityId(), name: roleName, description: '' };
        await repo.insertRole(tx.db, role);
      }
      await repo.grantRole(tx.db, id, project.id, role.id);
    }
    return id;
  });
  return { userId, token: await server.issueToken(name, password, projectName) };
}

/** The id at the end of a secret or container href. */
export const uuidOf = (ref: string) => ref.split('/').pop()!;

/** Barbican's fault body, `{"code", "title", "description"}`, with the status and (optionally) the description expected. */
export function assertFault(r: JsonResponse, status: number, description?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['code', 'description', 'title']);
  assert.equal(r.body.code, status);
  if (description) assert.match(r.body.description, description);
}

export interface KeyManagerFixture {
  server: TestServer;
  /** The key manager's root, e.g. http://127.0.0.1:PORT/key-manager. */
  base: string;
  alice: ProjectUser;
  bob: ProjectUser;
  /** JSON clients on `base` with alice's and bob's tokens. */
  a: JsonClient;
  b: JsonClient;
}

/** A test server and two projects, alice and bob, each with a member user. */
export async function startKeyManagerFixture(dialect: DialectName): Promise<KeyManagerFixture> {
  const server = await startTestServer({ dialect });
  const base = `${server.url}/key-manager`;
  const alice = await server.createProjectUser('alice');
  const bob = await server.createProjectUser('bob');
  return { server, base, alice, bob, a: jsonClient(base, alice.token), b: jsonClient(base, bob.token) };
}
