import type { Clock } from '../../clock.js';
import type { Config } from '../../config/config.js';
import type { JobContext } from '../../jobs/catalogue.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { DispatchDefinition, ExperiencePlatform } from '../../platforms/experience-platform.js';
import type { Database, SqlExecutor } from '../../storage/database.js';
import type { Channel, StoredPrefill } from '../../storage/schema.js';
import { scheduleFirstMessages } from '../scheduling/schedule-first-messages.js';
import { EventAction, EventChannel } from '../timeline.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export interface TokenServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly queue: JobQueue;
  readonly config: Config;
  readonly clock: Clock;
}

interface Pending {
  id: string;
  uuid: string | null;
  channel: Channel;
  prefills: StoredPrefill[];
  age_ms: number;
}

type Step = { kind: 'created'; count: number } | { kind: 'idle' } | { kind: 'wait'; ms: number };

/**
 * Handles `tokens.create`: claims a dispatch's accepted invitations a batch at a time, asks the
 * platform for their tokens and records them. Each timeline starts here with its Requested entry,
 * dated when the invitation was accepted: ingest writes only the invitation rows, so answering a
 * large request costs one insert per record, and nothing is lost as the invitation is the record. A batch smaller than the batch size waits until its
 * oldest invitation is `tokenFlushMs` old, so small requests share one platform call. In the same
 * transaction as the tokens, their first messages are scheduled.
 */
export async function createTokensForDispatch(
  services: TokenServices,
  payload: { accountId: string; dispatchId: string },
  context: JobContext,
): Promise<void> {
  const dispatch = await services.platform.dispatch(payload.accountId, payload.dispatchId);
  if (!dispatch) throw new Error(`dispatch ${payload.dispatchId} no longer exists`);
  for (;;) {
    let step: Step;
    try {
      step = await services.database.transaction((tx) => createOneBatch(services, tx.sql, payload, dispatch));
    } catch (error) {
      if (context.isFinalAttempt) await markFailedBatch(services, payload, error);
      throw error;
    }
    if (step.kind === 'idle') return;
    // Let timers and I/O run between batches: PGlite answers through promises alone, so a loop of
    // transactions would otherwise hold the event loop and the delivery worker could not start
    // sending the first batch's messages until every batch was done.
    await yieldToEventLoop();
    if (step.kind === 'wait') {
      await services.queue.enqueue(services.database, 'tokens.create', payload, {
        startAfterSeconds: Math.max(1, Math.ceil(step.ms / 1000)),
      });
      return;
    }
  }
}

async function claim(sql: SqlExecutor, dispatchId: string, limit: number): Promise<Pending[]> {
  // SKIP LOCKED: several workers may serve the same dispatch without waiting on each other.
  return sql.query<Pending>(
    `SELECT id, uuid, channel, prefills, (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms
     FROM invitations WHERE dispatch_id = $1 AND state = 'requested'
     ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [dispatchId, limit],
  );
}

async function createOneBatch(
  services: TokenServices,
  sql: SqlExecutor,
  { accountId, dispatchId }: { accountId: string; dispatchId: string },
  dispatch: DispatchDefinition,
): Promise<Step> {
  const { tokenBatchSize, tokenFlushMs } = services.config;
  const batch = await claim(sql, dispatchId, tokenBatchSize);
  if (batch.length === 0) return { kind: 'idle' };
  const oldest = Math.max(...batch.map((p) => Number(p.age_ms)));
  if (batch.length < tokenBatchSize && oldest < tokenFlushMs) return { kind: 'wait', ms: tokenFlushMs - oldest };

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
  const ids = batch.map((p) => p.id);
  await sql.query(
    `UPDATE invitations i SET token = x.token, state = 'token_created', updated_at = now()
     FROM unnest($1::uuid[], $2::text[]) AS x(id, token) WHERE i.id = x.id`,
    [ids, tokens],
  );
  await recordRequested(sql, accountId, ids);
  await sql.query(
    `INSERT INTO invitation_events (account_id, invitation_id, action, channel, target_id)
     SELECT $1, id, $2, $3, token FROM unnest($4::uuid[], $5::text[]) AS x(id, token)`,
    [accountId, EventAction.TokenCreated, EventChannel.DispatchAPI, ids, tokens],
  );
  await sql.query(`INSERT INTO log_entries (account_id, dispatch_id, level, message) VALUES ($1, $2, 'Debug', $3)`, [
    accountId,
    dispatchId,
    `Survey tokens created and recorded for ${batch.length} invitations`,
  ]);
  await scheduleFirstMessages(sql, services.clock, accountId, dispatch, batch);
  return { kind: 'created', count: batch.length };
}

/** The Requested entries of invitations leaving the `requested` state, in their order, dated at acceptance. */
async function recordRequested(sql: SqlExecutor, accountId: string, ids: readonly string[]): Promise<void> {
  await sql.query(
    `INSERT INTO invitation_events (account_id, invitation_id, action, channel, occurred_at)
     SELECT $1, i.id, $2, $3, i.created_at
     FROM unnest($4::uuid[]) WITH ORDINALITY AS x(id, n) JOIN invitations i ON i.id = x.id ORDER BY x.n`,
    [accountId, EventAction.Requested, EventChannel.DispatchAPI, ids],
  );
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
    const batch = await claim(tx.sql, dispatchId, services.config.tokenBatchSize);
    const ids = batch.map((p) => p.id);
    await recordRequested(tx.sql, accountId, ids);
    await tx.sql.query(`UPDATE invitations SET state = 'token_failed', updated_at = now() WHERE id = ANY($1::uuid[])`, [
      ids,
    ]);
    await tx.sql.query(
      `INSERT INTO invitation_events (account_id, invitation_id, action, channel, message, level)
       SELECT $1, id, $2, $3, $4, 'Error' FROM unnest($5::uuid[]) AS x(id)`,
      [accountId, EventAction.Error, EventChannel.DispatchAPI, `Survey token creation failed: ${reason}`, ids],
    );
    await tx.sql.query(
      `INSERT INTO log_entries (account_id, dispatch_id, level, message) VALUES ($1, $2, 'Error', $3)`,
      [
        accountId,
        dispatchId,
        `Survey token creation failed after every retry for ${ids.length} invitations: ${reason}`,
      ],
    );
    await services.queue.enqueue(tx, 'tokens.create', payload);
  });
}
