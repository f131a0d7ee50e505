import { createApiKey } from '../../src/accounts/api-keys.js';
import type { Database } from '../../src/storage/database.js';
import type { Role, StoredPrefill } from '../../src/storage/schema.js';
import { apiRequest, type Answer } from './api-client.js';
import type { SeededDispatch } from './platform.js';

/** One prefill as a client sends it. */
export interface Prefill {
  questionId: string;
  input: string;
}

/** The multi-status answer of POST /api/dispatchRequest. */
export interface MultiStatus {
  batchId: string;
  statusByDispatch: { dispatchId: string; message: string; dispatchStatus: number }[];
}

/** POST /api/dispatchRequest with a JSON body (or raw text) and optional headers (e.g. BatchID). */
export function postDispatchRequest<T = MultiStatus>(
  herald: { url: string },
  token: string | undefined,
  body: { json: unknown } | { raw: string },
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  return apiRequest<T>(herald.url, '/api/dispatchRequest', { method: 'POST', token, headers, ...body });
}

/** A record for a seeded dispatch: the UUID and any other seeded questions by their key. */
export function recordOf(
  seeded: SeededDispatch,
  values: Partial<Record<keyof SeededDispatch['q'], string>>,
  extra: Prefill[] = [],
): Prefill[] {
  const entries = Object.entries(values) as [keyof SeededDispatch['q'], string][];
  return [...entries.map(([key, input]) => ({ questionId: seeded.q[key], input })), ...extra];
}

/** An API key of `role` for an existing account. */
export async function keyFor(database: Database, accountId: string, role: Role): Promise<string> {
  const { key } = await createApiKey(database.db, { accountId, name: `${role}-key`, role });
  return key;
}

export interface InvitationRow {
  id: string;
  batch_id: string;
  dispatch_id: string;
  record_index: number;
  state: string;
  uuid: string | null;
  channel: string | null;
  target: string | null;
  language: string | null;
  prefills: StoredPrefill[];
  token: string | null;
}

/** An account's invitations, pending their tokens or not (of one batch when given), in request order. */
export function invitationRows(database: Database, accountId: string, batchId?: string): Promise<InvitationRow[]> {
  return database.sql.query<InvitationRow>(
    `SELECT id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language, prefills, token
     FROM invitation_records WHERE account_id = $1 AND ($2::text IS NULL OR batch_id = $2)
     ORDER BY created_at, dispatch_id, record_index`,
    [accountId, batchId ?? null],
  );
}

export interface EventRow {
  invitation_id: string;
  action: number;
  channel: number;
  message: string | null;
  target_id: string | null;
  level: string | null;
}

/** The timeline entries of some invitations, oldest first. */
export function eventRows(database: Database, invitationIds: readonly string[]): Promise<EventRow[]> {
  return database.sql.query<EventRow>(
    `SELECT invitation_id, action, channel, message, target_id, level FROM invitation_events
     WHERE invitation_id = ANY($1::uuid[]) ORDER BY id`,
    [[...invitationIds]],
  );
}

export interface LogRow {
  batch_id: string | null;
  dispatch_id: string | null;
  level: string;
  tag: string;
  message: string;
  exception: string | null;
}

/** An account's log entries (of one batch when given), oldest first. */
export function logRows(database: Database, accountId: string, batchId?: string): Promise<LogRow[]> {
  return database.sql.query<LogRow>(
    `SELECT batch_id, dispatch_id, level, tag, message, exception FROM log_entries
     WHERE account_id = $1 AND ($2::text IS NULL OR batch_id = $2) ORDER BY id`,
    [accountId, batchId ?? null],
  );
}

/** How many rows of each ingest table belong to an account (invitations pending their tokens included). */
export async function countAccountRows(
  database: Database,
  accountId: string,
): Promise<{ batches: number; invitations: number; events: number; logs: number; sealed: number }> {
  const [row] = await database.sql.query<Record<string, string | number>>(
    `SELECT (SELECT count(*) FROM batches WHERE account_id = $1) AS batches,
            (SELECT count(*) FROM invitation_records WHERE account_id = $1) AS invitations,
            (SELECT count(*) FROM invitation_events WHERE account_id = $1) AS events,
            (SELECT count(*) FROM log_entries WHERE account_id = $1) AS logs,
            (SELECT count(*) FROM invitation_records WHERE account_id = $1 AND sealed_originals IS NOT NULL) AS sealed`,
    [accountId],
  );
  return {
    batches: Number(row?.batches),
    invitations: Number(row?.invitations),
    events: Number(row?.events),
    logs: Number(row?.logs),
    sealed: Number(row?.sealed),
  };
}
