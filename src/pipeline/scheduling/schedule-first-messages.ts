import type { Clock } from '../../clock.js';
import type { DispatchDefinition } from '../../platforms/experience-platform.js';
import type { SqlExecutor } from '../../storage/database.js';
import type { Channel, StoredPrefill } from '../../storage/schema.js';
import { EventAction, EventChannel, eventChannelOf } from '../../timeline/event-numbers.js';
import { writeTimelineEntries, type TimelineEntry } from '../../timeline/timeline-writer.js';
import { nextOpening } from './send-window.js';

export const TIMEZONE_TAG = 'cc_timezone';

export interface TokenedInvitation {
  id: string;
  uuid: string | null;
  channel: Channel;
  prefills: StoredPrefill[];
}

/** The recipient's time zone (a cc_timezone prefill, stored unhashed), when there is one. */
export function recipientZone(dispatch: DispatchDefinition, prefills: readonly StoredPrefill[]): string | undefined {
  const question = dispatch.questions.find((q) => q.tags.includes(TIMEZONE_TAG))?.id;
  return question ? prefills.find((p) => p.questionId === question && !p.hashed)?.input : undefined;
}

/**
 * How many first invitations each UUID received within the fatigue period, across the account:
 * those on their way (waiting in any form, or in flight) and those that went out (sent, delivered,
 * read). Only first messages that never reached anyone (error, bounced, cancelled, throttled) do
 * not count; an invitation counts once, whatever its channels.
 */
async function recentInvitations(
  sql: SqlExecutor,
  accountId: string,
  uuids: string[],
  since: Date,
): Promise<Map<string, number>> {
  const rows = await sql.query<{ uuid: string; count: string }>(
    `SELECT i.uuid, count(DISTINCT m.invitation_id) AS count FROM messages m JOIN invitations i ON i.id = m.invitation_id
     WHERE i.account_id = $1 AND i.uuid = ANY($2::text[]) AND m.reminder_level = 0
       AND m.status NOT IN ('error', 'bounced', 'cancelled', 'throttled') AND m.created_at >= $3
     GROUP BY i.uuid`,
    [accountId, uuids, since.toISOString()],
  );
  return new Map(rows.map((r) => [r.uuid, Number(r.count)]));
}

/**
 * Turns invitations that just got their tokens into first messages due at the next send-window
 * opening, or Throttles them under the policy's fatigue rule. Runs inside the caller's transaction.
 */
export async function scheduleFirstMessages(
  sql: SqlExecutor,
  clock: Clock,
  accountId: string,
  dispatch: DispatchDefinition,
  invitations: readonly TokenedInvitation[],
): Promise<void> {
  const now = clock.now();
  const policy = dispatch.policy;
  const fatigue = policy?.fatigue ?? null;
  const counts = fatigue
    ? await recentInvitations(
        sql,
        accountId,
        invitations.flatMap((i) => (i.uuid ? [i.uuid] : [])),
        new Date(now.getTime() - fatigue.perDays * 86_400_000),
      )
    : new Map<string, number>();

  const scheduled: { invitation: TokenedInvitation; dueAt: Date }[] = [];
  const throttled: string[] = [];
  for (const invitation of invitations) {
    if (fatigue && invitation.uuid) {
      const count = counts.get(invitation.uuid) ?? 0;
      if (count >= fatigue.maxInvitations) {
        throttled.push(invitation.id);
        continue;
      }
      counts.set(invitation.uuid, count + 1);
    }
    const zone = recipientZone(dispatch, invitation.prefills);
    scheduled.push({ invitation, dueAt: nextOpening(now, policy?.sendWindow ?? null, zone) });
  }

  if (scheduled.length > 0) {
    await sql.query(
      `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at, vendor_id)
       SELECT $1, invitation_id, $2, channel, 0, 'scheduled', due_at, vendor_id
       FROM unnest($3::uuid[], $4::text[], $5::timestamptz[], $6::uuid[]) AS x(invitation_id, channel, due_at, vendor_id)
       ON CONFLICT (invitation_id, channel, reminder_level) DO NOTHING`,
      [
        accountId,
        dispatch.id,
        scheduled.map((s) => s.invitation.id),
        scheduled.map((s) => s.invitation.channel),
        scheduled.map((s) => s.dueAt.toISOString()),
        scheduled.map((s) => dispatch.channelVendors[s.invitation.channel] ?? null),
      ],
    );
  }
  if (throttled.length > 0 && fatigue) {
    await sql.query(`UPDATE invitations SET state = 'throttled', updated_at = $2 WHERE id = ANY($1::uuid[])`, [
      throttled,
      now.toISOString(),
    ]);
  }
  const entries = scheduled.map((s): TimelineEntry => ({
    accountId,
    invitationId: s.invitation.id,
    action: EventAction.Scheduled,
    channel: eventChannelOf(s.invitation.channel),
    message:
      s.dueAt.getTime() > now.getTime()
        ? `Deferred to the send window's next opening: ${s.dueAt.toISOString()}`
        : 'Scheduled to go out now',
    occurredAt: now,
  }));
  if (fatigue) {
    const message = `Throttled by the fatigue rule: at most ${fatigue.maxInvitations} invitations per ${fatigue.perDays} days to the same UUID`;
    for (const invitationId of throttled) {
      entries.push({
        accountId,
        invitationId,
        action: EventAction.Throttled,
        channel: EventChannel.DispatchAPI,
        message,
        level: 'Information',
        occurredAt: now,
      });
    }
  }
  await writeTimelineEntries(sql, entries);
}
