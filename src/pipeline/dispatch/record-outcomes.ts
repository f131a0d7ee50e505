import type { SqlExecutor } from '../../storage/database.js';
import type { LogLevel, MessageStatus } from '../../storage/schema.js';
import { errorCategories, type ErrorCategory } from '../../vendors/error-categories.js';
import {
  fallBackToNextChannel,
  type FallbackDefinitions,
  type PermanentFailure,
} from '../scheduling/channel-fallback.js';
import { EventAction, eventChannelOf } from '../../timeline/event-numbers.js';
import { writeTimelineEntries, type TimelineEntry } from '../../timeline/timeline-writer.js';
import type { ClaimedMessage } from './claim-messages.js';

/** What recording an outcome needs of its message. */
export type OutcomeMessage = Pick<
  ClaimedMessage,
  'id' | 'account_id' | 'invitation_id' | 'dispatch_id' | 'channel' | 'reminder_level' | 'attempts' | 'target'
>;

/** What became of one claimed message, ready to be written. */
export type Outcome =
  | {
      kind: 'sent';
      claimed: OutcomeMessage;
      vendorId: string;
      via: string;
      vendorMessageId: string;
      /** The content template used ("built-in" for Herald's own). */
      templateId: string;
      nextReminderAt: Date | null;
    }
  | {
      kind: 'retry';
      claimed: OutcomeMessage;
      dueAt: Date;
      category: ErrorCategory;
      code: string | null;
      detail: string;
    }
  | {
      kind: 'error';
      claimed: OutcomeMessage;
      vendorId: string | null;
      category: ErrorCategory;
      code: string | null;
      detail: string;
      /** A retryable refusal that used up the last attempt. */
      gaveUp?: boolean;
      /** Herald failed the message before any vendor answered: `detail` is the whole message, with its advice. */
      beforeVendor?: boolean;
    }
  | { kind: 'cancel'; claimed: OutcomeMessage; reason: string }
  | { kind: 'defer'; claimed: OutcomeMessage; dueAt: Date };

interface MessageUpdate {
  id: string;
  status: MessageStatus;
  dueAt: string | null;
  sentAt: string | null;
  vendorId: string | null;
  vendorMessageId: string | null;
  errorCategory: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** 1 when the attempt the claim counted did not really happen (deferred). */
  uncount: number;
}

/**
 * The message a person reads: what it means, what to do, and the vendor's own words. After the
 * last attempt (`gaveUpAfter`), a category's promise of another try is replaced by how many were made.
 *
 * @example readableError('invalid_recipient', '550', '550 5.1.1 User unknown')
 * // 'The address does not exist or is malformed: correct it and send again. Vendor said: 550 5.1.1 User unknown'
 */
export function readableError(
  category: ErrorCategory,
  code: string | null,
  detail: string,
  gaveUpAfter?: number,
): string {
  const advice = errorCategories[category].advice;
  const meaning =
    gaveUpAfter === undefined
      ? advice
      : `${advice.replace(/;[^;]*\bretried\b[^;]*$/, '.')} Herald gave up after ${gaveUpAfter} attempts.`;
  // SMTP replies ("550 5.1.1 …", "550-…") start with their own code: say it once.
  const repeatsCode =
    code !== null && (detail === code || detail.startsWith(`${code} `) || detail.startsWith(`${code}-`));
  const said = code && !repeatsCode ? `${code} ${detail}` : detail;
  return `${meaning} Vendor said: ${said}`.slice(0, 2000);
}

function rows(outcome: Outcome, now: Date): { update: MessageUpdate; events: TimelineEntry[] } {
  const { claimed } = outcome;
  const channel = eventChannelOf(claimed.channel);
  const at = now.toISOString();
  const base = {
    id: claimed.id,
    dueAt: null,
    sentAt: null,
    vendorId: null,
    vendorMessageId: null,
    errorCategory: null,
    errorCode: null,
    errorMessage: null,
    uncount: 0,
  };
  const event = (
    action: EventAction,
    message: string | null,
    level: LogLevel | null,
    targetId: string | null = null,
    logMessage: string | null = null,
  ): TimelineEntry => ({
    accountId: claimed.account_id,
    invitationId: claimed.invitation_id,
    action,
    channel,
    message,
    logMessage,
    targetId,
    level,
    occurredAt: now,
  });
  switch (outcome.kind) {
    case 'sent': {
      // The original module's words: reports and integrations read n= to tell reminders apart.
      const message = `Message Template Id: ${outcome.templateId} | Additional Token Parameters: &c=${channel}&n=${claimed.reminder_level}`;
      return {
        update: {
          ...base,
          status: 'sent',
          sentAt: at,
          vendorId: outcome.vendorId,
          vendorMessageId: outcome.vendorMessageId,
        },
        events: [
          event(EventAction.Sent, null, null, outcome.vendorMessageId),
          // The target as stored (hashed when PII), as the original's TargetId.
          event(
            EventAction.DispatchSuccessful,
            message,
            'Information',
            claimed.target,
            `Successfully Dispatched (via: ${outcome.via})`,
          ),
        ],
      };
    }
    case 'retry': {
      const errorMessage = readableError(outcome.category, outcome.code, outcome.detail);
      const update: MessageUpdate = {
        ...base,
        // Rate-limited messages wait as such (the TRD's Rate Limited); other refusals wait as scheduled.
        status: outcome.category === 'rate_limited' ? 'rate_limited' : 'scheduled',
        dueAt: outcome.dueAt.toISOString(),
        errorCategory: outcome.category,
        errorCode: outcome.code,
        errorMessage,
      };
      const retryNote = `${errorMessage} Next attempt at ${outcome.dueAt.toISOString()}.`;
      return {
        update,
        events: outcome.category === 'rate_limited' ? [event(EventAction.RateLimited, retryNote, 'Warning')] : [],
      };
    }
    case 'error': {
      const errorMessage = outcome.beforeVendor
        ? outcome.detail
        : readableError(outcome.category, outcome.code, outcome.detail, outcome.gaveUp ? claimed.attempts : undefined);
      return {
        update: {
          ...base,
          status: 'error',
          vendorId: outcome.vendorId,
          errorCategory: outcome.category,
          errorCode: outcome.code,
          errorMessage,
        },
        events: [
          event(EventAction.Error, errorMessage, 'Error'),
          event(EventAction.DispatchUnsuccessful, `Failed at dispatch: ${outcome.category}`, 'Error'),
        ],
      };
    }
    case 'cancel':
      return {
        update: { ...base, status: 'cancelled', errorMessage: outcome.reason },
        events: [event(EventAction.Suppressed, `Not sent: ${outcome.reason}`, 'Information')],
      };
    case 'defer':
      return { update: { ...base, status: 'scheduled', dueAt: outcome.dueAt.toISOString(), uncount: 1 }, events: [] };
  }
}

