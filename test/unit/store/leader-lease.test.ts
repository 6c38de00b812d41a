import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../../src/lib/logger.js';
import { openDatabase } from '../../../src/store/database.js';
import { acquireLease, LeaderElection, releaseLease } from '../../../src/store/leader-lease.js';
import { Store } from '../../../src/store/store.js';
import { DIALECTS, createTestDatabase } from '../../support/databases.js';

const logger = createLogger('leader-lease-test', 'silent');

/** Several servers' stores on one database, opened one after another as servers start (SQLite's migration lock is per process). */
async function openStores(url: string, count: number): Promise<Store[]> {
  const stores: Store[] = [];
  for (let i = 0; i < count; i++) stores.push(await Store.open(await openDatabase(url)));
  return stores;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

for (const dialect of DIALECTS) {
  describe(`leader lease on ${dialect}`, () => {
    test('one holder at a time: renewals keep it, expiry or release hands it over', async () => {
      const tdb = await createTestDatabase(dialect);
      const store = await Store.open(await openDatabase(tdb.url));
      try {
        const a = { name: 'job', holder: 'a', ttlMs: 1000 };
        const b = { name: 'job', holder: 'b', ttlMs: 1000 };
        assert.equal(await acquireLease(store, a, 10_000), true);
        assert.equal(await acquireLease(store, b, 10_500), false, 'a holds it until 11,000');
        assert.equal(await acquireLease(store, a, 10_900), true, 'a renews until 11,900');
        assert.equal(await acquireLease(store, b, 11_500), false, 'the renewal moved the term on');
        assert.equal(await acquireLease(store, b, 11_901), true, 'expired: b takes it');
        assert.equal(await acquireLease(store, a, 11_950), false, 'a lost it');
        assert.equal(await acquireLease(store, { ...a, name: 'other' }, 11_950), true, 'leases are per name');
        await releaseLease(store, a);
        assert.equal(await acquireLease(store, a, 12_000), false, 'a cannot release what b holds');
        await releaseLease(store, b);
        assert.equal(await acquireLease(store, a, 12_000), true, 'released: a takes it before the term ends');
        const changes = await store.read((db) => db.selectFrom('changes').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow());
        assert.equal(Number(changes.n), 0, 'leases write nothing to the change log');
      } finally {
        await store.close();
        await tdb.drop();
      }
    });

    test('concurrent claims on a free lease grant it once', async () => {
      const tdb = await createTestDatabase(dialect);
      const stores = await openStores(tdb.url, 4);
      try {
        const now = Date.now();
        const answers = await Promise.allSettled(stores.flatMap((store, i) => [0, 1].map((j) => acquireLease(store, { name: 'job', holder: `h${i}-${j}`, ttlMs: 60_000 }, now))));
        assert.equal(answers.filter((a) => a.status === 'fulfilled' && a.value).length, 1, `answers: ${JSON.stringify(answers)}`);
        // SQLite cannot upgrade a reader that another connection overtook: such a claim fails (the election retries).
        for (const a of answers) if (a.status === 'rejected') assert.equal((a.reason as { code?: string }).code, 'SQLITE_BUSY');
      } finally {
        for (const store of stores) await store.close();
        await tdb.drop();
      }
    });

    test('elections on two servers: never two leaders, and a stopped leader is replaced within a renewal', async () => {
      const tdb = await createTestDatabase(dialect);
      const stores = await openStores(tdb.url, 2);
      let leaders = 0;
      let mostLeaders = 0;
      const elections = stores.map(
        (store, i) =>
          new LeaderElection(
            store,
            { name: 'job', holder: `server-${i}`, ttlMs: 1000, renewMs: 100 },
            {
              elected: () => (mostLeaders = Math.max(mostLeaders, ++leaders)),
              deposed: async () => void leaders--,
            },
            logger,
          ),
      );
      try {
        elections.forEach((e) => e.start());
        await waitUntil('one leads', () => elections.some((e) => e.isLeader));
        await sleep(500);
        assert.equal(elections.filter((e) => e.isLeader).length, 1);
        const [leader, follower] = elections[0].isLeader ? elections : [...elections].reverse();
        const stoppedAt = Date.now();
        await leader.stop();
        await waitUntil('the follower leads', () => follower.isLeader);
        assert.ok(Date.now() - stoppedAt < 900, 'a released lease is taken before it would have expired');
        assert.equal(mostLeaders, 1);
      } finally {
        for (const e of elections) await e.stop();
        for (const store of stores) await store.close();
        await tdb.drop();
      }
    });

    test('a leader that cannot reach the database steps down before its term ends', async () => {
      const tdb = await createTestDatabase(dialect);
      const [cutOff, other] = await openStores(tdb.url, 2);
      const events: string[] = [];
      const first = new LeaderElection(cutOff, { name: 'job', holder: 'first', ttlMs: 1500, renewMs: 100 }, { elected: () => events.push('first elected'), deposed: async () => void events.push('first deposed') }, logger);
      const second = new LeaderElection(other, { name: 'job', holder: 'second', ttlMs: 1500, renewMs: 100 }, { elected: () => events.push('second elected'), deposed: async () => void events.push('second deposed') }, logger);
      try {
        first.start();
        await waitUntil('first leads', () => first.isLeader);
        second.start();
        await cutOff.database.close();
        await waitUntil('second leads', () => second.isLeader);
        assert.deepEqual(events, ['first elected', 'first deposed', 'second elected']);
      } finally {
        await first.stop();
        await second.stop();
        await other.close();
        // Its database is closed already; this ends its change listener before the database is dropped.
        await cutOff.close().catch(() => undefined);
        await tdb.drop();
      }
    });
  });
}
