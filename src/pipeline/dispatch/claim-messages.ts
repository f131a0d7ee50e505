import type { SqlExecutor } from '../../storage/database.js';
import type { Channel, StoredPrefill } from '../../storage/schema.js';

/** A message claimed for sending, with what its invitation holds. */
export interface ClaimedMessage {
  id: string;
  account_id: string;
  invitation_id: string;
  dispatch_id: string;
  channel: Channel;
  reminder_level: number;
  attempts: number;
  vendor_id: string | null;
  token: string | null;
  target: string | null;
  uuid: string | null;
  language: string | null;
  prefills: StoredPrefill[];
  /** The invitation's sealed originals (see privacy/sealed-originals.ts). */
  sealed_originals: string | null;
  sealed_key_id: string | null;
  answered_at: Date | string | null;
  unsubscribed_at: Date | string | null;
}

/** The statuses of a message waiting for its due time. */
const CLAIMABLE_STATUSES = ['scheduled', 'rate_limited', 'manual_retry'] as const;

/**
 * Marks up to `limit` due messages as being sent and returns them. The claim commits at once, so
 * a process that dies mid-send leaves them `sending` with a claim time: recoverStaleClaims() (stale-claims.ts)
 * sends them again later (the only case where a message may go out twice).
 */
export function claimDueMessages(sql: SqlExecutor, now: Date, limit: number): Promise<ClaimedMessage[]> {
  // SKIP LOCKED: workers on several processes claim disjoint batches without waiting on each other.
  // One ordered read of messages_due_idx (status, due_at) per waiting status, merged: a claim reads
  // about `limit` index entries whatever the backlog. With `status IN (…) ORDER BY due_at` the
  // index cannot give the order, so every due message was read and sorted for each batch.
  return sql.query<ClaimedMessage>(
    `WITH due AS (
       SELECT w.id FROM unnest($3::text[]) AS s(status)
       CROSS JOIN LATERAL (
         SELECT id, due_at FROM messages WHERE status = s.status AND due_at <= $1
         ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) w
       ORDER BY w.due_at LIMIT $2),
     claimed AS (
       UPDATE messages m SET status = 'sending', claimed_at = $1, attempts = m.attempts + 1, updated_at = $1
       FROM due WHERE m.id = due.id
       RETURNING m.id, m.account_id, m.invitation_id, m.dispatch_id, m.channel, m.reminder_level, m.attempts, m.vendor_id)
     SELECT c.*, i.token, i.target, i.uuid, i.language, i.prefills, i.sealed_originals, i.sealed_key_id,
            i.answered_at, i.unsubscribed_at
     FROM claimed c JOIN invitations i ON i.id = c.invitation_id`,
    [now.toISOString(), limit, CLAIMABLE_STATUSES],
  );
}

/** How many messages are due and waiting to be claimed, counting no further than `upTo`. */
export async function countDueMessages(sql: SqlExecutor, now: Date, upTo: number): Promise<number> {
  const [row] = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM unnest($2::text[]) AS s(status)
       CROSS JOIN LATERAL (SELECT 1 FROM messages WHERE status = s.status AND due_at <= $1 LIMIT $3) w LIMIT $3) due`,
    [now.toISOString(), CLAIMABLE_STATUSES, upTo],
  );
  return row?.n ?? 0;
}

/**
 * Renews the claim on those of `ids` still being sent: a live worker's claims never look stale,
 * however long its batch takes, so only a dead worker's messages are sent again.
 */
export async function renewClaims(sql: SqlExecutor, ids: readonly string[], now: Date): Promise<void> {
  await sql.query(`UPDATE messages SET claimed_at = $1 WHERE id = ANY($2::uuid[]) AND status = 'sending'`, [
    now.toISOString(),
    ids,
  ]);
}
