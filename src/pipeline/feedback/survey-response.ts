import { AppError } from '../../errors.js';
import type { Database } from '../../storage/database.js';
import { EventAction, EventChannel } from '../../timeline/event-numbers.js';
import { writeTimelineEntries, type TimelineEntry } from '../../timeline/timeline-writer.js';

export interface SurveyResponseOutcome {
  token: string;
  answeredAt: Date;
  completedAt: Date | null;
  /** Reminders that were still scheduled and will now not be sent. */
  cancelledReminders: number;
}

/**
 * The survey of `token` (an invitation of `accountId`) was answered, and completed when
 * `completed`: stamps `answered_at` / `completed_at` the first time each happens, with an Answered
 * and a Completed entry on the timeline, and cancels the reminders still scheduled. The answers
 * themselves are the survey platform's business; Herald keeps none of them.
 */
export async function recordSurveyResponse(
  database: Database,
  accountId: string,
  response: { token: string; completed: boolean },
): Promise<SurveyResponseOutcome> {
  return database.transaction(async ({ sql }) => {
    const [before] = await sql.query<{ id: string; answered_at: Date | null; completed_at: Date | null }>(
      `SELECT id, answered_at, completed_at FROM invitations WHERE token = $1 AND account_id = $2 FOR UPDATE`,
      [response.token, accountId],
    );
    if (!before) throw new AppError('NOT_FOUND', 'No invitation of this account has that survey token.');
    const [after] = await sql.query<{ answered_at: Date; completed_at: Date | null }>(
      `UPDATE invitations SET answered_at = COALESCE(answered_at, now()),
         completed_at = CASE WHEN $2::boolean THEN COALESCE(completed_at, now()) ELSE completed_at END,
         updated_at = now()
       WHERE id = $1 RETURNING answered_at, completed_at`,
      [before.id, response.completed],
    );
    if (!after) throw new Error('an invitation vanished while it was locked');
    const entry = { accountId, invitationId: before.id, channel: EventChannel.DispatchAPI };
    const entries: TimelineEntry[] = [];
    if (before.answered_at === null) {
      entries.push({ ...entry, action: EventAction.Answered, message: 'Survey answered' });
    }
    if (before.completed_at === null && after.completed_at !== null) {
      entries.push({ ...entry, action: EventAction.Completed, message: 'Survey completed' });
    }
    await writeTimelineEntries(sql, entries);
    const cancelled = await sql.query(
      `UPDATE messages SET status = 'cancelled', updated_at = now()
       WHERE invitation_id = $1 AND reminder_level > 0 AND status IN ('scheduled', 'rate_limited', 'manual_retry', 'queued') RETURNING id`,
      [before.id],
    );
    return {
      token: response.token,
      answeredAt: after.answered_at,
      completedAt: after.completed_at,
      cancelledReminders: cancelled.length,
    };
  });
}
