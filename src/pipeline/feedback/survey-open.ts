import type { Database, SqlExecutor } from '../../storage/database.js';
import { EventAction } from '../../timeline/event-numbers.js';
import { isSurveyToken, surveyRedirectUrl } from './links.js';
import { writeTimelineEntries } from '../../timeline/timeline-writer.js';
import { linkChannel } from './link-channel.js';

/** Where a survey link leads: nowhere (unknown token), to a "not available" page, or to the survey. */
export type SurveyLinkTarget = { kind: 'unknown' } | { kind: 'unavailable' } | { kind: 'survey'; location: string };

interface LinkedInvitation {
  id: string;
  account_id: string;
  survey_url: string | null;
}

async function findLinkedInvitation(
  sql: SqlExecutor,
  token: string,
  lock: boolean,
): Promise<LinkedInvitation | undefined> {
  const [row] = await sql.query<LinkedInvitation>(
    `SELECT i.id, i.account_id, q.survey_url
     FROM invitations i
     JOIN dispatches d ON d.id = i.dispatch_id
     JOIN questionnaires q ON q.id = d.questionnaire_id
     WHERE i.token = $1${lock ? ' FOR UPDATE OF i' : ''}`,
    [token],
  );
  return row;
}

function targetOf(invitation: LinkedInvitation | undefined, token: string): SurveyLinkTarget {
  if (!invitation) return { kind: 'unknown' };
  const location = invitation.survey_url ? surveyRedirectUrl(invitation.survey_url, token) : null;
  return location ? { kind: 'survey', location } : { kind: 'unavailable' };
}

/** Where the link of `token` leads, recording nothing (for HEAD requests and link checkers). */
export async function peekSurveyLink(database: Database, token: string): Promise<SurveyLinkTarget> {
  if (!isSurveyToken(token)) return { kind: 'unknown' };
  return targetOf(await findLinkedInvitation(database.sql, token, false), token);
}

/**
 * A respondent followed the survey link of `token`: counts the open and, the first time only,
 * stamps `first_opened_at` and adds an Opened entry to the timeline. An open that leads nowhere
 * (no survey URL configured) is not counted.
 */
export async function openSurveyLink(database: Database, token: string): Promise<SurveyLinkTarget> {
  if (!isSurveyToken(token)) return { kind: 'unknown' };
  return database.transaction(async ({ sql }) => {
    // The row lock orders concurrent opens of one link, so exactly one of them sees the count reach 1.
    const invitation = await findLinkedInvitation(sql, token, true);
    const target = targetOf(invitation, token);
    if (!invitation || target.kind !== 'survey') return target;
    const [counted] = await sql.query<{ open_count: number }>(
      `UPDATE invitations SET open_count = open_count + 1, first_opened_at = COALESCE(first_opened_at, now()),
         updated_at = now()
       WHERE id = $1 RETURNING open_count`,
      [invitation.id],
    );
    if (counted?.open_count === 1) {
      await writeTimelineEntries(sql, [
        {
          accountId: invitation.account_id,
          invitationId: invitation.id,
          action: EventAction.Opened,
          channel: await linkChannel(sql, invitation.id),
          message: 'Survey link opened',
        },
      ]);
    }
    return target;
  });
}
