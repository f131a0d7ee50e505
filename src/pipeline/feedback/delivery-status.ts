import type { Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import type { ExperiencePlatform, PlatformSettings } from '../../platforms/experience-platform.js';
import { hashPii } from '../../privacy/pii-hash.js';
import type { Database, SqlExecutor } from '../../storage/database.js';
import type { Channel, MessageStatus } from '../../storage/schema.js';
import type { ReplyReport, ReportedStatus, StatusReport } from '../../vendors/vendor.js';
import { readableError } from '../dispatch/record-outcomes.js';
import { normalizeMobile } from '../../contacts/contact-values.js';
import { fallBackToNextChannel, fallbackDefinitions, type PermanentFailure } from '../scheduling/channel-fallback.js';
import { EventAction, eventChannelOf } from '../../timeline/event-numbers.js';
import { writeTimelineEntries } from '../../timeline/timeline-writer.js';

export interface FeedbackServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly logger: Pick<Logger, 'debug'>;
  readonly clock: Clock;
}

/** The vendor whose callback (or bounce) is applied: its messages are found by its own message ids. */
export interface ReportingVendor {
  readonly id: string;
  readonly accountId: string;
}

/** What became of a callback's reports. */
export interface FeedbackSummary {
  /** Changed a message's status or added a reply to a timeline. */
  applied: number;
  /** Seen before (the same vendor event id): changed nothing. */
  duplicates: number;
  /** Recorded, but behind the message's status (out of order, or after a final one): changed nothing. */
  ignored: number;
  /** About a message (or sender) Herald does not know: acknowledged and dropped. */
  unknown: number;
}

/** Longest reply text kept on the timeline. */
const REPLY_TEXT_LIMIT = 500;

const progress: Partial<Record<MessageStatus, number>> = { sent: 1, delivered: 2, read: 3 };

/**
 * The status a report moves a message to, or null when it would move it back. Statuses only move
 * forward: sent < delivered < read. Bounced and failed (Error) end a sent or delivered message — a
 * mail server may accept a message and bounce it later — but not a read one; nothing moves a
 * message on from bounced or error, nor one that is not out yet.
 *
 * @example nextStatus('delivered', 'sent') // null: a late "sent" never overwrites "delivered"
 */
export function nextStatus(current: MessageStatus, reported: ReportedStatus): MessageStatus | null {
  const rank = progress[current];
  if (rank === undefined) return null;
  switch (reported) {
    case 'sent':
      return null;
    case 'delivered':
      return rank < 2 ? 'delivered' : null;
    case 'read':
      return rank < 3 ? 'read' : null;
    case 'bounced':
      return rank < 3 ? 'bounced' : null;
    case 'failed':
      return rank < 3 ? 'error' : null;
  }
}

interface LockedMessage {
  id: string;
  account_id: string;
  invitation_id: string;
  dispatch_id: string;
  channel: Channel;
  reminder_level: number;
  status: MessageStatus;
  vendor_message_id: string;
}

/** True the first time a vendor event id is seen; the row commits with what the event changed. */
async function firstTime(sql: SqlExecutor, vendorId: string, externalEventId: string): Promise<boolean> {
  const rows = await sql.query(
    `INSERT INTO vendor_callbacks (vendor_id, external_event_id) VALUES ($1, $2)
     ON CONFLICT (vendor_id, external_event_id) DO NOTHING RETURNING vendor_id`,
    [vendorId, externalEventId],
  );
  return rows.length > 0;
}

const validDate = (date: Date, fallback: Date) => (Number.isNaN(date.getTime()) ? fallback : date);

/** How one report counts in the summary, and the permanent failure it caused, if any. */
type ReportResult = { kind: keyof FeedbackSummary; failure?: PermanentFailure };

