import { randomUUID } from 'node:crypto';
import type { Database, SqlExecutor } from '../../storage/database.js';
import type { HashAlgorithm, StoredPrefill } from '../../storage/schema.js';
import { EventAction, messageChannelOf } from '../../timeline/event-numbers.js';
import { channelNameOf, eventSubTypeOf, maskContacts, type EnvelopeData, type EventEnvelope } from './envelope.js';
import { hashedIdentifier } from '../../privacy/stored-identifiers.js';

/** A timeline event taken from the outbox. */
interface OutboxEvent {
  id: string | number;
  account_id: string;
  invitation_id: string;
  action: number;
  channel: number;
  message: string | null;
  target_id: string | null;
  occurred_at: Date;
}

/** What the envelope needs beyond the event: its invitation, account and message. */
interface EventDetails {
  id: string | number;
  dispatch_id: string;
  batch_id: string;
  token: string | null;
  uuid: string | null;
  target: string | null;
  prefills: StoredPrefill[];
  slug: string;
  hash_algorithm: HashAlgorithm;
  message_id: string | null;
  reminder_level: number | null;
  vendor_message_id: string | null;
  error_category: string | null;
  vendor_kind: string | null;
}

interface ActiveSubscription {
  id: string;
  account_id: string;
  event_types: string[];
  dispatch_ids: string[];
}

/** Events whose text explains a failure; other events' texts are progress notes, not sent. */
const explainsFailure = new Set<number>([
  EventAction.Rejected,
  EventAction.Error,
  EventAction.DispatchUnsuccessful,
  EventAction.RateLimited,
  EventAction.Bounced,
]);

// Any transaction-scoped advisory lock key Herald does not use elsewhere.
const RELAY_LOCK = 4_801_417;

/**
 * One step of the outbox relay: in one transaction, takes up to `limit` events from event_outbox
 * in id order, writes one webhook delivery per matching active subscription, and removes them from
 * the outbox — so an event reaches each subscription exactly once even if the process dies (the
 * transaction then rolls back and the next step takes the events again).
 *
 * One relay runs at a time across all processes (an advisory lock): with two, deliveries of one
 * invitation could be written out of order. Returns how many events it published.
 */
export async function relayEvents(database: Database, limit: number, now: Date): Promise<number> {
  return database.transaction(async ({ sql }) => {
    const [lock] = await sql.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [RELAY_LOCK]);
    if (!lock?.locked) return 0;
    // An event deleted since (its invitation was purged) leaves its outbox entry behind: the join drops it.
    const events = await sql.query<OutboxEvent>(
      `WITH batch AS (SELECT event_id FROM event_outbox ORDER BY event_id LIMIT $1),
       taken AS (DELETE FROM event_outbox o USING batch WHERE o.event_id = batch.event_id RETURNING o.event_id)
       SELECT e.id, e.account_id, e.invitation_id, e.action, e.channel, e.message, e.target_id, e.occurred_at
       FROM taken JOIN invitation_events e ON e.id = taken.event_id`,
      [limit],
    );
    if (events.length === 0) return 0;
    events.sort((a, b) => Number(a.id) - Number(b.id));
    const subscriptions = await sql.query<ActiveSubscription>(
      `SELECT id, account_id, event_types, dispatch_ids FROM webhook_subscriptions
       WHERE status = 'active' AND account_id = ANY($1::uuid[]) ORDER BY created_at, id`,
      [[...new Set(events.map((e) => e.account_id))]],
    );
    if (subscriptions.length > 0) await writeDeliveries(sql, events, subscriptions, now);
    return events.length;
  });
}

