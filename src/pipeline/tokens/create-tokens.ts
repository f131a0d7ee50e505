import type { Clock } from '../../clock.js';
import type { Config } from '../../config/config.js';
import type { JobContext } from '../../jobs/catalogue.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { DispatchDefinition, ExperiencePlatform } from '../../platforms/experience-platform.js';
import type { Database, SqlExecutor } from '../../storage/database.js';
import type { PendingInvitation } from '../../storage/schema.js';
import { scheduleFirstMessages } from '../scheduling/schedule-first-messages.js';
import { EventAction, EventChannel } from '../../timeline/event-numbers.js';
import { writeTimelineEntries, type TimelineEntry } from '../../timeline/timeline-writer.js';
import { writeLogEntries } from '../../log/log-writer.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export interface TokenServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly queue: JobQueue;
  readonly config: Config;
  readonly clock: Clock;
  /** Wakes this process's delivery worker and waits until it has had its turn (see DeliveryWorker.giveTurn). */
  readonly giveWayToDelivery?: () => Promise<void>;
}

/** How long one tokens.create job works before handing the rest of its dispatch to a new one. */
const JOB_TIME_BUDGET_MS = 60_000;

type Step = { kind: 'created'; count: number } | { kind: 'idle' } | { kind: 'wait'; ms: number };

/**
 * Handles `tokens.create`: claims a dispatch's pending invitations a token batch at a time (whole
 * groups, as ingest wrote them), asks the platform for their tokens and writes the invitation
 * rows with them. Each timeline starts here with its Requested entry, dated when the invitation
 * was accepted. A batch smaller than the batch size waits until its oldest invitation is
 * `tokenFlushMs` old, so small requests share one platform call. In the same transaction as the
 * tokens, their first messages are scheduled.
 */
export async function createTokensForDispatch(
  services: TokenServices,
  payload: { accountId: string; dispatchId: string },
  context: JobContext,
  /** Lets this dispatch's next job run itself (see TokenRuns): called before queueing one. */
  releaseDispatch: () => void = () => undefined,
): Promise<void> {
  const dispatch = await services.platform.dispatch(payload.accountId, payload.dispatchId);
  if (!dispatch) throw new Error(`dispatch ${payload.dispatchId} no longer exists`);
  const started = Date.now();
  for (;;) {
    let step: Step;
    try {
      step = await services.database.transaction((tx) => createOneBatch(services, tx.sql, payload, dispatch));
    } catch (error) {
      releaseDispatch();
      if (context.isFinalAttempt) await markFailedBatch(services, payload, error);
      throw error;
    }
    if (step.kind === 'idle') return;
    if (step.kind === 'created') await services.giveWayToDelivery?.();
    // Let timers and I/O run between batches: PGlite answers through promises alone, so a loop of
    // transactions would otherwise hold the event loop and the delivery worker could not start
    // sending the first batch's messages until every batch was done.
    await yieldToEventLoop();
    if (step.kind === 'wait') {
      releaseDispatch();
      await services.queue.enqueue(services.database, 'tokens.create', payload, {
        startAfterSeconds: Math.max(1, Math.ceil(step.ms / 1000)),
      });
      return;
    }
    // Paced by delivery, a large dispatch takes as long as its sending: a follow-up job carries on,
    // so no job outlives the queue's expiry (which would count it as failed and run it again).
    if (Date.now() - started > JOB_TIME_BUDGET_MS) {
      releaseDispatch();
      await services.queue.enqueue(services.database, 'tokens.create', payload);
      services.queue.wake('tokens.create');
      return;
    }
  }
}

interface Claimed {
  groupIds: number[];
  invitations: PendingInvitation[];
  /** When each invitation was accepted (its group's creation), in the order of `invitations`. */
  acceptedAt: Date[];
  /** How long ago the oldest of them was accepted. */
  ageMs: number;
}

/**
 * Locks the dispatch's oldest pending groups that together hold at most `limit` invitations (at
 * least one group, even a larger one written under a larger batch size) and reads them.
 */
