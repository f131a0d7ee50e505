import type { SqlExecutor } from '../../storage/database.js';
import type { Channel } from '../../storage/schema.js';
import { EventChannel, type EventAction } from '../../timeline/event-numbers.js';

const channelNumber: Record<Channel, EventChannel> = {
  email: EventChannel.Email,
  sms: EventChannel.SMS,
  whatsapp: EventChannel.WhatsApp,
};

/**
 * The channel a respondent most likely followed a link from: that of the invitation's latest sent
 * message, or Unknown when none was sent through Herald (e.g. the link was handed out elsewhere).
 */
export async function linkChannel(sql: SqlExecutor, invitationId: string): Promise<EventChannel> {
  const [latest] = await sql.query<{ channel: Channel }>(
    `SELECT channel FROM messages WHERE invitation_id = $1 AND status IN ('sent', 'delivered', 'read')
     ORDER BY sent_at DESC NULLS LAST, reminder_level DESC LIMIT 1`,
    [invitationId],
  );
  return latest ? channelNumber[latest.channel] : EventChannel.Unknown;
}

/** Adds one feedback step (opened, answered, completed, unsubscribed) to an invitation's timeline. */
export async function addTimelineEntry(
  sql: SqlExecutor,
  entry: { accountId: string; invitationId: string; action: EventAction; channel: EventChannel; message: string },
): Promise<void> {
  await sql.query(
    `INSERT INTO invitation_events (account_id, invitation_id, action, channel, message) VALUES ($1, $2, $3, $4, $5)`,
    [entry.accountId, entry.invitationId, entry.action, entry.channel, entry.message],
  );
}
