import type { SqlExecutor } from '../storage/database.js';
import type { LogLevel } from '../storage/schema.js';
import type { EventAction, EventChannel } from './event-numbers.js';

/** One step of an invitation's journey, as the event log shows it. */
export interface TimelineEntry {
  accountId: string;
  invitationId: string;
  action: EventAction;
  channel: EventChannel;
  message?: string | null;
  /** A log message beside `message` (DispatchSuccessful); otherwise `message` is the log message when `level` is set. */
  logMessage?: string | null;
  /** The token, or the hashed target of a send; never a plain address. */
  targetId?: string | null;
  level?: LogLevel | null;
  /** When it happened; the transaction's time when omitted. */
  occurredAt?: Date | null;
}

/**
 * The one way entries reach `invitation_events`: a single statement for any number of entries, so
 * bulk paths pay one round trip. The outbox trigger on that table turns them into events out.
 */
export async function writeTimelineEntries(sql: SqlExecutor, entries: readonly TimelineEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await sql.query(
    `INSERT INTO invitation_events (account_id, invitation_id, action, channel, message, target_id, level, occurred_at, log_message)
     SELECT account_id, invitation_id, action, channel, message, target_id, level, COALESCE(occurred_at, now()), log_message
     FROM unnest($1::uuid[], $2::uuid[], $3::smallint[], $4::smallint[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
                 $9::text[])
       AS x(account_id, invitation_id, action, channel, message, target_id, level, occurred_at, log_message)`,
    [
      entries.map((e) => e.accountId),
      entries.map((e) => e.invitationId),
      entries.map((e) => e.action),
      entries.map((e) => e.channel),
      entries.map((e) => e.message ?? null),
      entries.map((e) => e.targetId ?? null),
      entries.map((e) => e.level ?? null),
      entries.map((e) => e.occurredAt?.toISOString() ?? null),
      entries.map((e) => e.logMessage ?? null),
    ],
  );
}
