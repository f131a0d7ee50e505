import type { Principal } from '../../accounts/principal.js';
import type { Clock } from '../../clock.js';
import { AppError, notFound } from '../../errors.js';
import type { ExperiencePlatform } from '../../platforms/experience-platform.js';
import type { Database } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';
import type { Channel, StoredPrefill } from '../../storage/schema.js';
import { MESSAGE_VIEW_COLUMNS, toMessageView, type MessageRecord, type MessageView } from '../../reporting/messages.js';
import { identifierHashes } from '../../privacy/stored-identifiers.js';
import { EventAction, eventChannelOf } from '../../timeline/event-numbers.js';
import { writeTimelineEntries } from '../../timeline/timeline-writer.js';

export interface RetryServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly clock: Clock;
}

/** The statuses a person may retry from: failed for good, or waiting out a rate limit. */
const RETRYABLE = new Set(['error', 'bounced', 'rate_limited']);
const ALREADY_SENT = new Set(['sent', 'delivered', 'read']);

/**
 * A refusal the TRD's caller shows as it is: the reason is both the error's message and its
 * `details.error_message`.
 */
function notRetryable(reason: string): AppError {
  return new AppError('BAD_REQUEST', reason, { error_message: reason });
}

interface LockedForRetry extends MessageRecord {
  invitation_channel: Channel | null;
  target: string | null;
  uuid: string | null;
  prefills: StoredPrefill[];
  unsubscribed_at: Date | string | null;
}

/**
 * A person's retry of an automated message that failed (Error, Bounced) or is rate limited (the
 * TRD's Manual Retry). Under a row lock, in one transaction: the current status, its time and its
 * error move to `previous_*`, `retry_count` goes up by one, the message waits as `manual_retry`, due
 * now, and the timeline gets a ManualRetry entry. Refused (400, with `error_message`) for a
 * message already sent, one sent by hand, a recipient who unsubscribed, or any other status.
 */
export async function retryMessage(
  services: RetryServices,
  principal: Principal,
  messageId: string,
): Promise<MessageView> {
  const { accountId } = principal;
  if (!isUuid(messageId)) throw notFound('Message', messageId);
  // Read before the transaction: the embedded database runs one thing at a time.
  const { hashAlgorithm } = await services.platform.settings(accountId);
  const now = services.clock.now();
  const at = now.toISOString();
  return services.database.transaction(async ({ sql }) => {
    const [message] = await sql.query<LockedForRetry>(
      `SELECT ${MESSAGE_VIEW_COLUMNS}, i.channel AS invitation_channel, i.target, i.uuid, i.prefills, i.unsubscribed_at
       FROM messages m JOIN invitations i ON i.id = m.invitation_id
       WHERE m.id = $1 AND m.account_id = $2 FOR UPDATE OF m`,
      [messageId, accountId],
    );
    if (!message) throw notFound('Message', messageId);
    if (ALREADY_SENT.has(message.status)) {
      throw notRetryable(`The message was already sent (status ${message.status}): it cannot be retried.`);
    }
    if (!message.automated) {
      throw notRetryable('The message was sent by hand, not automated: send it again by hand instead of retrying it.');
    }
    const hashes = identifierHashes(message, hashAlgorithm);
    const unsubscribed =
      message.unsubscribed_at !== null ||
      (hashes.length > 0 &&
        (
          await sql.query(`SELECT 1 FROM unsubscribes WHERE account_id = $1 AND identifier_hash = ANY($2::text[])`, [
            accountId,
            hashes,
          ])
        ).length > 0);
    if (unsubscribed) throw notRetryable('The recipient has unsubscribed: the message cannot be retried.');
    if (!RETRYABLE.has(message.status)) {
      throw notRetryable(
        `Only a message that failed (error or bounced) or is rate limited can be retried; this one is ${message.status}.`,
      );
    }
    if (message.invitation_channel !== message.channel) {
      throw notRetryable(
        `The invitation went on by ${message.invitation_channel ?? 'another channel'} after this ${message.channel} message failed: retry that channel's message instead.`,
      );
    }
    // The right-hand sides read the row as it was: previous_* take the values being replaced. The
    // vendor message id goes too, so a late report about the failed attempt cannot touch the new one.
    const [retried] = await sql.query<MessageRecord>(
      `UPDATE messages m SET previous_status = status, previous_status_updated_at = status_updated_at,
         previous_error_category = error_category, previous_error_code = error_code,
         previous_error_message = error_message, error_category = NULL, error_code = NULL, error_message = NULL,
         retry_count = retry_count + 1, status = 'manual_retry', status_updated_at = $2, due_at = $2, attempts = 0,
         claimed_at = NULL, vendor_message_id = NULL, delivered_at = NULL, read_at = NULL, updated_at = $2
       WHERE m.id = $1 RETURNING ${MESSAGE_VIEW_COLUMNS}`,
      [messageId, at],
    );
    if (!retried) throw new Error('a message vanished while it was locked');
    const by = principal.userId ? `user ${principal.userId}` : `API key ${principal.apiKeyId ?? 'unknown'}`;
    await writeTimelineEntries(sql, [
      {
        accountId,
        invitationId: message.invitation_id,
        action: EventAction.ManualRetry,
        channel: eventChannelOf(message.channel),
        message: `Manual retry ${retried.retry_count} by ${by} (reminder level ${message.reminder_level}); previous status ${message.status}${message.error_category ? ` (${message.error_category})` : ''}`,
        level: 'Information',
        occurredAt: now,
      },
    ]);
    return toMessageView(retried);
  });
}
