import { notFound } from '../../errors.js';
import type { SqlExecutor } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

/** One attempt to post a delivery: what the endpoint answered and how long it took. */
export interface DeliveryAttempt {
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
}

/** One event for one subscription, with its attempts: the delivery log a person reads. */
export interface DeliveryRecord {
  id: number;
  eventId: string;
  eventSubType: string;
  invitationId: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  attemptLog: DeliveryAttempt[];
}

async function assertOwnSubscription(sql: SqlExecutor, accountId: string, subscriptionId: string): Promise<void> {
  const found = isUuid(subscriptionId)
    ? await sql.query('SELECT 1 FROM webhook_subscriptions WHERE id = $1 AND account_id = $2', [
        subscriptionId,
        accountId,
      ])
    : [];
  if (found.length === 0) throw notFound('Webhook subscription', subscriptionId);
}

const toDate = (value: Date | string | null) => (value === null ? null : new Date(value));

/**
 * A subscription's deliveries, newest first, each with its attempts; `beforeId` pages back. Only
 * hashes and ids: the payload itself is not repeated here.
 */
export async function listDeliveries(
  sql: SqlExecutor,
  accountId: string,
  subscriptionId: string,
  options: { status?: DeliveryStatus; limit: number; beforeId?: number },
): Promise<DeliveryRecord[]> {
  await assertOwnSubscription(sql, accountId, subscriptionId);
  const rows = await sql.query<{
    id: string | number;
    event_id: string;
    event_sub_type: string;
    invitation_id: string | null;
    status: DeliveryStatus;
    attempts: number;
    next_attempt_at: Date | string;
    last_status_code: number | null;
    last_error: string | null;
    delivered_at: Date | string | null;
    created_at: Date | string;
  }>(
    `SELECT id, event_id, payload->>'eventSubType' AS event_sub_type, invitation_id, status, attempts, next_attempt_at,
            last_status_code, last_error, delivered_at, created_at
     FROM webhook_deliveries
     WHERE subscription_id = $1 AND account_id = $2 AND ($3::text IS NULL OR status = $3) AND ($4::bigint IS NULL OR id < $4)
     ORDER BY id DESC LIMIT $5`,
    [subscriptionId, accountId, options.status ?? null, options.beforeId ?? null, options.limit],
  );
  const ids = rows.map((r) => String(r.id));
  const attempts =
    ids.length === 0
      ? []
      : await sql.query<{
          delivery_id: string | number;
          attempted_at: Date | string;
          status_code: number | null;
          latency_ms: number | null;
          error: string | null;
        }>(
          `SELECT delivery_id, attempted_at, status_code, latency_ms, error FROM webhook_attempts
           WHERE delivery_id = ANY($1::bigint[]) ORDER BY id`,
          [ids],
        );
  const byDelivery = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) {
    const list = byDelivery.get(String(a.delivery_id)) ?? [];
    list.push({
      attemptedAt: new Date(a.attempted_at),
      statusCode: a.status_code,
      latencyMs: a.latency_ms,
      error: a.error,
    });
    byDelivery.set(String(a.delivery_id), list);
  }
  return rows.map((r) => ({
    id: Number(r.id),
    eventId: r.event_id,
    eventSubType: r.event_sub_type,
    invitationId: r.invitation_id,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? new Date(r.next_attempt_at) : null,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    deliveredAt: toDate(r.delivered_at),
    createdAt: new Date(r.created_at),
    attemptLog: byDelivery.get(String(r.id)) ?? [],
  }));
}

/**
 * Puts dead-lettered deliveries (the given ones, or all of the subscription's) back in the queue
 * with the same event id, so a receiver that did get one before can tell. Their retry horizon
 * starts again now. They go out while the subscription is active.
 */
export async function replayDeadLetters(
  sql: SqlExecutor,
  accountId: string,
  subscriptionId: string,
  ids: readonly number[] | undefined,
  now: Date,
): Promise<number> {
  await assertOwnSubscription(sql, accountId, subscriptionId);
  const replayed = await sql.query(
    `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $4, created_at = $4, claimed_at = NULL
     WHERE subscription_id = $1 AND account_id = $2 AND status = 'dead' AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
     RETURNING id`,
    [subscriptionId, accountId, ids ? ids.map(String) : null, now.toISOString()],
  );
  return replayed.length;
}
