import { and, eq, type SQL } from 'drizzle-orm';
import { AppError } from '../../errors.js';
import type { Db } from '../../storage/database.js';
import { dispatches } from '../../storage/schema.js';

/** A 400 about one field of the caller's input, in the shape schema validation errors have. */
export function invalidField(field: string, problem: string): AppError {
  return new AppError('VALIDATION_FAILED', `The request is invalid: ${field} ${problem}.`, [{ field, problem }]);
}

/**
 * Throws CONFLICT when a dispatch of the account matches `usedBy`. Callers hold a lock on the row
 * they are about to delete, so no dispatch can start using it between this check and the delete.
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
