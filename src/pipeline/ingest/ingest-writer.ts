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

export interface VaultRow {
  valueHash: string;
  sealed: Buffer;
  keyId: string;
}

/** Everything one request writes, in one transaction. */
export interface IngestWrite {
  accountId: string;
  batchId: string;
  invitations: InvitationRow[];
  events: EventRow[];
  logs: LogRow[];
  vault: VaultRow[];
}

// Bulk paths use INSERT … SELECT FROM unnest(arrays): one statement per table whatever the row
// count, 5–10× faster than row-by-row inserts on both PostgreSQL and PGlite.
export async function writeIngest(sql: SqlExecutor, w: IngestWrite): Promise<void> {
  await sql.query('INSERT INTO batches (account_id, id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    w.accountId,
    w.batchId,
  ]);
  if (w.invitations.length > 0) {
    const i = w.invitations;
    await sql.query(
      `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language, prefills)
       SELECT id, $1, $2, dispatch_id, record_index, state, uuid, channel, target, language, prefills::jsonb
       FROM unnest($3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
         AS x(id, dispatch_id, record_index, state, uuid, channel, target, language, prefills)`,
      [
        w.accountId,
        w.batchId,
        i.map((r) => r.id),
        i.map((r) => r.dispatchId),
        i.map((r) => r.recordIndex),
        i.map((r) => r.state),
        i.map((r) => r.uuid),
        i.map((r) => r.channel),
        i.map((r) => r.target),
        i.map((r) => r.language),
        i.map((r) => JSON.stringify(r.prefills)),
      ],
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
  if (w.vault.length > 0) {
    const v = w.vault;
    await sql.query(
      `INSERT INTO pii_vault (account_id, value_hash, sealed, key_id)
       SELECT $1, value_hash, sealed, key_id FROM unnest($2::text[], $3::bytea[], $4::text[]) AS x(value_hash, sealed, key_id)
       ON CONFLICT (account_id, value_hash) DO NOTHING`,
      [w.accountId, v.map((r) => r.valueHash), v.map((r) => r.sealed), v.map((r) => r.keyId)],
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
