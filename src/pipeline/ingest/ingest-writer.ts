import type { SqlExecutor } from '../../storage/database.js';
import type { Channel, InvitationState, LogLevel, StoredPrefill } from '../../storage/schema.js';
import type { EventAction, EventChannel } from '../timeline.js';

export interface InvitationRow {
  id: string;
  dispatchId: string;
  recordIndex: number;
  state: InvitationState;
  uuid: string | null;
  channel: Channel;
  target: string | null;
  language: string;
  prefills: StoredPrefill[];
  /** The originals of its hashed prefills, sealed (accepted records only). */
  sealed: { sealed: Buffer; keyId: string } | null;
}

export interface EventRow {
  invitationId: string;
  action: EventAction;
  channel: EventChannel;
  message: string | null;
  level: LogLevel | null;
}

export interface LogRow {
  dispatchId: string | null;
  level: LogLevel;
  message: string;
}

/** Everything one request writes, in one transaction. */
export interface IngestWrite {
  accountId: string;
  batchId: string;
  invitations: InvitationRow[];
  events: EventRow[];
  logs: LogRow[];
}

// Invitations go in as one JSON array expanded by json_to_recordset: on PGlite as fast as COPY
// and about twice as fast as unnest(arrays), whose array literals are escaped value by value in
// JavaScript; on PostgreSQL on a par with both. The other tables are small: unnest.
export async function writeIngest(sql: SqlExecutor, w: IngestWrite): Promise<void> {
  await sql.query('INSERT INTO batches (account_id, id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    w.accountId,
    w.batchId,
  ]);
  if (w.invitations.length > 0) {
    const rows = w.invitations.map((r) => ({
      id: r.id,
      dispatch_id: r.dispatchId,
      record_index: r.recordIndex,
      state: r.state,
      uuid: r.uuid,
      channel: r.channel,
      target: r.target,
      language: r.language,
      prefills: r.prefills,
      sealed: r.sealed?.sealed.toString('base64') ?? null,
      key_id: r.sealed?.keyId ?? null,
    }));
    await sql.query(
      `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language,
                                prefills, sealed_originals, sealed_key_id)
       SELECT id, $1, $2, dispatch_id, record_index, state, uuid, channel, target, language,
              prefills, sealed, key_id
       FROM json_to_recordset($3::json) AS x(id uuid, dispatch_id uuid, record_index int, state text, uuid text,
         channel text, target text, language text, prefills jsonb, sealed text, key_id text)`,
      [w.accountId, w.batchId, JSON.stringify(rows)],
    );
  }
  if (w.events.length > 0) {
    const e = w.events;
    await sql.query(
      `INSERT INTO invitation_events (account_id, invitation_id, action, channel, message, level)
       SELECT $1, invitation_id, action, channel, message, level
       FROM unnest($2::uuid[], $3::smallint[], $4::smallint[], $5::text[], $6::text[])
         AS x(invitation_id, action, channel, message, level)`,
      [
        w.accountId,
        e.map((r) => r.invitationId),
        e.map((r) => r.action),
        e.map((r) => r.channel),
        e.map((r) => r.message),
        e.map((r) => r.level),
      ],
    );
  }
  if (w.logs.length > 0) {
    await sql.query(
      `INSERT INTO log_entries (account_id, batch_id, dispatch_id, level, message)
       SELECT $1, $2, dispatch_id, level, message FROM unnest($3::uuid[], $4::text[], $5::text[]) AS x(dispatch_id, level, message)`,
      [
        w.accountId,
        w.batchId,
        w.logs.map((l) => l.dispatchId),
        w.logs.map((l) => l.level),
        w.logs.map((l) => l.message),
      ],
    );
  }
}
