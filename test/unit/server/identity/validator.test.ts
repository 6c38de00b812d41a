import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../../src/store/database.js';
import { Store } from '../../../../src/store/store.js';
import { bootstrapAdmin } from '../../../../src/server/identity/bootstrap.js';
import { authenticate } from '../../../../src/server/identity/authentication.js';
import { revokeToken } from '../../../../src/server/identity/repository.js';
import { hashTokenId } from '../../../../src/server/identity/tokens.js';
import { createTokenValidator } from '../../../../src/server/identity/validator.js';
import { DIALECTS, createTestDatabase } from '../../../support/databases.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of DIALECTS) {
  describe(`token validator on ${dialect}`, () => {
    test('caches answers for its lifetime, shares concurrent reads, and forgets on request', async () => {
      const tdb = await createTestDatabase(dialect);
      let reads = 0;
      const store = await Store.open(await openDatabase(tdb.url), { observe: (op) => void (op === 'read' && reads++) });
      try {
        await bootstrapAdmin(store, { password: 'pw', resetPassword: false });
        const issue = async () =>
          (
            await authenticate(
              store,
              {
                methods: ['password'],
                password: { user: { name: 'admin', domain: { id: 'default' } }, password: 'pw' },
                scope: { project: { name: 'admin', domain: { id: 'default' } } },
              },
              3600,
            )
          ).tokenId;
        const token = await issue();
        // Long enough that a loaded machine still validates within it, short enough to wait out.
        const validator = createTokenValidator(store, { cacheMilliseconds: 1500 });

        reads = 0;
        const answers = await Promise.all(Array.from({ length: 20 }, () => validator.validate(token)));
        assert.equal(reads, 1, 'twenty concurrent validations, one database read');
        assert.ok(answers.every((a) => a?.userName === 'admin' && a.isAdmin));

        // Revoked behind the validator's back (as by another server): the cached answer holds until it ages out.
        await store.write((tx) => revokeToken(tx.db, hashTokenId(token), tx.now));
        assert.notEqual(await validator.validate(token), undefined);
        await sleep(1600);
        assert.equal(await validator.validate(token), undefined);

        // Revoked by this server: forgotten at once.
        const second = await issue();
        assert.notEqual(await validator.validate(second), undefined);
        await store.write((tx) => revokeToken(tx.db, hashTokenId(second), tx.now));
        validator.forget(second);
        assert.equal(await validator.validate(second), undefined);

        // A forget that overtakes a read in flight keeps that read's answer out of the cache.
        const third = await issue();
        const inFlight = validator.validate(third);
        await store.write((tx) => revokeToken(tx.db, hashTokenId(third), tx.now));
        validator.forget(third);
        await inFlight;
        assert.equal(await validator.validate(third), undefined);

        assert.equal(await validator.validate('not-a-token'), undefined);
      } finally {
        await store.close();
        await tdb.drop();
      }
    });
  });
}

test('expiry applies to cached answers', async () => {
  const tdb = await createTestDatabase('sqlite');
  const store = await Store.open(await openDatabase(tdb.url));
  try {
    await bootstrapAdmin(store, { password: 'pw', resetPassword: false });
    const { tokenId } = await authenticate(
      store,
      { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' } }, password: 'pw' }, scope: undefined },
      60,
    );
    let now = new Date();
    const validator = createTokenValidator(store, { cacheMilliseconds: 3_600_000, clock: () => now });
    assert.notEqual(await validator.validate(tokenId), undefined);
    now = new Date(Date.now() + 61_000);
    assert.equal(await validator.validate(tokenId), undefined);
  } finally {
    await store.close();
    await tdb.drop();
  }
});