async function applyStatus(
  sql: SqlExecutor,
  vendor: ReportingVendor,
  report: StatusReport,
  now: Date,
): Promise<ReportResult> {
  const [message] = await sql.query<LockedMessage>(
    `SELECT id, account_id, invitation_id, dispatch_id, channel, reminder_level, status, vendor_message_id
     FROM messages WHERE vendor_id = $1 AND vendor_message_id = $2 AND account_id = $3
     ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
    [vendor.id, report.vendorMessageId, vendor.accountId],
  );
  if (!message) return { kind: 'unknown' };
  if (!(await firstTime(sql, vendor.id, report.externalEventId))) return { kind: 'duplicates' };
  const status = nextStatus(message.status, report.status);
  if (!status) return { kind: 'ignored' };

  const occurredAt = validDate(report.occurredAt, now);
  const failed = status === 'bounced' || status === 'error';
  const category = report.category ?? 'unknown';
  const errorMessage = failed
    ? readableError(
        category,
        report.code ?? null,
        report.detail ?? `The vendor reported the message ${report.status} without a reason.`,
      )
    : null;
  await sql.query(
    `UPDATE messages SET status = $2, status_updated_at = $3, updated_at = $3,
       delivered_at = CASE WHEN $2::text IN ('delivered', 'read') THEN COALESCE(delivered_at, $4::timestamptz) ELSE delivered_at END,
       read_at = CASE WHEN $2::text = 'read' THEN COALESCE(read_at, $4::timestamptz) ELSE read_at END,
       error_category = $5, error_code = $6, error_message = $7
     WHERE id = $1`,
    [
      message.id,
      status,
      now.toISOString(),
      occurredAt.toISOString(),
      failed ? category : null,
      failed ? (report.code ?? null) : null,
      errorMessage,
    ],
  );
  const level = Number(message.reminder_level);
  const event = {
    accountId: message.account_id,
    invitationId: message.invitation_id,
    channel: eventChannelOf(message.channel),
    targetId: message.vendor_message_id,
    occurredAt,
  };
  if (status === 'delivered' || status === 'read') {
    const action = status === 'delivered' ? EventAction.Delivered : EventAction.Read;
    const word = status === 'delivered' ? 'Delivered' : 'Read';
    await writeTimelineEntries(sql, [{ ...event, action, message: `${word} | reminder level ${level}` }]);
    return { kind: 'applied' };
  }
  await writeTimelineEntries(sql, [
    {
      ...event,
      action: status === 'bounced' ? EventAction.Bounced : EventAction.Error,
      message: errorMessage ?? '',
      level: 'Error',
    },
  ]);
  return {
    kind: 'applied',
    failure: {
      accountId: message.account_id,
      invitationId: message.invitation_id,
      dispatchId: message.dispatch_id,
      channel: message.channel,
      reminderLevel: level,
      status: status === 'bounced' ? 'bounced' : 'error',
    },
  };
}

/** The sender's number in E.164, from what vendors send ("447700900123", "+44…", "whatsapp:+44…"). */
function senderNumber(from: string, region: string | null): string | null {
  const value = from.trim().replace(/^whatsapp:/i, '');
  const normalized = normalizeMobile(/^\d+$/.test(value) ? `+${value}` : value, region);
  return normalized.ok ? normalized.value : null;
}

interface RepliedMessage {
  invitation_id: string;
  account_id: string;
  channel: Channel;
  vendor_message_id: string | null;
}

async function applyReply(
  sql: SqlExecutor,
  vendor: ReportingVendor,
  reply: ReplyReport,
  settings: PlatformSettings | null,
  now: Date,
): Promise<ReportResult> {
  let [replied] = reply.vendorMessageId
    ? await sql.query<RepliedMessage>(
        `SELECT invitation_id, account_id, channel, vendor_message_id FROM messages
         WHERE vendor_id = $1 AND vendor_message_id = $2 AND account_id = $3 ORDER BY created_at DESC LIMIT 1`,
        [vendor.id, reply.vendorMessageId, vendor.accountId],
      )
    : [];
  // No context: the latest message this vendor sent to the sender's number (stored hashed or not).
  const number = !replied && reply.from && settings ? senderNumber(reply.from, settings.defaultPhoneRegion) : null;
  if (number && settings) {
    [replied] = await sql.query<RepliedMessage>(
      `SELECT m.invitation_id, m.account_id, m.channel, m.vendor_message_id
       FROM invitations i JOIN messages m ON m.invitation_id = i.id
       WHERE i.account_id = $1 AND i.target = ANY($2::text[]) AND m.vendor_id = $3 AND m.sent_at IS NOT NULL
       ORDER BY m.sent_at DESC LIMIT 1`,
      [vendor.accountId, [hashPii(number, settings.hashAlgorithm), number], vendor.id],
    );
  }
  if (!replied) return { kind: 'unknown' };
  if (!(await firstTime(sql, vendor.id, reply.externalEventId))) return { kind: 'duplicates' };
  const message =
    reply.action !== undefined
      ? `Replied with action: ${reply.action.slice(0, REPLY_TEXT_LIMIT)}`
      : reply.text !== undefined
        ? `Replied: ${reply.text.slice(0, REPLY_TEXT_LIMIT)}`
        : 'Replied';
  // A reply is a follow-up, never the root message (the events out say isRootMessage: false).
  await writeTimelineEntries(sql, [
    {
      accountId: replied.account_id,
      invitationId: replied.invitation_id,
      action: EventAction.Replied,
      channel: eventChannelOf(replied.channel),
      message,
      targetId: replied.vendor_message_id,
      occurredAt: validDate(reply.occurredAt, now),
    },
  ]);
  return { kind: 'applied' };
}

const byMessageThenTime = (a: StatusReport, b: StatusReport) =>
  a.vendorMessageId < b.vendorMessageId
    ? -1
    : a.vendorMessageId > b.vendorMessageId
      ? 1
      : a.occurredAt.getTime() - b.occurredAt.getTime();

/**
 * Applies a vendor's delivery reports and replies, in one transaction. Idempotent: each vendor
 * event id is applied once (vendor_callbacks). Order-safe: statuses only move forward (see
 * nextStatus), whatever order the reports arrive in. A bounce or failure schedules the next
 * channel where the policy allows fallback. Reports about messages Herald does not know are
 * acknowledged and dropped.
 */
export async function applyVendorReports(
  services: FeedbackServices,
  vendor: ReportingVendor,
  reports: { statuses: readonly StatusReport[]; replies: readonly ReplyReport[] },
): Promise<FeedbackSummary> {
  const { database, platform } = services;
  // Locks are taken in one order (by message), so two callbacks cannot deadlock each other.
  const statuses = [...reports.statuses].sort(byMessageThenTime);
  // Platform reads happen before the transaction (see channel-fallback.ts for why).
  const failing = statuses.filter((s) => s.status === 'bounced' || s.status === 'failed').map((s) => s.vendorMessageId);
  const failingMessages =
    failing.length === 0
      ? []
      : await database.sql.query<{ account_id: string; dispatch_id: string }>(
          `SELECT DISTINCT account_id, dispatch_id FROM messages
           WHERE vendor_id = $1 AND account_id = $2 AND vendor_message_id = ANY($3::text[])`,
          [vendor.id, vendor.accountId, failing],
        );
  const definitions = await fallbackDefinitions(
    platform,
    failingMessages.map((m) => ({ accountId: m.account_id, dispatchId: m.dispatch_id })),
  );
  const settings = reports.replies.some((r) => r.from) ? await platform.settings(vendor.accountId) : null;

  const now = services.clock.now();
  const summary: FeedbackSummary = { applied: 0, duplicates: 0, ignored: 0, unknown: 0 };
  const unknownIds: string[] = [];
  await database.transaction(async ({ sql }) => {
    const failures: PermanentFailure[] = [];
    for (const report of statuses) {
      const outcome = await applyStatus(sql, vendor, report, now);
      summary[outcome.kind] += 1;
      if (outcome.kind === 'unknown') unknownIds.push(report.vendorMessageId);
      if (outcome.failure) failures.push(outcome.failure);
    }
    for (const reply of reports.replies) {
      const outcome = await applyReply(sql, vendor, reply, settings, now);
      summary[outcome.kind] += 1;
      if (outcome.kind === 'unknown') unknownIds.push(reply.vendorMessageId ?? '(no message id)');
    }
    if (failures.length > 0) await fallBackToNextChannel(sql, definitions, failures, now);
  });
  if (unknownIds.length > 0) {
    // Vendor message ids only: never the sender's number or a reply's text.
    services.logger.debug(
      { vendorId: vendor.id, vendorMessageIds: unknownIds.slice(0, 20), count: unknownIds.length },
      'vendor reports about messages Herald does not know were acknowledged and ignored',
    );
  }
  return summary;
}
