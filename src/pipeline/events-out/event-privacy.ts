import { eq } from 'drizzle-orm';
import { notFound } from '../../errors.js';
import type { Db } from '../../storage/database.js';
import { accounts } from '../../storage/schema.js';

/** Whether the account lets webhook subscriptions that ask for it receive original identifiers. */
export interface EventPrivacy {
  allowPiiInEvents: boolean;
}

const columns = { allowPiiInEvents: accounts.allowPiiInEvents };

export async function getEventPrivacy(db: Db, accountId: string): Promise<EventPrivacy> {
  const [row] = await db.select(columns).from(accounts).where(eq(accounts.id, accountId));
  if (!row) throw notFound('Account', accountId);
  return row;
}

/**
 * Turning it off takes effect at once: subscriptions marked `includePii` then receive hashes
 * again (the sender checks the account on every delivery), and no new one can be marked.
 */
export async function setEventPrivacy(db: Db, accountId: string, privacy: EventPrivacy): Promise<EventPrivacy> {
  const [row] = await db
    .update(accounts)
    .set({ allowPiiInEvents: privacy.allowPiiInEvents })
    .where(eq(accounts.id, accountId))
    .returning(columns);
  if (!row) throw notFound('Account', accountId);
  return row;
}
