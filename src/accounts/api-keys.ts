import { and, desc, eq, isNull } from 'drizzle-orm';
import { notFound } from '../errors.js';
import type { Db } from '../storage/database.js';
import { isUuid } from '../storage/ids.js';
import { apiKeys, type Role } from '../storage/schema.js';
import { hashSecret, newSecret } from './secrets.js';

export interface ApiKey {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const publicColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  role: apiKeys.role,
  prefix: apiKeys.prefix,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
};

/** Creates a key; the returned `key` is the only time the secret is ever shown. */
export async function createApiKey(
  db: Db,
  input: { accountId: string; name: string; role: Role },
): Promise<ApiKey & { key: string }> {
  const key = newSecret('hk');
  const [created] = await db
    .insert(apiKeys)
    .values({ ...input, prefix: key.slice(0, 10), keyHash: hashSecret(key) })
    .returning(publicColumns);
  if (!created) throw new Error('insert returned no row');
  return { ...created, key };
}

export function listApiKeys(db: Db, accountId: string): Promise<ApiKey[]> {
  return db
    .select(publicColumns)
    .from(apiKeys)
    .where(eq(apiKeys.accountId, accountId))
    .orderBy(desc(apiKeys.createdAt));
}

export async function revokeApiKey(db: Db, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('API key', id);
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.accountId, accountId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (revoked.length === 0) throw notFound('Active API key', id);
}
