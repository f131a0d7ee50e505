import type { Principal } from '../accounts/principal.js';
import { AppError } from '../errors.js';
import { writeLogEntries } from '../log/log-writer.js';
import { openOriginals, type SealedOriginalsRow } from '../privacy/sealed-originals.js';
import type { Vault } from '../privacy/vault.js';
import type { Database } from '../storage/database.js';
import { isUuid } from '../storage/ids.js';
import type { LogLevel, StoredPrefill } from '../storage/schema.js';
import { EventAction, EventChannel } from '../timeline/event-numbers.js';
import type { EventLogFilter } from './event-log-filter.js';

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
    logMessage: { message: string; level: LogLevel; exception: null } | null;
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
): Promise<{ entries: EventLogEntry[]; total: number }> {
  if (filter.includePii && principal.role !== 'admin') {
    throw new AppError('FORBIDDEN', 'Only an admin may see original personal data (IncludePii).');
  }
  if (filter.dispatchId && !isUuid(filter.dispatchId)) return { entries: [], total: 0 };
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
    `SELECT invitation_id, action, channel, message, target_id, level, occurred_at
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
        message: e.level ? null : e.message,
        targetId: e.target_id,
        eventStatus: null,
        logMessage: e.level && e.message ? { message: e.message, level: e.level, exception: null } : null,
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
      level: 'Information',
      message: `Original personal data of ${rows.length} invitations was shown to ${who} (EventLog, IncludePii)`,
    },
  ]);
  return new Map(rows.flatMap((row) => [...openOriginals(vault, row)]));
}
