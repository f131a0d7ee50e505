import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import type { Db } from '../storage/database.js';
import { accessTokens, apiKeys, users } from '../storage/schema.js';
import { verifyPassword } from './passwords.js';
import type { Principal } from './principal.js';
import { hashSecret, newSecret } from './secrets.js';

/** Resolves a bearer secret (an API key or an access token) to its principal, or null. */
export async function authenticate(db: Db, secret: string): Promise<Principal | null> {
  const hash = hashSecret(secret);
  if (secret.startsWith('hk_')) {
    const [key] = await db
      .select({ accountId: apiKeys.accountId, role: apiKeys.role, apiKeyId: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)));
    return key ?? null;
  }
  const [token] = await db
    .select({ accountId: users.accountId, role: users.role, userId: users.id })
    .from(accessTokens)
    .innerJoin(users, eq(users.id, accessTokens.userId))
    .where(and(eq(accessTokens.tokenHash, hash), gt(accessTokens.expiresAt, new Date())));
  return token ?? null;
}

/**
 * The account of a bearer secret that no longer authenticates (a revoked API key, an expired
 * access token), so its failure can be logged where the account's people see it. Null for a
 * secret Herald never issued: with many accounts, nobody's log is the right one.
 */
export async function accountOfFailedSecret(db: Db, secret: string): Promise<string | null> {
  const hash = hashSecret(secret);
  if (secret.startsWith('hk_')) {
    const [key] = await db.select({ accountId: apiKeys.accountId }).from(apiKeys).where(eq(apiKeys.keyHash, hash));
    return key?.accountId ?? null;
  }
  const [token] = await db
    .select({ accountId: users.accountId })
    .from(accessTokens)
    .innerJoin(users, eq(users.id, accessTokens.userId))
    .where(eq(accessTokens.tokenHash, hash));
  return token?.accountId ?? null;
}

// Verified against when the username is unknown, so both failures take the same time.
const DECOY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** Exchanges a username and password for a short-lived access token, or null when they do not match. */
export async function login(
  db: Db,
  username: string,
  password: string,
  ttlSeconds: number,
): Promise<{ accessToken: string; expiresIn: number } | null> {
  const [user] = await db
    .select({ id: users.id, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.username, username));
  const valid = await verifyPassword(password, user?.passwordHash ?? DECOY_HASH);
  if (!user || !valid) return null;
  const accessToken = newSecret('hat');
  await db.insert(accessTokens).values({
    tokenHash: hashSecret(accessToken),
    userId: user.id,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000),
  });
  return { accessToken, expiresIn: ttlSeconds };
}

export async function purgeExpiredTokens(db: Db): Promise<number> {
  const deleted = await db
    .delete(accessTokens)
    .where(lt(accessTokens.expiresAt, new Date()))
    .returning({ hash: accessTokens.tokenHash });
  return deleted.length;
}
