import { createAccount } from '../../src/accounts/accounts.js';
import { createApiKey } from '../../src/accounts/api-keys.js';
import type { Role } from '../../src/storage/schema.js';
import type { Database } from '../../src/storage/database.js';

let counter = 0;

/** A new account with an API key of the given role. */
export async function seedAccount(database: Database, role: Role = 'admin') {
  counter += 1;
  const account = await createAccount(database.db, {
    slug: `acct-${process.pid}-${counter}`,
    name: `Account ${counter}`,
  });
  const { key } = await createApiKey(database.db, { accountId: account.id, name: 'test', role });
  return { account, apiKey: key };
}
