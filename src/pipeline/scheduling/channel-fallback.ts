import type { DispatchDefinition, ExperiencePlatform } from '../../platforms/experience-platform.js';
import type { SqlExecutor } from '../../storage/database.js';
import type { Channel, StoredPrefill } from '../../storage/schema.js';
import { channelTag } from '../ingest/record-rules.js';
import { EventAction, eventChannelOf } from '../../timeline/event-numbers.js';
import { writeTimelineEntries, type TimelineEntry } from '../../timeline/timeline-writer.js';

/** A message that failed for good on its channel: Error (refused or given up) or Bounced. */
export interface PermanentFailure {
  readonly accountId: string;
  readonly invitationId: string;
  readonly dispatchId: string;
  readonly channel: Channel;
  readonly reminderLevel: number;
  readonly status: 'error' | 'bounced';
}

/** The dispatch definitions the failures need, by dispatch id (null: the dispatch is gone). */
export type FallbackDefinitions = ReadonlyMap<string, DispatchDefinition | null>;

/**
 * Reads the definitions of the failures' dispatches through the platform. Call it before opening
 * the transaction that applies the fallbacks: the embedded database runs one thing at a time, so a
 * platform read from inside a transaction would wait for that transaction forever.
 */
export async function fallbackDefinitions(
  platform: ExperiencePlatform,
  failures: readonly Pick<PermanentFailure, 'accountId' | 'dispatchId'>[],
): Promise<FallbackDefinitions> {
  const definitions = new Map<string, DispatchDefinition | null>();
  for (const { accountId, dispatchId } of failures) {
    if (!definitions.has(dispatchId)) definitions.set(dispatchId, await platform.dispatch(accountId, dispatchId));
  }
  return definitions;
}

/**
 * The first channel after `failed` in the policy's order for which the invitation holds an address
 * (ingest keeps only valid, normalised ones) and the dispatch has a vendor.
 */
export function nextChannel(
  dispatch: DispatchDefinition,
  failed: Channel,
  prefills: readonly StoredPrefill[],
): { channel: Channel; target: string; vendorId: string } | null {
  const channels = dispatch.policy?.channels ?? [];
  const from = channels.indexOf(failed);
  if (from < 0) return null;
  for (const channel of channels.slice(from + 1)) {
    const question = dispatch.questions.find((q) => q.tags.includes(channelTag[channel]));
    const target = question ? prefills.find((p) => p.questionId === question.id)?.input : undefined;
    const vendorId = dispatch.channelVendors[channel];
    if (target && vendorId) return { channel, target, vendorId };
  }
  return null;
}

interface LockedInvitation {
  channel: Channel | null;
  prefills: StoredPrefill[];
  unsubscribed_at: Date | string | null;
  answered_at: Date | string | null;
}

/**
 * When a policy allows channel fallback, schedules the next channel's message (same reminder level,
 * due now) for each permanent failure, moves the invitation's channel and address to it (what the
 * dispatcher sends to), cancels what still waited on the failed channel, and says so on the
 * timeline. Runs inside the caller's transaction; returns how many messages it scheduled.
 */
export async function fallBackToNextChannel(
  sql: SqlExecutor,
  definitions: FallbackDefinitions,
  failures: readonly PermanentFailure[],
  now: Date,
): Promise<number> {
  const at = now.toISOString();
  const entries: TimelineEntry[] = [];
  for (const failure of failures) {
    const dispatch = definitions.get(failure.dispatchId);
    if (!dispatch?.policy?.channelFallback) continue;
    const [invitation] = await sql.query<LockedInvitation>(
      `SELECT channel, prefills, unsubscribed_at, answered_at FROM invitations
       WHERE id = $1 AND account_id = $2 FOR UPDATE`,
      [failure.invitationId, failure.accountId],
    );
    // An invitation that already moved on (an earlier fallback) keeps its channel.
    if (!invitation || invitation.channel !== failure.channel || invitation.unsubscribed_at) continue;
    if (failure.reminderLevel > 0 && invitation.answered_at) continue;
    const next = nextChannel(dispatch, failure.channel, invitation.prefills);
    if (!next) continue;
    const inserted = await sql.query(
      `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at, vendor_id,
         status_updated_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, $7, $6, $6, $6)
       ON CONFLICT (invitation_id, channel, reminder_level) DO NOTHING RETURNING id`,
      [
        failure.accountId,
        failure.invitationId,
        failure.dispatchId,
        next.channel,
        failure.reminderLevel,
        at,
        next.vendorId,
      ],
    );
    if (inserted.length === 0) continue;
    await sql.query(`UPDATE invitations SET channel = $2, target = $3, updated_at = $4 WHERE id = $1`, [
      failure.invitationId,
      next.channel,
      next.target,
      at,
    ]);
    // Reminders already scheduled on the failed channel would go to the address that failed.
    await sql.query(
      `UPDATE messages SET status = 'cancelled', status_updated_at = $3, updated_at = $3, error_message = $4
       WHERE invitation_id = $1 AND channel = $2 AND status IN ('scheduled', 'rate_limited', 'manual_retry')`,
      [failure.invitationId, failure.channel, at, `Not sent: the invitation fell back to the ${next.channel} channel`],
    );
    const what = failure.status === 'bounced' ? 'bounced' : 'failed permanently';
    entries.push({
      accountId: failure.accountId,
      invitationId: failure.invitationId,
      action: EventAction.Scheduled,
      channel: eventChannelOf(next.channel),
      message: `Channel fallback: the ${failure.channel} message (reminder level ${failure.reminderLevel}) ${what}; sending by ${next.channel} instead`,
      level: 'Information',
      occurredAt: now,
    });
  }
  await writeTimelineEntries(sql, entries);
  return entries.length;
}
