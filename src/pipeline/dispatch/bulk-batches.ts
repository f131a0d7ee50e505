import type { SqlExecutor } from '../../storage/database.js';
import { EventAction, eventChannelOf } from '../../timeline/event-numbers.js';
import { writeTimelineEntries } from '../../timeline/timeline-writer.js';
import type { ClaimedMessage } from './claim-messages.js';

/**
 * Bulk batches: the BulkMessage collection of the original module (architecture §4.9), kept in
 * `bulk_batches`. A batch is `open` while messages join it, `sending` once one flusher has claimed
 * it, and `sent` when every one of its messages has an outcome — whatever the outcomes were. A
 * batch is never deleted. A message waits in its batch as `queued` (messages.bulk_batch_id) until
 * its outcome is recorded.
 */

/** A message the delivery worker hands to a bulk-send vendor's open batch instead of sending it. */
export interface BulkEntry {
  kind: 'queue';
  claimed: ClaimedMessage;
  vendorId: string;
  /** The vendor's kind, for the timeline. */
  via: string;
}

/** A batch claimed by a flusher. `attempts` counts claims: more than one means it was recovered. */
export interface ClaimedBulkBatch {
  id: string;
  account_id: string;
  vendor_id: string;
  attempts: number;
  message_count: number;
}

const groupKey = (entry: BulkEntry) => `${entry.claimed.account_id}:${entry.vendorId}`;

/**
 * Moves claimed messages into their vendor's open batch (opening new ones as batches fill), in the
 * caller's transaction. The open batch is locked while it fills, so a flusher never claims a batch
 * half-way through a join: it either sees the messages or the batch is no longer open and they go
 * to a new one. Vendors are taken in one order so that two workers cannot deadlock.
 */
export async function queueForBulkSend(
  sql: SqlExecutor,
  entries: readonly BulkEntry[],
  batchSize: number,
  now: Date,
): Promise<void> {
  const groups = new Map<string, BulkEntry[]>();
  for (const entry of entries) groups.set(groupKey(entry), [...(groups.get(groupKey(entry)) ?? []), entry]);
  const at = now.toISOString();
  for (const key of [...groups.keys()].sort()) {
    let pending = groups.get(key)!;
    const { account_id: accountId } = pending[0]!.claimed;
    const { vendorId } = pending[0]!;
    while (pending.length > 0) {
      const [open] = await sql.query<{ id: string; message_count: number }>(
        `SELECT id, message_count FROM bulk_batches
         WHERE account_id = $1 AND vendor_id = $2 AND status = 'open' AND message_count < $3
         ORDER BY created_at LIMIT 1 FOR UPDATE`,
        [accountId, vendorId, batchSize],
      );
      const batch =
        open ??
        (
          await sql.query<{ id: string; message_count: number }>(
            `INSERT INTO bulk_batches (account_id, vendor_id, status, created_at) VALUES ($1, $2, 'open', $3)
             RETURNING id, message_count`,
            [accountId, vendorId, at],
          )
        )[0]!;
      const room = batchSize - batch.message_count;
      const joining = pending.slice(0, room);
      pending = pending.slice(room);
      // The claim counted an attempt; the attempt is the flush, which counts it again.
      const moved = new Set(
        (
          await sql.query<{ id: string }>(
            `UPDATE messages SET status = 'queued', bulk_batch_id = $1, claimed_at = NULL, attempts = attempts - 1,
               updated_at = $2
             WHERE id = ANY($3::uuid[]) AND status = 'sending' RETURNING id`,
            [batch.id, at, joining.map((e) => e.claimed.id)],
          )
        ).map((r) => r.id),
      );
      await sql.query(`UPDATE bulk_batches SET message_count = message_count + $2 WHERE id = $1`, [
        batch.id,
        moved.size,
      ]);
      const queued = joining.filter((e) => moved.has(e.claimed.id));
      await writeTimelineEntries(
        sql,
        queued.map((e) => ({
          accountId,
          invitationId: e.claimed.invitation_id,
          action: EventAction.Queued,
          channel: eventChannelOf(e.claimed.channel),
          message: `Queued for bulk send (via: ${e.via}) in batch ${batch.id} | reminder level ${e.claimed.reminder_level}`,
          occurredAt: now,
        })),
      );
    }
  }
}

/**
 * Claims up to `limit` batches that are ready: open and full, open for `flushMs`, or left
 * `sending` by a flusher that stopped (claimed before `staleBefore`). The claim commits at once;
 * SKIP LOCKED lets flushers in several processes claim disjoint batches without waiting.
 */
export function claimBulkBatches(
  sql: SqlExecutor,
  now: Date,
  options: { batchSize: number; flushMs: number; claimTimeoutMs: number; limit: number },
): Promise<ClaimedBulkBatch[]> {
  return sql.query<ClaimedBulkBatch>(
    `WITH ready AS (
       SELECT id FROM bulk_batches
       WHERE (status = 'open' AND (message_count >= $2 OR created_at <= $3))
          OR (status = 'sending' AND claimed_at < $4)
       ORDER BY created_at LIMIT $5 FOR UPDATE SKIP LOCKED)
     UPDATE bulk_batches b SET status = 'sending', claimed_at = $1, attempts = b.attempts + 1
     FROM ready WHERE b.id = ready.id
     RETURNING b.id, b.account_id, b.vendor_id, b.attempts, b.message_count`,
    [
      now.toISOString(),
      options.batchSize,
      new Date(now.getTime() - options.flushMs).toISOString(),
      new Date(now.getTime() - options.claimTimeoutMs).toISOString(),
      options.limit,
    ],
  );
}

/**
 * The batch's messages that have no outcome yet (all of them, unless it was recovered after some
 * were cancelled elsewhere), as the delivery worker's claim returns them: `attempts` includes the
 * attempt being made.
 */
export function batchMessages(sql: SqlExecutor, batchId: string): Promise<ClaimedMessage[]> {
  return sql.query<ClaimedMessage>(
    `SELECT m.id, m.account_id, m.invitation_id, m.dispatch_id, m.channel, m.reminder_level, m.attempts + 1 AS attempts,
            m.vendor_id, i.token, i.target, i.uuid, i.language, i.prefills, i.sealed_originals, i.sealed_key_id,
            i.answered_at, i.unsubscribed_at
     FROM messages m JOIN invitations i ON i.id = m.invitation_id
     WHERE m.bulk_batch_id = $1 AND m.status = 'queued'
     ORDER BY m.id`,
    [batchId],
  );
}

/**
 * Marks the batch sent if this claim still holds it (same `attempts`, still `sending`), and puts
 * the messages being recorded in flight, as recordOutcomes() expects them. False when the batch was
 * taken over (this flusher was too slow and its claim went stale): then it records nothing.
 */
export async function completeBulkBatch(
  sql: SqlExecutor,
  batch: ClaimedBulkBatch,
  messageIds: readonly string[],
  now: Date,
): Promise<boolean> {
  const held = await sql.query(
    `UPDATE bulk_batches SET status = 'sent', flushed_at = $3 WHERE id = $1 AND status = 'sending' AND attempts = $2
     RETURNING id`,
    [batch.id, batch.attempts, now.toISOString()],
  );
  if (held.length === 0) return false;
  await sql.query(
    `UPDATE messages SET status = 'sending', attempts = attempts + 1
     WHERE bulk_batch_id = $1 AND status = 'queued' AND id = ANY($2::uuid[])`,
    [batch.id, [...messageIds]],
  );
  return true;
}
