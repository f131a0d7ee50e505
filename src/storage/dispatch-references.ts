import { and, eq, type SQL } from 'drizzle-orm';
import { AppError } from '../errors.js';
import type { Db } from './database.js';
import { dispatches } from './schema.js';

/**
 * Throws CONFLICT, naming the dispatch, when a dispatch of the account matches `usedBy`: the rows
 * dispatches refer to (questionnaires, policies, and inside JSON, where no foreign key can guard
 * them, vendors and templates) are not deleted from under it. Callers hold a lock on the row they
 * are about to delete, so no dispatch can start using it between this check and the delete.
 */
export async function assertNoDispatchUses(db: Db, accountId: string, what: string, usedBy: SQL): Promise<void> {
  const [user] = await db
    .select({ id: dispatches.id, name: dispatches.name })
    .from(dispatches)
    .where(and(eq(dispatches.accountId, accountId), usedBy))
    .limit(1);
  if (user) {
    throw new AppError(
      'CONFLICT',
      `${what} is used by the dispatch "${user.name}" (${user.id}); change or delete that dispatch first.`,
    );
  }
}
