import { newIdentityId } from '../../../src/server/identity/ids.js';
import { DEFAULT_DOMAIN_ID } from '../../../src/server/identity/model.js';
import { hashPassword } from '../../../src/server/identity/passwords.js';
import * as repo from '../../../src/server/identity/repository.js';
import { openDatabase } from '../../../src/store/database.js';
import { Store } from '../../../src/store/store.js';
import type { Account } from './config.js';

/**
 * Stop-gap for a server without the Identity admin API (projects, users, role grants): writes the accounts straight
 * into the running server's database. The harness uses it only when `GET /v3/roles` is not there.
 */
export async function insertAccountsDirectly(databaseUrl: string, accounts: Account[]): Promise<void> {
  const store = await Store.open(await openDatabase(databaseUrl));
  try {
    for (const account of accounts) {
      const passwordHash = await hashPassword(account.password);
      await store.write(async (tx) => {
        const projectId = newIdentityId();
        const userId = newIdentityId();
        await repo.insertProject(tx.db, { id: projectId, domainId: DEFAULT_DOMAIN_ID, name: account.projectName, description: '', enabled: true, extra: {} }, tx.now);
        await repo.insertUser(
          tx.db,
          { id: userId, domainId: DEFAULT_DOMAIN_ID, name: account.username, enabled: true, passwordHash, defaultProjectId: projectId, extra: {} },
          tx.now,
        );
        for (const roleName of account.roles) {
          const role = await repo.findRoleByName(tx.db, roleName);
          if (!role) throw new Error(`no role '${roleName}'`);
          await repo.grantRole(tx.db, userId, projectId, role.id);
        }
      });
    }
  } finally {
    await store.close();
  }
}
