import type { SqlExecutor } from '../../storage/database.js';
import type { Channel } from '../../storage/schema.js';
import { EventChannel, eventChannelOf } from '../../timeline/event-numbers.js';

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
  return latest ? eventChannelOf(latest.channel) : EventChannel.Unknown;
}