/** The outcomes that failed for good, as channel fallback takes them. */
export function permanentFailuresOf(outcomes: readonly Outcome[]): PermanentFailure[] {
  return outcomes.flatMap(({ kind, claimed }): PermanentFailure[] =>
    kind === 'error'
      ? [
          {
            accountId: claimed.account_id,
            invitationId: claimed.invitation_id,
            dispatchId: claimed.dispatch_id,
            channel: claimed.channel,
            reminderLevel: claimed.reminder_level,
            status: 'error',
          },
        ]
      : [],
  );
}

/**
 * Writes a batch's outcomes in one transaction: message states, timeline entries, the next
 * reminders and, given the failures' dispatch definitions (read before the transaction), the next
 * channel's message where the policy allows channel fallback.
 */
export async function recordOutcomes(
  sql: SqlExecutor,
  outcomes: readonly Outcome[],
  now: Date,
  fallback?: FallbackDefinitions,
): Promise<void> {
  const at = now.toISOString();
  const built = outcomes.map((outcome) => ({ outcome, ...rows(outcome, now) }));
  const updates = built.map((b) => b.update);
  const updated = await sql.query<{ id: string }>(
    `UPDATE messages m SET status = x.status, due_at = COALESCE(x.due_at, m.due_at), sent_at = x.sent_at,
       vendor_id = COALESCE(x.vendor_id, m.vendor_id), vendor_message_id = x.vendor_message_id,
       error_category = x.error_category, error_code = x.error_code, error_message = x.error_message,
       attempts = m.attempts - x.uncount, claimed_at = NULL, updated_at = $1,
       status_updated_at = CASE WHEN x.uncount = 1 THEN m.status_updated_at ELSE $1 END
     FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int[])
       AS x(id, status, due_at, sent_at, vendor_id, vendor_message_id, error_category, error_code, error_message, uncount)
     WHERE m.id = x.id AND m.status = 'sending'
     RETURNING m.id`,
    [
      at,
      updates.map((u) => u.id),
      updates.map((u) => u.status),
      updates.map((u) => u.dueAt),
      updates.map((u) => u.sentAt),
      updates.map((u) => u.vendorId),
      updates.map((u) => u.vendorMessageId),
      updates.map((u) => u.errorCategory),
      updates.map((u) => u.errorCode),
      updates.map((u) => u.errorMessage),
      updates.map((u) => u.uncount),
    ],
  );
  // A message no longer 'sending' was recovered from this worker as stale and is someone else's
  // now: its outcome is not written twice.
  const mine = new Set(updated.map((u) => u.id));
  const kept = built.filter((b) => mine.has(b.outcome.claimed.id));
  const recorded = kept.map((b) => b.outcome);
  const events = kept.flatMap((b) => b.events);
  await writeTimelineEntries(sql, events);
  const reminders = recorded.flatMap((o) =>
    o.kind === 'sent' && o.nextReminderAt
      ? [{ claimed: o.claimed, vendorId: o.vendorId, dueAt: o.nextReminderAt }]
      : [],
  );
  if (reminders.length > 0) {
    await sql.query(
      `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at, vendor_id)
       SELECT account_id, invitation_id, dispatch_id, channel, reminder_level, 'scheduled', due_at, vendor_id
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::smallint[], $6::timestamptz[], $7::uuid[])
         AS x(account_id, invitation_id, dispatch_id, channel, reminder_level, due_at, vendor_id)
       ON CONFLICT (invitation_id, channel, reminder_level) DO NOTHING`,
      [
        reminders.map((r) => r.claimed.account_id),
        reminders.map((r) => r.claimed.invitation_id),
        reminders.map((r) => r.claimed.dispatch_id),
        reminders.map((r) => r.claimed.channel),
        reminders.map((r) => r.claimed.reminder_level + 1),
        reminders.map((r) => r.dueAt.toISOString()),
        reminders.map((r) => r.vendorId),
      ],
    );
  }
  if (fallback) await fallBackToNextChannel(sql, fallback, permanentFailuresOf(recorded), now);
}
