import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { requestRecords } from '../../support/delivery.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { eventRows, invitationRows } from '../../support/ingest.js';
import type { SeededDispatch } from '../../support/platform.js';
import {
  addressOf,
  batchRows,
  emailRecords,
  expectEachReceivedOnce,
  releaseBatch,
  seedSparkPostDispatch,
  waitForMessages,
  type BatchRow,
} from '../../support/bulk.js';
import { startFakeSparkPost, type FakeSparkPost } from '../../support/fake-sparkpost.js';

const SEND_MAX_ATTEMPTS = 4;

/**
 * Batches here never fill and never time out by themselves: each test decides when a batch is
 * ready (releaseBatch) or plays a flusher that claimed it and died (status and claimed_at set directly).
 */
describe.each(databaseKinds())('bulk batches interrupted or refused on %s', (kind) => {
  let herald: TestHerald;
  const fakes: FakeSparkPost[] = [];
  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      env: {
        HERALD_TOKEN_FLUSH_MS: '0',
        HERALD_DELIVERY_POLL_MS: '20',
        HERALD_BULK_BATCH_SIZE: '1000',
        HERALD_BULK_FLUSH_MS: String(3_600_000),
        HERALD_SEND_CLAIM_TIMEOUT_MS: String(300_000),
        HERALD_SEND_MAX_ATTEMPTS: String(SEND_MAX_ATTEMPTS),
      },
    });
  });
  afterAll(async () => {
    await herald?.stop();
    await Promise.all(fakes.map((f) => f.close()));
  });

  /** A SparkPost dispatch with `count` records queued in one open batch. */
  async function queuedBatch(count: number, prefix: string, fake?: FakeSparkPost) {
    const sparkpost = fake ?? (await startFakeSparkPost());
    if (!fake) fakes.push(sparkpost);
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded: SeededDispatch = await seedSparkPostDispatch(herald, account.id, sparkpost);
    const records = emailRecords(seeded, count, prefix);
    const { batchId } = await requestRecords(herald, account.id, apiKey, seeded.dispatchId, records);
    const ids = (await invitationRows(herald.database, account.id, batchId)).map((i) => i.id);
    const messages = await waitForMessages(herald.database, ids, (m) => m.status === 'queued', `${prefix} queued`);
    // Read again: the tokens are created after the request is answered, before messages are due.
    const invitations = await invitationRows(herald.database, account.id, batchId);
    const [batch, ...others] = await batchRows(herald.database, seeded.vendorId);
    expect(others).toEqual([]);
    expect(batch).toMatchObject({ status: 'open', message_count: count, attempts: 0 });
    expect(new Set(messages.map((m) => m.bulk_batch_id))).toEqual(new Set([batch!.id]));
    return {
      sparkpost,
      seeded,
      invitations,
      ids,
      batch: batch!,
      addresses: records.map((_, i) => addressOf(prefix, i)),
    };
  }

  /** Plays a flusher that claimed the batch `ageMs` ago (and has died, if that is older than the claim timeout). */
  async function claimAsAnotherWorker(batch: BatchRow, ageMs: number, attempts = 1, createdAt?: string) {
    await herald.database.sql.query(
      `UPDATE bulk_batches SET status = 'sending', attempts = $2, claimed_at = now() - ($3 || ' milliseconds')::interval,
         created_at = COALESCE($4::timestamptz, created_at)
       WHERE id = $1`,
      [batch.id, attempts, String(ageMs), createdAt ?? null],
    );
  }

  const batchById = async (batch: BatchRow) =>
    (await batchRows(herald.database, batch.vendor_id)).find((b) => b.id === batch.id)!;

  it('recovers a batch claimed by a dead worker — sends it and completes it — and leaves a live claim alone', async () => {
    const sparkpost = await startFakeSparkPost();
    fakes.push(sparkpost);
    const live = await queuedBatch(3, 'live', sparkpost);
    const dead = await queuedBatch(2, 'dead', sparkpost);
    // The live claim is the older batch: a flusher that would take it would take it first.
    await claimAsAnotherWorker(live.batch, 0, 1, '2000-01-01T00:00:00Z');
    await claimAsAnotherWorker(dead.batch, 3_600_000, 1, '2000-01-02T00:00:00Z');

    const sent = await waitForMessages(herald.database, dead.ids, (m) => m.status === 'sent', 'recovered batch sent');
    expect(await batchById(dead.batch)).toMatchObject({ status: 'sent', attempts: 2, message_count: 2 });
    expect((await batchById(dead.batch)).flushed_at).not.toBeNull();
    expect(sparkpost.problems).toEqual([]);
    expectEachReceivedOnce(sparkpost, dead.addresses);
    expect(sent.map((m) => m.attempts)).toEqual([1, 1]);

    // The live worker's batch is untouched: still its claim, its messages still waiting.
    expect(await batchById(live.batch)).toMatchObject({ status: 'sending', attempts: 1 });
    const waiting = await waitForMessages(herald.database, live.ids, () => true, 'live batch messages');
    expect(waiting.map((m) => m.status)).toEqual(['queued', 'queued', 'queued']);

    // Once that worker's claim is stale too, its batch is recovered in turn.
    await claimAsAnotherWorker(live.batch, 3_600_000);
    await waitForMessages(herald.database, live.ids, (m) => m.status === 'sent', 'second recovered batch sent');
    expect(await batchById(live.batch)).toMatchObject({ status: 'sent', attempts: 2 });
    expectEachReceivedOnce(sparkpost, [...dead.addresses, ...live.addresses]);
  });

  it('records a permanently refused transmission as each message’s error and keeps the batch, completed', async () => {
    const sparkpost = await startFakeSparkPost();
    fakes.push(sparkpost);
    sparkpost.answerAlways({ status: 403, body: { errors: [{ message: 'permission denied', code: '1100' }] } });
    const { batch, ids } = await queuedBatch(2, 'refused', sparkpost);
    await releaseBatch(herald.database, batch.id);

    const failed = await waitForMessages(herald.database, ids, (m) => m.status === 'error', 'refused messages');
    expect(sparkpost.requests).toHaveLength(1);
    for (const m of failed) {
      expect(m).toMatchObject({ error_category: 'auth_or_config', error_code: '1100', attempts: 1 });
      expect(m.error_message).toContain('permission denied');
    }
    // Kept, not deleted: the batch is the record of what was attempted.
    expect(await batchById(batch)).toMatchObject({ status: 'sent', message_count: 2, attempts: 1 });
    const actions = (await eventRows(herald.database, ids)).map((e) => e.action);
    expect(actions.filter((a) => a === EventAction.Error)).toHaveLength(2);
    expect(actions.filter((a) => a === EventAction.DispatchUnsuccessful)).toHaveLength(2);
  });

  it('does not send again a batch interrupted more than HERALD_SEND_MAX_ATTEMPTS times: its messages become errors', async () => {
    const { sparkpost, batch, ids } = await queuedBatch(1, 'poison');
    await claimAsAnotherWorker(batch, 3_600_000, SEND_MAX_ATTEMPTS);

    const [failed] = await waitForMessages(herald.database, ids, (m) => m.status === 'error', 'given-up message');
    expect(failed!.error_message).toContain(`interrupted ${SEND_MAX_ATTEMPTS} times`);
    expect(sparkpost.requests).toEqual([]);
    expect(await batchById(batch)).toMatchObject({ status: 'sent', attempts: SEND_MAX_ATTEMPTS + 1 });
  });

  it('checks unsubscribes again when the batch is sent: a recipient who left while queued is not sent to', async () => {
    const { sparkpost, batch, ids, invitations, addresses } = await queuedBatch(2, 'leaving');
    const oneClick = await fetch(`${herald.url}/u/${invitations[0]!.token}`, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(oneClick.status).toBe(200);
    await releaseBatch(herald.database, batch.id);

    const [left, stayed] = await waitForMessages(
      herald.database,
      ids,
      (m) => m.status === 'cancelled' || m.status === 'sent',
      'both messages settled',
    );
    expect(left!.status).toBe('cancelled');
    expect(stayed!.status).toBe('sent');
    expectEachReceivedOnce(sparkpost, [addresses[1]!]);
    expect(await batchById(batch)).toMatchObject({ status: 'sent', message_count: 2 });
  });
});
