import type { SqlExecutor } from '../storage/database.js';
import type { LogLevel, LogTag } from '../storage/schema.js';

/** One DIWEF log entry: ids and hashes only, never personal data. */
export interface LogEntry {
  accountId: string;
  level: LogLevel;
  /** The component writing it (the original module's EventLog tag). */
  tag: LogTag;
  message: string;
  /** The failure behind it, in more detail than the message. */
  exception?: string | null;
  dispatchId?: string | null;
  batchId?: string | null;
  /** The file upload an initiator entry is about. */
  uploadId?: string | null;
  /** When it happened; the transaction's time when omitted. */
  occurredAt?: Date | null;
}

/** The one way entries reach `log_entries`: one statement for any number of entries. */
export async function writeLogEntries(sql: SqlExecutor, entries: readonly LogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await sql.query(
    `INSERT INTO log_entries (account_id, batch_id, dispatch_id, level, message, occurred_at, upload_id, tag, exception)
     SELECT account_id, batch_id, dispatch_id, level, message, COALESCE(occurred_at, now()), upload_id, tag, exception
     FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::uuid[],
                 $8::text[], $9::text[])
       AS x(account_id, batch_id, dispatch_id, level, message, occurred_at, upload_id, tag, exception)`,
    [
      entries.map((e) => e.accountId),
      entries.map((e) => e.batchId ?? null),
      entries.map((e) => e.dispatchId ?? null),
      entries.map((e) => e.level),
      entries.map((e) => e.message),
      entries.map((e) => e.occurredAt?.toISOString() ?? null),
      entries.map((e) => e.uploadId ?? null),
      entries.map((e) => e.tag),
      entries.map((e) => e.exception ?? null),
    ],
  );
}
