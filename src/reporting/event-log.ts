import type { Principal } from '../accounts/principal.js';
import { AppError } from '../errors.js';
import { writeLogEntries } from '../log/log-writer.js';
import { openOriginals, type SealedOriginalsRow } from '../privacy/sealed-originals.js';
import type { Vault } from '../privacy/vault.js';
import type { Database } from '../storage/database.js';
import { isUuid } from '../storage/ids.js';
import type { LogLevel, LogTag, StoredPrefill } from '../storage/schema.js';
import { EventAction, EventChannel } from '../timeline/event-numbers.js';
import type { EventLogFilter } from './event-log-filter.js';

/** The original module's LogMessage: what happened, its DIWEF level, and the failure behind it. */
export interface LogMessage {
  message: string;
  level: LogLevel;
  exception: string | null;
}

/** One DIWEF log entry in the shape of the original module's EventLog documents (tagged by component). */
export interface EventLogDocument {
  id: string;
  tokenId: null;
  deliveryWorkFlowId: null;
  dispatchId: string | null;
  batchId: string | null;
  user: null;
  location: null;
  created: string;
  updated: string;
  events: null;
  target: null;
  targetHashed: null;
  logMessage: LogMessage;
  tags: [LogTag];
}

/** One invitation in the shape of the original module's EventLog documents (tag "UserData"). */
export interface EventLogEntry {
  id: string;
  tokenId: string | null;
  deliveryWorkFlowId: string | null;
  dispatchId: string;
  batchId: string;
  user: null;
  location: 'Invitations';
  created: string;
  updated: string;
  state: string;
  recordIndex: number;
  events: {
    timeStamp: string;
    channel: number;
    action: number;
    message: string | null;
    targetId: string | null;
    eventStatus: null;
    logMessage: LogMessage | null;
  }[];
  target: string | null;
  targetHashed: string | null;
  prefills: { questionId: string; input: string; input_Hash: string }[];
  logMessage: null;
  tags: ['UserData'];
}

interface InvitationRecord extends SealedOriginalsRow {
  id: string;
  token: string | null;
  dispatch_id: string;
  delivery_policy_id: string | null;
  batch_id: string;
  state: string;
  record_index: number;
  target: string | null;
  prefills: StoredPrefill[];
  created_at: Date | string;
  updated_at: Date | string;
}

interface EventRecord {
  invitation_id: string;
  action: number;
  channel: number;
  message: string | null;
  log_message: string | null;
  target_id: string | null;
  level: LogLevel | null;
  occurred_at: Date | string;
}

const iso = (value: Date | string) => new Date(value).toISOString();

/**
 * Finds an account's invitations with their timelines. Hashed values are shown as stored; their
 * originals only when `includePii` is asked by an admin, and that access is itself logged.
 */
export async function queryEventLog(
  database: Database,
  vault: Vault,
  principal: Principal,
  filter: EventLogFilter,
): Promise<{ entries: (EventLogEntry | EventLogDocument)[]; total: number }> {
  if (filter.includePii && principal.role !== 'admin') {
    throw new AppError('FORBIDDEN', 'Only an admin may see original personal data (IncludePii).');
  }
  if (filter.dispatchId && !isUuid(filter.dispatchId)) return { entries: [], total: 0 };
  const invitations = await queryInvitations(database, vault, principal, filter);
  // Log entries follow the invitations, page after page; they carry no token, target or UUID.
  if (filter.token || filter.targets || filter.uuids) return invitations;
  const offset = Math.max(0, (filter.page - 1) * filter.pageSize - invitations.total);
  const room = filter.pageSize - invitations.entries.length;
  const logs = await queryLogDocuments(database, principal.accountId, filter, room, offset);
  return { entries: [...invitations.entries, ...logs.entries], total: invitations.total + logs.total };
}

/** The account's DIWEF log entries matching the filter's batch, dispatch and dates, oldest first. */
async function queryLogDocuments(
  database: Database,
  accountId: string,
  filter: EventLogFilter,
  limit: number,
  offset: number,
): Promise<{ entries: EventLogDocument[]; total: number }> {
  const where = `account_id = $1
       AND ($2::text IS NULL OR batch_id = $2)
       AND ($3::uuid IS NULL OR dispatch_id = $3)
       AND ($4::timestamptz IS NULL OR occurred_at >= $4)
       AND ($5::timestamptz IS NULL OR occurred_at < $5)`;
  const params = [
    accountId,
    filter.batchId ?? null,
    filter.dispatchId ?? null,
    filter.from?.toISOString() ?? null,
    filter.to?.toISOString() ?? null,
  ];
  const [counted] = await database.sql.query<{ total: string }>(
    `SELECT count(*) AS total FROM log_entries WHERE ${where}`,
    params,
  );
  const rows =
    limit <= 0
      ? []
      : await database.sql.query<{
          id: string | number;
          batch_id: string | null;
          dispatch_id: string | null;
          level: LogLevel;
          tag: LogTag;
          message: string;
          exception: string | null;
          occurred_at: Date | string;
        }>(
          `SELECT id, batch_id, dispatch_id, level, tag, message, exception, occurred_at FROM log_entries
           WHERE ${where} ORDER BY occurred_at, id LIMIT $6 OFFSET $7`,
          [...params, limit, offset],
        );
  const entries = rows.map((row): EventLogDocument => ({
    id: String(row.id),
    tokenId: null,
    deliveryWorkFlowId: null,
    dispatchId: row.dispatch_id,
    batchId: row.batch_id,
    user: null,
    location: null,
    created: iso(row.occurred_at),
    updated: iso(row.occurred_at),
    events: null,
    target: null,
    targetHashed: null,
    logMessage: { message: row.message, level: row.level, exception: row.exception },
    tags: [row.tag],
  }));
  return { entries, total: Number(counted?.total ?? 0) };
}

