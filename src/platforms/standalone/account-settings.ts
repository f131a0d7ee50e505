import { count, eq } from 'drizzle-orm';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { AppError, invalidField, notFound } from '../../errors.js';
import type { Db } from '../../storage/database.js';
import { accounts, unsubscribes, type HashAlgorithm } from '../../storage/schema.js';

export interface AccountSettings {
  /** How PII is hashed for this account (sha512 unless chosen otherwise). */
  hashAlgorithm: HashAlgorithm;
  /** ISO 3166-1 alpha-2 region for mobile numbers given without a country code; null: they must be international. */
  defaultPhoneRegion: string | null;
  /** Hash PII after normalising it; off by default (the original module's hashes), see accounts.normalizedHashing. */
  normalizedHashing: boolean;
}

const settingsColumns = {
  hashAlgorithm: accounts.hashAlgorithm,
  defaultPhoneRegion: accounts.defaultPhoneRegion,
  normalizedHashing: accounts.normalizedHashing,
};

export async function getAccountSettings(db: Db, accountId: string): Promise<AccountSettings> {
  const [settings] = await db.select(settingsColumns).from(accounts).where(eq(accounts.id, accountId));
  if (!settings) throw notFound('Account', accountId);
  return settings;
}

export async function updateAccountSettings(
  db: Db,
  accountId: string,
  changes: Partial<AccountSettings>,
): Promise<AccountSettings> {
  const region = changes.defaultPhoneRegion;
  // The region is only ever used to read phone numbers, so it must be one the phone library knows.
  if (region && !isSupportedCountry(region)) {
    throw invalidField('defaultPhoneRegion', `"${region}" is not a region with known phone numbers`);
  }
  if (Object.values(changes).every((value) => value === undefined)) {
    return getAccountSettings(db, accountId);
  }
  if (changes.hashAlgorithm !== undefined) await assertUnsubscribesKeepMatching(db, accountId, changes.hashAlgorithm);
  const [settings] = await db
    .update(accounts)
    .set({
      hashAlgorithm: changes.hashAlgorithm,
      defaultPhoneRegion: changes.defaultPhoneRegion,
      normalizedHashing: changes.normalizedHashing,
    })
    .where(eq(accounts.id, accountId))
    .returning(settingsColumns);
  if (!settings) throw notFound('Account', accountId);
  return settings;
}

/**
 * Unsubscribes are kept only as hashes under the account's algorithm: another algorithm would hash
 * the same address differently and every unsubscribe would silently stop matching. 409 while any exist.
 */
async function assertUnsubscribesKeepMatching(db: Db, accountId: string, algorithm: HashAlgorithm): Promise<void> {
  const current = await getAccountSettings(db, accountId);
  if (current.hashAlgorithm === algorithm) return;
  const [row] = await db.select({ n: count() }).from(unsubscribes).where(eq(unsubscribes.accountId, accountId));
  const n = Number(row?.n ?? 0);
  if (n > 0)
    throw new AppError(
      'CONFLICT',
      `The hash algorithm cannot change from ${current.hashAlgorithm} to ${algorithm} while the account has ${n} unsubscribes: they are stored as ${current.hashAlgorithm} hashes and would no longer match anyone.`,
    );
}
