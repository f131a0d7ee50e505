import { and, asc, eq } from 'drizzle-orm';
import { AppError, notFound } from '../errors.js';
import type { Db } from '../storage/database.js';
import { isUuid } from '../storage/ids.js';
import { users, type Role } from '../storage/schema.js';
import { hashPassword } from './passwords.js';

export interface User {
  id: string;
  accountId: string;
  username: string;
  role: Role;
  createdAt: Date;
}

const publicColumns = {
  id: users.id,
  accountId: users.accountId,
  username: users.username,
  role: users.role,
  createdAt: users.createdAt,
};

export const MIN_PASSWORD_LENGTH = 12;

export async function createUser(
  db: Db,
  input: { accountId: string; username: string; password: string; role: Role },
): Promise<User> {
  if (input.password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError('VALIDATION_FAILED', `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  const passwordHash = await hashPassword(input.password);
  const [user] = await db
    .insert(users)
    .values({ accountId: input.accountId, username: input.username, role: input.role, passwordHash })
    .onConflictDoNothing()
    .returning(publicColumns);
  if (!user) throw new AppError('CONFLICT', `The username "${input.username}" is taken.`);
  return user;
}

export function listUsers(db: Db, accountId: string): Promise<User[]> {
  return db.select(publicColumns).from(users).where(eq(users.accountId, accountId)).orderBy(asc(users.username));
}

export async function getUser(db: Db, accountId: string, id: string): Promise<User> {
  if (!isUuid(id)) throw notFound('User', id);
  const [user] = await db
    .select(publicColumns)
    .from(users)
    .where(and(eq(users.accountId, accountId), eq(users.id, id)));
  if (!user) throw notFound('User', id);
  return user;
}

export async function deleteUser(db: Db, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('User', id);
  const deleted = await db
    .delete(users)
    .where(and(eq(users.accountId, accountId), eq(users.id, id)))
    .returning({ id: users.id });
  if (deleted.length === 0) throw notFound('User', id);
}
