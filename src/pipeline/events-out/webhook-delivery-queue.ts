import { writeLogEntries } from '../../log/log-writer.js';
import type { SqlExecutor } from '../../storage/database.js';
import type { EventEnvelope } from './envelope.js';

/** A delivery claimed for sending, with what its subscription needs to sign and address it. */
export interface ClaimedDelivery {
  id: number;
  subscriptionId: string;
  accountId: string;
  eventId: string;
  invitationId: string | null;
  payload: EventEnvelope;
  /** Attempts made before this one. */
  attempts: number;
  /** When the delivery (re-)entered the queue: its retry horizon counts from here. */
  since: Date;
}

/** How many more deliveries this process may claim, per subscription and in all. */
export interface ClaimLimits {
  /** Claim at most this many in all. */
  total: number;
  /** Default room per subscription. */
  perSubscription: number;
  /** Subscriptions with less room (some of theirs are queued or in flight here), and how much they have. */
  partial: ReadonlyMap<string, number>;
  /** Subscriptions with no room: not even looked at, so their backlog never crowds out others. */
  full: readonly string[];
}

/**
 * Claims due deliveries: pending, due, of an active subscription, not claimed (or claimed so long
 * ago that their sender must have died), and the oldest pending delivery of their invitation for
 * their subscription — so one invitation has at most one delivery in flight per subscription and
 * its events arrive in order. At most `limits.perSubscription` (or the partial room) per
 * subscription. The claim commits at once; the outcome is written by recordDeliveryOutcomes().
 */
export async function claimDueDeliveries(
  sql: SqlExecutor,
  now: Date,
  staleBefore: Date,
  limits: ClaimLimits,
): Promise<ClaimedDelivery[]> {
  if (limits.total <= 0) return [];
  const partial = [...limits.partial];
  // SKIP LOCKED: several processes claim disjoint deliveries without waiting on each other.
  const rows = await sql.query<{
    id: string | number;
    subscription_id: string;
    account_id: string;
    event_id: string;
    invitation_id: string | null;
    payload: EventEnvelope | string;
    attempts: number;
    created_at: Date | string;
  }>(
    `WITH due AS (
       SELECT d.id, d.subscription_id, d.next_attempt_at FROM webhook_deliveries d
       JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.status = 'active'
       WHERE d.status = 'pending' AND d.next_attempt_at <= $1
         AND (d.claimed_at IS NULL OR d.claimed_at < $2)
         AND NOT (d.subscription_id = ANY($3::uuid[]))
         AND NOT EXISTS (
           SELECT 1 FROM webhook_deliveries earlier
           WHERE earlier.subscription_id = d.subscription_id AND earlier.invitation_id = d.invitation_id
             AND earlier.status = 'pending' AND earlier.id < d.id)
       ORDER BY d.next_attempt_at, d.id
       LIMIT $4
       FOR UPDATE OF d SKIP LOCKED
     ), ranked AS (
       SELECT due.id, due.subscription_id,
              row_number() OVER (PARTITION BY due.subscription_id ORDER BY due.next_attempt_at, due.id) AS n
       FROM due
     )
     UPDATE webhook_deliveries w SET claimed_at = $1
     FROM ranked r LEFT JOIN unnest($5::uuid[], $6::int[]) AS room(subscription_id, free)
       ON room.subscription_id = r.subscription_id
     WHERE w.id = r.id AND r.n <= COALESCE(room.free, $7)
     RETURNING w.id, w.subscription_id, w.account_id, w.event_id, w.invitation_id, w.payload, w.attempts, w.created_at`,
    [
      now.toISOString(),
      staleBefore.toISOString(),
      [...limits.full],
      limits.total,
      partial.map(([id]) => id),
      partial.map(([, free]) => free),
      limits.perSubscription,
    ],
  );
  return rows
    .map((r) => ({
      id: Number(r.id),
      subscriptionId: r.subscription_id,
      accountId: r.account_id,
      eventId: r.event_id,
      invitationId: r.invitation_id,
      payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as EventEnvelope,
      attempts: r.attempts,
      since: new Date(r.created_at),
    }))
    .sort((a, b) => a.id - b.id);
}

/** What became of one attempt, ready to be written. */
export interface DeliveryOutcome {
  delivery: ClaimedDelivery;
  attemptedAt: Date;
  latencyMs: number;
  statusCode: number | null;
  /** Why it failed (timeout, connection refused, HTTP 500 …); null on success. */
  error: string | null;
  /** delivered, pending again at `nextAttemptAt`, or dead (past the retry horizon). */
  status: 'delivered' | 'pending' | 'dead';
  nextAttemptAt: Date | null;
}

/** A subscription disabled by recordDeliveryOutcomes(): it failed continuously for too long. */
export interface DisabledSubscription {
  id: string;
  accountId: string;
  reason: string;
}

