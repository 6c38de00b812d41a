import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../../src/store/database.js';
import { Store } from '../../../../src/store/store.js';
import { bootstrapAdmin, BUILTIN_ROLES } from '../../../../src/server/identity/bootstrap.js';
import { verifyPassword } from '../../../../src/server/identity/passwords.js';
import * as repo from '../../../../src/server/identity/repository.js';
import { DIALECTS, createTestDatabase } from '../../../support/databases.js';

async function counts(store: Store): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const table of ['identity_domains', 'identity_projects', 'identity_users', 'identity_roles', 'identity_role_assignments']) {
    const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    result[table] = Number(row.n);
  }
  return result;
}

const EXPECTED = {
  identity_domains: 1,
  identity_projects: 1,
  identity_users: 1,
  identity_roles: BUILTIN_ROLES.length,
  identity_role_assignments: 1,
};

for (const dialect of DIALECTS) {
  describe(`bootstrap on ${dialect}`, () => {
    test('creates the Default domain, admin project and user, and the built-in roles, once', async () => {
      const tdb = await createTestDatabase(dialect);
      const store = await Store.open(await openDatabase(tdb.url));
      try {
        const first = await bootstrapAdmin(store, { password: 'one', resetPassword: false });
        assert.equal(first.createdAdmin, true);
        assert.deepEqual(await counts(store), EXPECTED);
        const domain = await repo.findDomainByName(store.db, 'Default');
        assert.equal(domain?.id, 'default');
        const roles = await repo.rolesOnProject(store.db, first.adminUserId, first.adminProjectId);
        assert.deepEqual(roles.map((r) => r.name), ['admin']);

        const again = await bootstrapAdmin(store, { password: 'two', resetPassword: false });
        assert.equal(again.createdAdmin, false);
        assert.deepEqual([again.adminUserId, again.adminProjectId], [first.adminUserId, first.adminProjectId]);
        assert.deepEqual(await counts(store), EXPECTED);
        const admin = await repo.getUser(store.db, first.adminUserId);
        assert.equal(await verifyPassword('one', admin!.passwordHash), true, 'an existing password stays unless reset');

        await bootstrapAdmin(store, { password: 'three', resetPassword: true });
        const reset = await repo.getUser(store.db, first.adminUserId);
        assert.equal(await verifyPassword('three', reset!.passwordHash), true);
      } finally {
        await store.close();
        await tdb.drop();
      }
    });
  });
}

test('servers bootstrapping one PostgreSQL at the same time create everything exactly once', async () => {
  const tdb = await createTestDatabase('postgres');
  const stores = await Promise.all(Array.from({ length: 4 }, async () => Store.open(await openDatabase(tdb.url))));
  try {
    const results = await Promise.all(stores.map((s) => bootstrapAdmin(s, { password: 'pw', resetPassword: false })));
    assert.equal(results.filter((r) => r.createdAdmin).length, 1);
    assert.equal(new Set(results.map((r) => r.adminUserId)).size, 1);
    assert.deepEqual(await counts(stores[0]), EXPECTED);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await tdb.drop();
  }
});
