import type { SqlExecutor } from '../../storage/database.js';
import type { Channel } from '../../storage/schema.js';
import { EventAction, eventChannelOf } from '../../timeline/event-numbers.js';
import { writeTimelineEntries } from '../../timeline/timeline-writer.js';

export interface StaleClaimOptions {
  /** A stale message claimed this often already is not sent again: it is marked Error as stuck. */
  maxAttempts: number;
}

/** The message a stuck message's Error carries. */
export function stuckMessage(attempts: number): string {
  return (
    `Stuck: claimed for sending ${attempts} times without an outcome (the process sending it stopped each time, ` +
    `or took longer than HERALD_SEND_CLAIM_TIMEOUT_MS). Herald stopped trying: check the logs of the workers around ` +
    `the last attempt, then retry the message.`
  );
}

/**
 * Puts messages whose sender died mid-send (claimed before `now − timeoutMs`) back in line, in the
 * caller's transaction. A message whose claims already used `maxAttempts` attempts is marked Error
 * instead, with its timeline entries: one bad row is not sent again every claim timeout forever.
 */
export async function recoverStaleClaims(
  sql: SqlExecutor,
  now: Date,
  timeoutMs: number,
  options: StaleClaimOptions,
): Promise<{ requeued: number; stuck: number }> {
  const at = now.toISOString();
  const rows = await sql.query<{
    id: string;
    account_id: string;
    invitation_id: string;
    channel: Channel;
    attempts: number;
    status: string;
  }>(
    `WITH stale AS (
       SELECT id FROM messages WHERE status = 'sending' AND claimed_at < $2 FOR UPDATE SKIP LOCKED)
     UPDATE messages m SET
       status = CASE WHEN m.attempts >= $3 THEN 'error' ELSE 'scheduled' END,
       due_at = CASE WHEN m.attempts >= $3 THEN m.due_at ELSE $1 END,
       error_category = CASE WHEN m.attempts >= $3 THEN 'unknown' ELSE m.error_category END,
       error_code = CASE WHEN m.attempts >= $3 THEN 'stuck' ELSE m.error_code END,
       error_message = CASE WHEN m.attempts >= $3 THEN NULL ELSE m.error_message END,
       status_updated_at = CASE WHEN m.attempts >= $3 THEN $1 ELSE m.status_updated_at END,
       claimed_at = NULL, updated_at = $1
     FROM stale WHERE m.id = stale.id
     RETURNING m.id, m.account_id, m.invitation_id, m.channel, m.attempts, m.status`,
    [at, new Date(now.getTime() - timeoutMs).toISOString(), options.maxAttempts],
  );
  const stuck = rows.filter((r) => r.status === 'error');
  if (stuck.length > 0) {
    await sql.query(
      `UPDATE messages m SET error_message = x.message FROM unnest($1::uuid[], $2::text[]) AS x(id, message)
       WHERE m.id = x.id`,
      [stuck.map((r) => r.id), stuck.map((r) => stuckMessage(r.attempts))],
    );
    await writeTimelineEntries(
      sql,
      stuck.flatMap((r) => {
        const base = { accountId: r.account_id, invitationId: r.invitation_id, channel: eventChannelOf(r.channel) };
        return [
          {
            ...base,
            action: EventAction.Error,
            message: stuckMessage(r.attempts),
            level: 'Error' as const,
            occurredAt: now,
          },
          {
            ...base,
            action: EventAction.DispatchUnsuccessful,
            message: 'Failed at dispatch: stuck',
            level: 'Error' as const,
            occurredAt: now,
          },
        ];
      }),
    );
  }
  return { requeued: rows.length - stuck.length, stuck: stuck.length };
}
