import { and, count, desc, eq, sql } from 'drizzle-orm';
import { getAccount } from '../../accounts/accounts.js';
import { invalidField, notFound } from '../../errors.js';
import { normalizeEmail, normalizeMobile, type Normalized } from '../../contacts/contact-values.js';
import { hashPii } from '../../privacy/pii-hash.js';
import type { Db } from '../../storage/database.js';
import { unsubscribes } from '../../storage/schema.js';

export type IdentifierKind = 'email' | 'mobile' | 'uuid';

export interface Unsubscribe {
  identifierHash: string;
  source: string;
  createdAt: Date;
}

const unsubscribeColumns = {
  identifierHash: unsubscribes.identifierHash,
  source: unsubscribes.source,
  createdAt: unsubscribes.createdAt,
};

/** The identifier in the form ingest hashes it, so the two hashes meet. */
function normalizeIdentifier(identifier: string, kind: IdentifierKind, phoneRegion: string | null): Normalized {
  if (kind === 'email') {
    const email = normalizeEmail(identifier);
    return email.ok ? { ok: true, value: email.value.toLowerCase() } : email;
  }
  if (kind === 'mobile') return normalizeMobile(identifier, phoneRegion);
  const uuid = identifier.trim();
  return uuid ? { ok: true, value: uuid } : { ok: false, reason: 'the UUID is missing' };
}

/**
 * Adds an identifier to the account's unsubscribe list, hashed as the account hashes PII; the raw
 * value is neither stored nor returned. `created` is false when it was already there.
 */
export async function addUnsubscribe(
  db: Db,
  accountId: string,
  input: { identifier: string; kind: IdentifierKind; source: string },
): Promise<{ unsubscribe: Unsubscribe; created: boolean }> {
  const account = await getAccount(db, accountId);
  const normalized = normalizeIdentifier(input.identifier, input.kind, account.defaultPhoneRegion);
  if (!normalized.ok) throw invalidField('identifier', `is not a valid ${input.kind}: ${normalized.reason}`);
  const identifierHash = hashPii(normalized.value, account.hashAlgorithm);
  const [inserted] = await db
    .insert(unsubscribes)
    .values({ accountId, identifierHash, source: input.source })
    .onConflictDoNothing()
    .returning(unsubscribeColumns);
  if (inserted) return { unsubscribe: inserted, created: true };
  const [existing] = await db
    .select(unsubscribeColumns)
    .from(unsubscribes)
    .where(and(eq(unsubscribes.accountId, accountId), eq(unsubscribes.identifierHash, identifierHash)));
  if (!existing) throw new Error('an unsubscribe vanished between insert and select');
  return { unsubscribe: existing, created: false };
}

export async function listUnsubscribes(
  db: Db,
  accountId: string,
  page: { limit: number; offset: number },
): Promise<{ items: Unsubscribe[]; total: number }> {
  const items = await db
    .select(unsubscribeColumns)
    .from(unsubscribes)
    .where(eq(unsubscribes.accountId, accountId))
    .orderBy(desc(unsubscribes.createdAt), desc(unsubscribes.identifierHash))
    .limit(page.limit)
    .offset(page.offset);
  const [counted] = await db.select({ total: count() }).from(unsubscribes).where(eq(unsubscribes.accountId, accountId));
  return { items, total: counted?.total ?? 0 };
}

export async function deleteUnsubscribe(db: Db, accountId: string, identifierHash: string): Promise<void> {
  const deleted = await db
    .delete(unsubscribes)
    .where(and(eq(unsubscribes.accountId, accountId), eq(unsubscribes.identifierHash, identifierHash)))
    .returning({ identifierHash: unsubscribes.identifierHash });
  if (deleted.length === 0) throw notFound('Unsubscribe', identifierHash);
}

/** Which of `hashes` are on the account's unsubscribe list, in one query whatever their number. */
export async function isUnsubscribed(db: Db, accountId: string, hashes: readonly string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  // One parameter rather than one per hash: a request may carry tens of thousands. Lines of text
  // rather than an array: the drivers escape an array literal value by value in JavaScript, which
  // took a large request a seventh of its time (a hash holds no line break).
  const rows = await db
    .select({ identifierHash: unsubscribes.identifierHash })
    .from(unsubscribes)
    .where(
      and(
        eq(unsubscribes.accountId, accountId),
        sql`${unsubscribes.identifierHash} = ANY(string_to_array(${hashes.join('\n')}, chr(10)))`,
      ),
    );
  return new Set(rows.map((row) => row.identifierHash));
}
