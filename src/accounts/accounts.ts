import { eq } from 'drizzle-orm';
import { AppError, notFound } from '../errors.js';
import type { Db } from '../storage/database.js';
import { accounts } from '../storage/schema.js';

export type Account = typeof accounts.$inferSelect;

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

export async function createAccount(db: Db, input: { slug: string; name: string }): Promise<Account> {
  if (!SLUG_PATTERN.test(input.slug)) {
    throw new AppError('VALIDATION_FAILED', 'An account slug is 2–63 lower-case letters, digits or dashes.');
  }
  const [account] = await db.insert(accounts).values(input).onConflictDoNothing().returning();
  if (!account) throw new AppError('CONFLICT', `An account with the slug "${input.slug}" already exists.`);
  return account;
}

export async function getAccount(db: Db, id: string): Promise<Account> {
  const [account] = await db.select().from(accounts).where(eq(accounts.id, id));
  if (!account) throw notFound('Account', id);
  return account;
}

export async function findAccountBySlug(db: Db, slug: string): Promise<Account> {
  const [account] = await db.select().from(accounts).where(eq(accounts.slug, slug));
  if (!account) throw new AppError('NOT_FOUND', `No account has the slug "${slug}".`);
  return account;
}
