import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DialectName } from '../../src/store/database.js';

/**
 * A fresh, empty database of each dialect for one test: a SQLite file in a temporary directory, and a new
 * database on the run's PostgreSQL (scripts/test.sh starts one and sets CLOUDNET_TEST_PG_URL).
 */
export interface TestDatabase {
  dialect: DialectName;
  url: string;
  drop(): Promise<void>;
}

export const DIALECTS: DialectName[] = ['sqlite', 'postgres'];

export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cloudnet-test-'));
    return { dialect, url: `sqlite:${join(dir, 'cloudnet.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.CLOUDNET_TEST_PG_URL;
  if (!adminUrl) throw new Error('CLOUDNET_TEST_PG_URL is not set: run tests through scripts/test.sh, which starts PostgreSQL');
  const name = `cloudnet_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
