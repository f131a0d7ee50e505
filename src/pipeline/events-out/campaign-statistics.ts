import type { SqlExecutor } from '../../storage/database.js';
import { EventAction } from '../../timeline/event-numbers.js';

/**
 * Where a dispatch stands, as the campaign reporter tells it: paused (it or its policy), sending
 * (tokens to create or messages due or going out now) or live (nothing due now — later reminders
 * or send-window openings may still come).
 */
export type DispatchState = 'live' | 'paused' | 'sending';

/** A change the reporter posts: after the original's loaded / started / stopped group states. */
export type DispatchChange = 'live' | 'paused' | 'resumed' | 'sending_started' | 'drained';

export interface DispatchActivity {
  id: string;
  name: string;
  state: DispatchState;
  /** The state last reported, or null for a dispatch the reporter has not seen yet. */
  previous: DispatchState | null;
}

/** Counts of one dispatch's invitations, each counted once per step it reached. */
export interface DispatchStatistics {
  /** Every record received. */
  requested: number;
  rejected: number;
  throttled: number;
  suppressed: number;
  tokensCreated: number;
  /** Invitations with a message waiting to go out (first or reminder). */
  scheduled: number;
  sent: number;
  delivered: number;
  read: number;
  bounced: number;
  /** Invitations with a message that failed for good. */
  failed: number;
  answered: number;
  completed: number;
}

export type StatisticName = keyof DispatchStatistics;

/** Each count but `requested` as a share of `requested` (0–1, four decimals). */
export function ratesOf(statistics: DispatchStatistics): Partial<Record<StatisticName, number>> {
  const rates: Partial<Record<StatisticName, number>> = {};
  for (const [name, count] of Object.entries(statistics) as [StatisticName, number][]) {
    if (name === 'requested') continue;
    rates[name] = statistics.requested > 0 ? Math.round((count / statistics.requested) * 10_000) / 10_000 : 0;
  }
  return rates;
}

/** The current and last reported state of each of an account's dispatches. */
export async function dispatchActivity(sql: SqlExecutor, accountId: string, now: Date): Promise<DispatchActivity[]> {
  const dispatches = await sql.query<{
    id: string;
    name: string;
    paused: boolean;
    tokens_pending: boolean;
    previous: string | null;
  }>(
    `SELECT d.id, d.name, d.paused OR COALESCE(p.paused, false) AS paused,
            EXISTS (SELECT 1 FROM pending_invitations p WHERE p.dispatch_id = d.id) AS tokens_pending,
            s.state AS previous
     FROM dispatches d
     LEFT JOIN delivery_policies p ON p.id = d.delivery_policy_id
     LEFT JOIN dispatch_states s ON s.dispatch_id = d.id
     WHERE d.account_id = $1 ORDER BY d.created_at, d.id`,
    [accountId],
  );
  // One pass over the due index for all the account's dispatches (messages have no dispatch index).
  const due = await sql.query<{ dispatch_id: string }>(
    `SELECT DISTINCT dispatch_id FROM messages
     WHERE account_id = $1 AND (status IN ('sending', 'queued')
       OR (status IN ('scheduled', 'rate_limited', 'manual_retry') AND due_at <= $2))`,
    [accountId, now.toISOString()],
  );
  const busy = new Set(due.map((d) => d.dispatch_id));
  return dispatches.map((d) => ({
    id: d.id,
    name: d.name,
    state: d.paused ? 'paused' : d.tokens_pending || busy.has(d.id) ? 'sending' : 'live',
    previous: (d.previous as DispatchState | null) ?? null,
  }));
}

/** The changes to post when a dispatch went from `previous` to `state`, in the order they happened. */
export function changesOf(previous: DispatchState | null, state: DispatchState): DispatchChange[] {
  if (previous === state) return [];
  if (state === 'paused') return ['paused'];
  const changes: DispatchChange[] = [];
  if (previous === null) changes.push('live');
  if (previous === 'paused') changes.push('resumed');
  if (state === 'sending') changes.push('sending_started');
  if (previous === 'sending' && state === 'live') changes.push('drained');
  return changes;
}