async function claim(sql: SqlExecutor, dispatchId: string, limit: number): Promise<Claimed> {
  // SKIP LOCKED: several workers may serve the same dispatch without waiting on each other.
  const groups = await sql.query<{ id: string; invitation_count: number; age_ms: number }>(
    `SELECT id, invitation_count, (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms
     FROM pending_invitations WHERE dispatch_id = $1
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [dispatchId, limit],
  );
  const taken: typeof groups = [];
  let count = 0;
  for (const group of groups) {
    if (taken.length > 0 && count + group.invitation_count > limit) break;
    taken.push(group);
    count += group.invitation_count;
  }
  const groupIds = taken.map((g) => Number(g.id));
  if (groupIds.length === 0) return { groupIds, invitations: [], acceptedAt: [], ageMs: 0 };
  const rows = await sql.query<{ invitations: string; created_at: Date | string }>(
    `SELECT invitations, created_at FROM pending_invitations WHERE id = ANY($1::bigint[]) ORDER BY id`,
    [groupIds],
  );
  const invitations: PendingInvitation[] = [];
  const acceptedAt: Date[] = [];
  for (const row of rows) {
    const group = JSON.parse(row.invitations) as PendingInvitation[];
    const at = new Date(row.created_at);
    invitations.push(...group);
    acceptedAt.push(...group.map(() => at));
  }
  return { groupIds, invitations, acceptedAt, ageMs: Math.max(...taken.map((g) => Number(g.age_ms))) };
}

/**
 * Turns claimed groups into invitation rows in `state` (with their tokens, in the order of the
 * groups' invitations, when there are some), writes their Requested entries dated at acceptance
 * followed by `next` (what became of them), and deletes the groups.
 */
async function materialize(
  sql: SqlExecutor,
  accountId: string,
  claimed: Claimed,
  state: 'token_created' | 'token_failed',
  tokens: readonly string[] | null,
  next: readonly TimelineEntry[],
): Promise<void> {
  const ids = claimed.invitations.map((i) => i.id);
  await sql.query(
    `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language,
                              prefills, sealed_originals, sealed_key_id, token, created_at)
     SELECT x.id, p.account_id, p.batch_id, p.dispatch_id, x.record_index, $2, x.uuid, x.channel, x.target, x.language,
            x.prefills, x.sealed_originals, x.sealed_key_id, t.token, p.created_at
     FROM pending_invitations p
     CROSS JOIN LATERAL json_to_recordset(p.invitations::json) AS x(id uuid, record_index int, uuid text, channel text,
       target text, language text, prefills jsonb, sealed_originals text, sealed_key_id text)
     JOIN unnest($3::uuid[], $4::text[]) AS t(id, token) ON t.id = x.id
     WHERE p.id = ANY($1::bigint[])`,
    [claimed.groupIds, state, ids, tokens ?? ids.map(() => null)],
  );
  const requested = ids.map((invitationId, n): TimelineEntry => ({
    accountId,
    invitationId,
    action: EventAction.Requested,
    channel: EventChannel.DispatchAPI,
    occurredAt: claimed.acceptedAt[n],
  }));
  await writeTimelineEntries(sql, [...requested, ...next]);
  await sql.query(`DELETE FROM pending_invitations WHERE id = ANY($1::bigint[])`, [claimed.groupIds]);
}

async function createOneBatch(
  services: TokenServices,
  sql: SqlExecutor,
  { accountId, dispatchId }: { accountId: string; dispatchId: string },
  dispatch: DispatchDefinition,
): Promise<Step> {
  const { tokenBatchSize, tokenFlushMs } = services.config;
  const claimed = await claim(sql, dispatchId, tokenBatchSize);
  const batch = claimed.invitations;
  if (batch.length === 0) return { kind: 'idle' };
  if (batch.length < tokenBatchSize && claimed.ageMs < tokenFlushMs) {
    return { kind: 'wait', ms: tokenFlushMs - claimed.ageMs };
  }

  const tokens = await services.platform.createTokens(
    accountId,
    dispatchId,
    batch.map((p) => ({
      invitationId: p.id,
      prefills: p.prefills.map(({ questionId, input }) => ({ questionId, input })),
    })),
  );
  if (tokens.length !== batch.length) {
    throw new Error(`the platform returned ${tokens.length} tokens for ${batch.length} records`);
  }
  const tokenCreated = batch.map((p, n): TimelineEntry => ({
    accountId,
    invitationId: p.id,
    action: EventAction.TokenCreated,
    channel: EventChannel.DispatchAPI,
    targetId: tokens[n],
  }));
  await materialize(sql, accountId, claimed, 'token_created', tokens, tokenCreated);
  await writeLogEntries(sql, [
    {
      accountId,
      dispatchId,
      tag: 'DispatchAPI',
      level: 'Debug',
      message: `Survey tokens created and recorded for ${batch.length} invitations`,
    },
  ]);
  await scheduleFirstMessages(sql, services.clock, accountId, dispatch, batch);
  return { kind: 'created', count: batch.length };
}

/**
 * After the last retry: the batch is marked, each invitation gets an Error entry, the account a log
 * entry, and a new job takes over the dispatch's other invitations.
 */
async function markFailedBatch(
  services: TokenServices,
  payload: { accountId: string; dispatchId: string },
  error: unknown,
): Promise<void> {
  const { accountId, dispatchId } = payload;
  const reason = error instanceof Error ? error.message : String(error);
  await services.database.transaction(async (tx) => {
    const claimed = await claim(tx.sql, dispatchId, services.config.tokenBatchSize);
    const failed = claimed.invitations.map((p): TimelineEntry => ({
      accountId,
      invitationId: p.id,
      action: EventAction.Error,
      channel: EventChannel.DispatchAPI,
      message: `Survey token creation failed: ${reason}`,
      level: 'Error',
    }));
    await materialize(tx.sql, accountId, claimed, 'token_failed', null, failed);
    await writeLogEntries(tx.sql, [
      {
        accountId,
        dispatchId,
        tag: 'DispatchAPI',
        level: 'Error',
        message: `Survey token creation failed after every retry for ${failed.length} invitations: ${reason}`,
      },
    ]);
    await services.queue.enqueue(tx, 'tokens.create', payload);
  });
}
