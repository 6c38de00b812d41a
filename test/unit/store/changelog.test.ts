import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../src/store/database.js';
import { Store, RetryableWriteConflict } from '../../../src/store/store.js';
import { compactChanges, compactedThrough, currentRevision, readChanges } from '../../../src/store/changelog.js';
import { DIALECTS, createTestDatabase } from '../../support/databases.js';

for (const dialect of DIALECTS) {
  describe(`change log on ${dialect}`, () => {
    test('concurrent writers get contiguous revisions and the log holds exactly what committed', async () => {
      const tdb = await createTestDatabase(dialect);
      const store = await Store.open(await openDatabase(tdb.url));
      try {
        const writes = Array.from({ length: 50 }, (_, i) =>
          store.write(async (tx) => {
            tx.record({ resource: 'thing', id: `t${i}`, projectId: 'p', action: 'create', body: { n: i } });
            tx.record({ resource: 'thing', id: `t${i}`, projectId: 'p', action: 'update', body: { n: i, again: true } });
          }),
        );
        // A failing write appends nothing.
        const failing = assert.rejects(
          store.write(async (tx) => {
            tx.record({ resource: 'thing', id: 'bad', projectId: 'p', action: 'create', body: {} });
            throw new Error('validation failed');
          }),
          /validation failed/,
        );
        await Promise.all([...writes, failing]);
        const log = await readChanges(store.db, 0, 1000);
        assert.equal(log.length, 100);
        assert.deepEqual(
          log.map((c) => c.revision),
          Array.from({ length: 100 }, (_, i) => i + 1),
        );
        assert.equal(await currentRevision(store.db), 100);
        assert.ok(!log.some((c) => c.id === 'bad'));
        for (let i = 0; i < 100; i += 2) {
          assert.equal(log[i].id, log[i + 1].id, 'both changes of one transaction are adjacent');
          assert.equal(log[i].action, 'create');
        }
      } finally {
        await store.close();
        await tdb.drop();
      }
    });

    test('a write that asks to be retried runs again and commits once', async () => {
      const tdb = await createTestDatabase(dialect);
      const store = await Store.open(await openDatabase(tdb.url));
      try {
        let attempts = 0;
        const result = await store.write(async (tx) => {
          attempts++;
          tx.record({ resource: 'thing', id: 'x', projectId: null, action: 'create', body: { attempts } });
          if (attempts < 3) throw new RetryableWriteConflict('lost a race');
          return 'done';
        });
        assert.equal(result, 'done');
        assert.equal(attempts, 3);
        const log = await readChanges(store.db, 0, 10);
        assert.equal(log.length, 1);
        assert.deepEqual(log[0].body, { attempts: 3 });
      } finally {
        await store.close();
        await tdb.drop();
      }
    });

    test('compaction drops old entries and remembers where', async () => {
      const tdb = await createTestDatabase(dialect);
      const store = await Store.open(await openDatabase(tdb.url));
      try {
        for (let i = 0; i < 5; i++) {
          await store.write(async (tx) => tx.record({ resource: 'thing', id: `t${i}`, projectId: null, action: 'create', body: {} }));
        }
        await compactChanges(store.db, 3);
        assert.equal(await compactedThrough(store.db), 3);
        assert.deepEqual((await readChanges(store.db, 0, 10)).map((c) => c.revision), [4, 5]);
      } finally {
        await store.close();
        await tdb.drop();
      }
    });
  });
}

test('a write on one PostgreSQL server wakes the streams of another', async () => {
  const tdb = await createTestDatabase('postgres');
  const a = await Store.open(await openDatabase(tdb.url));
  const b = await Store.open(await openDatabase(tdb.url));
  try {
    const seen = new Promise<number>((resolve) => b.revisions.once('revision', resolve));
    await a.write(async (tx) => tx.record({ resource: 'thing', id: 'x', projectId: null, action: 'create', body: {} }));
    assert.equal(await seen, 1);
  } finally {
    await a.close();
    await b.close();
    await tdb.drop();
  }
});
