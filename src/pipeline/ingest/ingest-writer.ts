import { writeLogEntries, type LogEntry } from '../../log/log-writer.js';
import type { SqlExecutor } from '../../storage/database.js';
import type { Channel, InvitationState, PendingInvitation, StoredPrefill } from '../../storage/schema.js';
import { writeTimelineEntries, type TimelineEntry } from '../../timeline/timeline-writer.js';

/** A record refused at ingest: it becomes an invitation row at once, in its final state. */
export interface RefusedRow {
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

/** Accepted invitations of one dispatch, at most one token batch, waiting for their tokens. */
export interface PendingGroup {
  dispatchId: string;
  invitations: PendingInvitation[];
}

/** Everything one request writes, in one transaction. */
export interface IngestWrite {
  accountId: string;
  batchId: string;
  pending: PendingGroup[];
  refused: RefusedRow[];
  /** The refused records' timeline entries, of this account. */
  events: Omit<TimelineEntry, 'accountId'>[];
  /** Log entries of this account and batch. */
  logs: Omit<LogEntry, 'accountId' | 'batchId' | 'tag'>[];
}

/** Pending groups per INSERT: three parameters each, well under PostgreSQL's 65,535. */
const GROUPS_PER_STATEMENT = 1000;

export async function writeIngest(sql: SqlExecutor, w: IngestWrite): Promise<void> {
  await sql.query('INSERT INTO batches (account_id, id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    w.accountId,
    w.batchId,
  ]);
  for (let first = 0; first < w.pending.length; first += GROUPS_PER_STATEMENT) {
    await writePendingGroups(sql, w, w.pending.slice(first, first + GROUPS_PER_STATEMENT));
  }
  if (w.refused.length > 0) {
    // One JSON array expanded by json_to_recordset: unnest's array literals are escaped value by
    // value in JavaScript, about twice as slow on PGlite.
    const rows = w.refused.map((r) => ({
      id: r.id,
      dispatch_id: r.dispatchId,
      record_index: r.recordIndex,
      state: r.state,
      uuid: r.uuid,
      channel: r.channel,
      target: r.target,
      language: r.language,
      prefills: r.prefills,
    }));
    await sql.query(
      `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language, prefills)
       SELECT id, $1, $2, dispatch_id, record_index, state, uuid, channel, target, language, prefills
       FROM json_to_recordset($3::json) AS x(id uuid, dispatch_id uuid, record_index int, state text, uuid text,
         channel text, target text, language text, prefills jsonb)`,
      [w.accountId, w.batchId, JSON.stringify(rows)],
    );
  }
  await writeTimelineEntries(
    sql,
    w.events.map((e) => ({ ...e, accountId: w.accountId })),
  );
  await writeLogEntries(
    sql,
    w.logs.map((l) => ({ ...l, tag: 'DispatchAPI' as const, accountId: w.accountId, batchId: w.batchId })),
  );
}

// Each group's JSON is a parameter of its own: one array parameter holding them all would be
// escaped in JavaScript and parsed back as an array literal, twice as slow for megabytes of text.
async function writePendingGroups(sql: SqlExecutor, w: IngestWrite, groups: PendingGroup[]): Promise<void> {
  const values = groups.map((_, g) => `($1, $2, $${3 * g + 3}, $${3 * g + 4}, $${3 * g + 5})`);
  await sql.query(
    `INSERT INTO pending_invitations (account_id, batch_id, dispatch_id, invitation_count, invitations)
     VALUES ${values.join(', ')}`,
    [
      w.accountId,
      w.batchId,
      ...groups.flatMap((g) => [g.dispatchId, g.invitations.length, JSON.stringify(g.invitations)]),
    ],
  );
}
