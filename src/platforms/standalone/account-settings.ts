import { eq } from 'drizzle-orm';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { invalidField, notFound } from '../../errors.js';
import type { Db } from '../../storage/database.js';
import { accounts, type HashAlgorithm } from '../../storage/schema.js';

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