/**
 * Writes a batch of outcomes in one transaction: each delivery's state, one attempt row each (the
 * delivery log), and each subscription's health — any success clears `failing_since`; only
 * failures start it; a subscription failing since before `disableBefore` is disabled, with an
 * Error log entry for its account saying why.
 */
export async function recordDeliveryOutcomes(
  sql: SqlExecutor,
  outcomes: readonly DeliveryOutcome[],
  now: Date,
  disableBefore: Date,
): Promise<DisabledSubscription[]> {
  if (outcomes.length === 0) return [];
  await sql.query(
    `UPDATE webhook_deliveries d SET status = x.status, attempts = d.attempts + 1, claimed_at = NULL,
       next_attempt_at = COALESCE(x.next_attempt_at, d.next_attempt_at), last_status_code = x.status_code,
       last_error = x.error, delivered_at = CASE WHEN x.status = 'delivered' THEN x.attempted_at END
     FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::int[], $5::text[], $6::timestamptz[])
       AS x(id, status, next_attempt_at, status_code, error, attempted_at)
     WHERE d.id = x.id`,
    [
      outcomes.map((o) => o.delivery.id),
      outcomes.map((o) => o.status),
      outcomes.map((o) => o.nextAttemptAt?.toISOString() ?? null),
      outcomes.map((o) => o.statusCode),
      outcomes.map((o) => o.error),
      outcomes.map((o) => o.attemptedAt.toISOString()),
    ],
  );
  await sql.query(
    `INSERT INTO webhook_attempts (delivery_id, subscription_id, attempted_at, status_code, latency_ms, error)
     SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::int[], $5::int[], $6::text[])`,
    [
      outcomes.map((o) => o.delivery.id),
      outcomes.map((o) => o.delivery.subscriptionId),
      outcomes.map((o) => o.attemptedAt.toISOString()),
      outcomes.map((o) => o.statusCode),
      outcomes.map((o) => Math.round(o.latencyMs)),
      outcomes.map((o) => o.error),
    ],
  );
  const healthy = new Set(outcomes.filter((o) => o.status === 'delivered').map((o) => o.delivery.subscriptionId));
  const failing = new Map<string, DeliveryOutcome>();
  for (const o of outcomes) {
    if (o.status !== 'delivered' && !healthy.has(o.delivery.subscriptionId)) failing.set(o.delivery.subscriptionId, o);
  }
  if (healthy.size > 0) {
    await sql.query(
      `UPDATE webhook_subscriptions SET failing_since = NULL WHERE id = ANY($1::uuid[]) AND failing_since IS NOT NULL`,
      [[...healthy]],
    );
  }
  if (failing.size === 0) return [];
  const firstFailure = [...failing.values()].map((o) => o.attemptedAt.toISOString());
  const disabled = await sql.query<{ id: string; account_id: string; failing_since: Date | string }>(
    `WITH marked AS (
       UPDATE webhook_subscriptions s SET failing_since = COALESCE(s.failing_since, x.first_failure)
       FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, first_failure)
       WHERE s.id = x.id AND s.status = 'active'
       RETURNING s.id, s.account_id, s.failing_since)
     SELECT id, account_id, failing_since FROM marked WHERE failing_since < $3`,
    [[...failing.keys()], firstFailure, disableBefore.toISOString()],
  );
  if (disabled.length === 0) return [];
  const result = disabled.map((d) => {
    const last = failing.get(d.id);
    const lastError = last?.error ?? 'unknown error';
    return {
      id: d.id,
      accountId: d.account_id,
      reason:
        `Every delivery since ${new Date(d.failing_since).toISOString()} failed (last: ${lastError}); ` +
        `disabled at ${now.toISOString()}. Its pending deliveries wait: fix the endpoint, then re-enable it ` +
        `with PATCH /api/webhooks/${d.id} {"status": "active"}.`,
    };
  });
  await sql.query(
    `UPDATE webhook_subscriptions s SET status = 'disabled', disabled_reason = x.reason
     FROM unnest($1::uuid[], $2::text[]) AS x(id, reason) WHERE s.id = x.id`,
    [result.map((d) => d.id), result.map((d) => d.reason)],
  );
  await writeLogEntries(
    sql,
    result.map((d) => ({
      accountId: d.accountId,
      tag: 'Account' as const,
      level: 'Error' as const,
      message: `Webhook subscription ${d.id} disabled: ${d.reason}`,
      occurredAt: now,
    })),
  );
  return result;
}

/** Gives back claims whose request never finished (the process is stopping): no attempt is counted. */
export async function releaseClaims(sql: SqlExecutor, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql.query(
    `UPDATE webhook_deliveries SET claimed_at = NULL WHERE id = ANY($1::bigint[]) AND status = 'pending'`,
    [[...ids]],
  );
}