const zero = (): DispatchStatistics => ({
  requested: 0,
  rejected: 0,
  throttled: 0,
  suppressed: 0,
  tokensCreated: 0,
  scheduled: 0,
  sent: 0,
  delivered: 0,
  read: 0,
  bounced: 0,
  failed: 0,
  answered: 0,
  completed: 0,
});

/**
 * The statistics of some dispatches: invitation states and response times from invitations (and
 * those still waiting for tokens),
 * message outcomes from messages, delivery receipts (delivered, read, bounced) from the timeline.
 * Each count is of invitations, so rates stay between 0 and 1 whatever the reminders.
 */
export async function dispatchStatistics(
  sql: SqlExecutor,
  dispatchIds: readonly string[],
): Promise<Map<string, DispatchStatistics>> {
  const result = new Map(dispatchIds.map((id) => [id, zero()]));
  if (dispatchIds.length === 0) return result;
  const ids = [...dispatchIds];
  const n = (value: unknown) => Number(value ?? 0);
  const invitationCounts = await sql.query<Record<string, unknown>>(
    `SELECT dispatch_id, count(*) AS requested,
            count(*) FILTER (WHERE state = 'rejected') AS rejected,
            count(*) FILTER (WHERE state = 'throttled') AS throttled,
            count(*) FILTER (WHERE state = 'suppressed') AS suppressed,
            count(token) AS tokens_created, count(answered_at) AS answered, count(completed_at) AS completed
     FROM invitations WHERE dispatch_id = ANY($1::uuid[]) GROUP BY dispatch_id`,
    [ids],
  );
  for (const r of invitationCounts) {
    const s = result.get(String(r.dispatch_id));
    if (!s) continue;
    Object.assign(s, {
      requested: n(r.requested),
      rejected: n(r.rejected),
      throttled: n(r.throttled),
      suppressed: n(r.suppressed),
      tokensCreated: n(r.tokens_created),
      answered: n(r.answered),
      completed: n(r.completed),
    });
  }
  const pendingCounts = await sql.query<{ dispatch_id: string; pending: string }>(
    `SELECT dispatch_id, sum(invitation_count) AS pending FROM pending_invitations
     WHERE dispatch_id = ANY($1::uuid[]) GROUP BY dispatch_id`,
    [ids],
  );
  for (const r of pendingCounts) {
    const s = result.get(r.dispatch_id);
    if (s) s.requested += n(r.pending);
  }
  // Through invitations: messages have no index on dispatch_id, invitations do.
  const messageCounts = await sql.query<Record<string, unknown>>(
    `SELECT i.dispatch_id,
            count(DISTINCT m.invitation_id) FILTER (WHERE m.status IN ('scheduled', 'rate_limited', 'manual_retry', 'queued', 'sending')) AS scheduled,
            count(DISTINCT m.invitation_id) FILTER (WHERE m.status IN ('sent', 'delivered', 'read', 'bounced')) AS sent,
            count(DISTINCT m.invitation_id) FILTER (WHERE m.status = 'error') AS failed
     FROM invitations i JOIN messages m ON m.invitation_id = i.id
     WHERE i.dispatch_id = ANY($1::uuid[]) GROUP BY i.dispatch_id`,
    [ids],
  );
  for (const r of messageCounts) {
    const s = result.get(String(r.dispatch_id));
    if (s) Object.assign(s, { scheduled: n(r.scheduled), sent: n(r.sent), failed: n(r.failed) });
  }
  const receiptCounts = await sql.query<Record<string, unknown>>(
    `SELECT i.dispatch_id,
            count(DISTINCT e.invitation_id) FILTER (WHERE e.action = $2) AS delivered,
            count(DISTINCT e.invitation_id) FILTER (WHERE e.action = $3) AS read,
            count(DISTINCT e.invitation_id) FILTER (WHERE e.action = $4) AS bounced
     FROM invitations i JOIN invitation_events e ON e.invitation_id = i.id
     WHERE i.dispatch_id = ANY($1::uuid[]) AND e.action IN ($2, $3, $4)
     GROUP BY i.dispatch_id`,
    [ids, EventAction.Delivered, EventAction.Read, EventAction.Bounced],
  );
  for (const r of receiptCounts) {
    const s = result.get(String(r.dispatch_id));
    if (s) Object.assign(s, { delivered: n(r.delivered), read: n(r.read), bounced: n(r.bounced) });
  }
  return result;
}