/** Invitations (the original's "UserData" documents) matching the filter, with their timelines. */
async function queryInvitations(
  database: Database,
  vault: Vault,
  principal: Principal,
  filter: EventLogFilter,
): Promise<{ entries: EventLogEntry[]; total: number }> {
  const where = `i.account_id = $1
       AND ($2::text IS NULL OR i.batch_id = $2)
       AND ($3::uuid IS NULL OR i.dispatch_id = $3)
       AND ($4::text IS NULL OR i.token = $4)
       AND ($5::text[] IS NULL OR i.target = ANY($5))
       AND ($6::text[] IS NULL OR i.uuid = ANY($6))
       AND ($7::timestamptz IS NULL OR i.created_at >= $7)
       AND ($8::timestamptz IS NULL OR i.created_at < $8)`;
  const params = [
    principal.accountId,
    filter.batchId ?? null,
    filter.dispatchId ?? null,
    filter.token ?? null,
    filter.targets ?? null,
    filter.uuids ?? null,
    filter.from?.toISOString() ?? null,
    filter.to?.toISOString() ?? null,
  ];
  const [counted] = await database.sql.query<{ total: string }>(
    `SELECT count(*) AS total FROM invitation_records i WHERE ${where}`,
    params,
  );
  const rows = await database.sql.query<InvitationRecord>(
    `SELECT i.id, i.account_id, i.token, i.dispatch_id, d.delivery_policy_id, i.batch_id, i.state, i.record_index,
            i.target, i.prefills, i.created_at, i.updated_at${filter.includePii ? ', i.sealed_originals, i.sealed_key_id' : ''}
     FROM invitation_records i LEFT JOIN dispatches d ON d.id = i.dispatch_id
     WHERE ${where}
     ORDER BY i.created_at, i.dispatch_id, i.record_index
     LIMIT $9 OFFSET $10`,
    [...params, filter.pageSize, (filter.page - 1) * filter.pageSize],
  );
  const events = await database.sql.query<EventRecord>(
    `SELECT invitation_id, action, channel, message, log_message, target_id, level, occurred_at
     FROM invitation_events WHERE invitation_id = ANY($1::uuid[]) ORDER BY id`,
    [rows.map((r) => r.id)],
  );
  const originals = filter.includePii
    ? await revealOriginals(database, vault, principal, rows)
    : new Map<string, string>();
  const byInvitation = new Map<string, EventRecord[]>();
  for (const event of events)
    byInvitation.set(event.invitation_id, [...(byInvitation.get(event.invitation_id) ?? []), event]);
  const entries = rows.map((row): EventLogEntry => {
    const timeline = row.state === 'requested' ? [requestedEvent(row)] : (byInvitation.get(row.id) ?? []);
    const hashedTarget = row.prefills.some((p) => p.hashed && p.input === row.target);
    return {
      id: row.id,
      tokenId: row.token,
      deliveryWorkFlowId: row.delivery_policy_id,
      dispatchId: row.dispatch_id,
      batchId: row.batch_id,
      user: null,
      location: 'Invitations',
      created: iso(row.created_at),
      updated: iso(row.updated_at),
      state: row.state,
      recordIndex: row.record_index,
      events: timeline.map((e) => ({
        timeStamp: iso(e.occurred_at),
        channel: e.channel,
        action: e.action,
        message: e.log_message !== null || !e.level ? e.message : null,
        // Hashed as stored; the original only for an admin who asked for personal data.
        targetId: (e.target_id && originals.get(e.target_id)) ?? e.target_id,
        eventStatus: null,
        logMessage: logMessageOf(e),
      })),
      target: (row.target && originals.get(row.target)) ?? row.target,
      targetHashed: hashedTarget ? row.target : null,
      prefills: row.prefills.map((p) => ({
        questionId: p.questionId,
        input: originals.get(p.input) ?? p.input,
        input_Hash: p.input,
      })),
      logMessage: null,
      tags: ['UserData'],
    };
  });
  return { entries, total: Number(counted?.total ?? 0) };
}

/** A timeline entry's LogMessage: its own log message, or its message when it has a level. */
function logMessageOf(e: EventRecord): LogMessage | null {
  const message = e.log_message ?? e.message;
  return e.level && message ? { message, level: e.level, exception: null } : null;
}

/**
 * The Requested entry of an invitation still waiting for its token: the token job writes it, dated
 * at acceptance, together with the token; until then the pending invitation stands for it.
 */
function requestedEvent(row: InvitationRecord): EventRecord {
  return {
    invitation_id: row.id,
    action: EventAction.Requested,
    channel: EventChannel.DispatchAPI,
    message: null,
    log_message: null,
    target_id: null,
    level: null,
    occurred_at: row.created_at,
  };
}

async function revealOriginals(
  database: Database,
  vault: Vault,
  principal: Principal,
  rows: InvitationRecord[],
): Promise<Map<string, string>> {
  const who = principal.userId ? `user ${principal.userId}` : `API key ${principal.apiKeyId}`;
  await writeLogEntries(database.sql, [
    {
      accountId: principal.accountId,
      tag: 'Account',
      level: 'Information',
      message: `Original personal data of ${rows.length} invitations was shown to ${who} (EventLog, IncludePii)`,
    },
  ]);
  return new Map(rows.flatMap((row) => [...openOriginals(vault, row)]));
}