async function writeDeliveries(
  sql: SqlExecutor,
  allEvents: readonly OutboxEvent[],
  subscriptions: readonly ActiveSubscription[],
  now: Date,
): Promise<void> {
  const subscribed = new Set(subscriptions.map((s) => s.account_id));
  const events = allEvents.filter((e) => subscribed.has(e.account_id));
  const details = new Map((await eventDetails(sql, events)).map((d) => [String(d.id), d]));
  const rows: { subscriptionId: string; accountId: string; eventId: string; invitationId: string; payload: string }[] =
    [];
  for (const event of events) {
    const detail = details.get(String(event.id));
    if (!detail) continue; // its invitation was deleted meanwhile
    const envelope = buildEnvelope(event, detail);
    for (const s of subscriptions) {
      if (s.account_id !== event.account_id) continue;
      if (s.event_types.length > 0 && !s.event_types.includes(envelope.eventSubType)) continue;
      if (s.dispatch_ids.length > 0 && !s.dispatch_ids.includes(detail.dispatch_id)) continue;
      rows.push({
        subscriptionId: s.id,
        accountId: event.account_id,
        eventId: envelope.id,
        invitationId: event.invitation_id,
        payload: JSON.stringify(envelope),
      });
    }
  }
  if (rows.length === 0) return;
  // WITH ORDINALITY … ORDER BY: delivery ids follow event order, which is what the sender's
  // per-invitation ordering goes by.
  await sql.query(
    `INSERT INTO webhook_deliveries (account_id, subscription_id, event_id, invitation_id, payload, next_attempt_at, created_at)
     SELECT x.account_id, x.subscription_id, x.event_id, x.invitation_id, x.payload::jsonb, $1, $1
     FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[]) WITH ORDINALITY
       AS x(account_id, subscription_id, event_id, invitation_id, payload, n)
     ORDER BY x.n
     ON CONFLICT (subscription_id, event_id) DO NOTHING`,
    [
      now.toISOString(),
      rows.map((r) => r.accountId),
      rows.map((r) => r.subscriptionId),
      rows.map((r) => r.eventId),
      rows.map((r) => r.invitationId),
      rows.map((r) => r.payload),
    ],
  );
}

/**
 * The invitation, account and message of each event. The message is the one the vendor message id
 * names (Sent, Delivered, …), else the newest on the event's channel that existed when the event
 * happened (Scheduled, Error, …); invitation-level events (channel DispatchAPI) have none.
 */
function eventDetails(sql: SqlExecutor, events: readonly OutboxEvent[]): Promise<EventDetails[]> {
  return sql.query<EventDetails>(
    `SELECT e.id, i.dispatch_id, i.batch_id, i.token, i.uuid, i.target, i.prefills, a.slug, a.hash_algorithm,
            m.id AS message_id, m.reminder_level, m.vendor_message_id, m.error_category, v.kind AS vendor_kind
     FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
       AS e(id, invitation_id, message_channel, target_id, occurred_at)
     JOIN invitations i ON i.id = e.invitation_id
     JOIN accounts a ON a.id = i.account_id
     LEFT JOIN LATERAL (
       SELECT m.id, m.reminder_level, m.vendor_message_id, m.error_category, m.vendor_id FROM messages m
       WHERE m.invitation_id = e.invitation_id
         AND m.channel = e.message_channel
       ORDER BY (e.target_id IS NOT NULL AND m.vendor_message_id = e.target_id) DESC,
                (m.created_at <= e.occurred_at) DESC,
                CASE WHEN m.created_at <= e.occurred_at THEN m.reminder_level END DESC NULLS LAST,
                m.reminder_level
       LIMIT 1) m ON true
     LEFT JOIN vendors v ON v.id = m.vendor_id`,
    [
      events.map((e) => String(e.id)),
      events.map((e) => e.invitation_id),
      events.map((e) => messageChannelOf(e.channel)),
      events.map((e) => e.target_id),
      events.map((e) => new Date(e.occurred_at).toISOString()),
    ],
  );
}

/** The envelope as queued: identifiers always hashed (the sender opens them for subscriptions allowed). */
export function buildEnvelope(event: OutboxEvent, detail: EventDetails): EventEnvelope {
  const status = eventSubTypeOf(event.action);
  const failure = explainsFailure.has(event.action);
  const level = detail.reminder_level === null ? null : Number(detail.reminder_level);
  const data: EnvelopeData = {
    invitationId: event.invitation_id,
    token: detail.token,
    dispatchId: detail.dispatch_id,
    batchId: detail.batch_id,
    channel: channelNameOf(event.channel),
    action: event.action,
    status,
    messageId: detail.message_id,
    vendorMessageId: detail.vendor_message_id,
    isRootMessage: level === null ? null : level === 0 && event.action !== EventAction.Replied,
    reminderLevel: level,
    errorCategory: failure ? detail.error_category : null,
    errorMessage: failure && event.message ? maskContacts(event.message) : null,
    vendor: detail.vendor_kind,
    uuid: hashedIdentifier(detail.uuid, detail.prefills, detail.hash_algorithm),
    target: hashedIdentifier(detail.target, detail.prefills, detail.hash_algorithm),
    identifiers: 'hashed',
  };
  return {
    id: randomUUID(),
    resource: 'invitation',
    eventType: 'invitation.status',
    eventSubType: status,
    accountSlug: detail.slug,
    version: '1',
    occurredAt: new Date(event.occurred_at).toISOString(),
    data,
  };
}
