import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { requestRecords } from '../../support/delivery.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { eventRows, invitationRows } from '../../support/ingest.js';
import {
  addressOf,
  batchRows,
  emailRecords,
  expectEachReceivedOnce,
  seedSparkPostDispatch,
  waitForMessages,
} from '../../support/bulk.js';
import { startFakeSparkPost, type FakeSparkPost } from '../../support/fake-sparkpost.js';

const BATCH_SIZE = 10;
const FLUSH_MS = 1500;

describe.each(databaseKinds())('bulk-send batching through SparkPost on %s', (kind) => {
  let herald: TestHerald;
  const fakes: FakeSparkPost[] = [];
  const fake = async () => {
    const started = await startFakeSparkPost();
    fakes.push(started);
    return started;
  };
  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      env: {
        HERALD_TOKEN_FLUSH_MS: '0',
        HERALD_DELIVERY_POLL_MS: '20',
        HERALD_BULK_BATCH_SIZE: String(BATCH_SIZE),
        HERALD_BULK_FLUSH_MS: String(FLUSH_MS),
        HERALD_SEND_RETRY_BASE_MS: '100',
      },
    });
  });
  afterAll(async () => {
    await herald?.stop();
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('sends 25 records as transmissions of 10, 10 and 5 — the last after the flush interval — each recipient once', async () => {
    const sparkpost = await fake();
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedSparkPostDispatch(herald, account.id, sparkpost);
    const { batchId, invitations } = await requestRecords(
      herald,
      account.id,
      apiKey,
      seeded.dispatchId,
      emailRecords(seeded, 25, 'b'),
    );
    const ids = invitations.map((i) => i.id);
    const messages = await waitForMessages(herald.database, ids, (m) => m.status === 'sent', '25 messages sent');
    // Read again: tokens are created after the request is answered.
    const withTokens = await invitationRows(herald.database, account.id, batchId);

    expect(sparkpost.problems).toEqual([]);
    const transmissions = sparkpost.accepted();
    expect(transmissions.map((t) => t.body.recipients.length)).toEqual([10, 10, 5]);
    expectEachReceivedOnce(
      sparkpost,
      invitations.map((_, i) => addressOf('b', i)),
    );

    // Each recipient's own message: its survey and unsubscribe links carry its token.
    const generated = sparkpost.generated();
    for (const [i, invitation] of withTokens.entries()) {
      expect(invitation.token).toBeTruthy();
      const mail = generated.find((g) => g.to === addressOf('b', i))!;
      expect(mail.text).toContain(`/s/${invitation.token}`);
      expect(mail.html).toContain(`/s/${invitation.token}`);
      expect(mail.headers['List-Unsubscribe']).toBe(`<${herald.url}/u/${invitation.token}>`);
      expect(mail.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
      expect(mail.from).toEqual({ email: 'surveys@herald.test', name: 'Herald Surveys' });
      // The message records the id the callbacks will name: transmission id and Herald message id.
      const message = messages[i]!;
      expect(mail.messageId).toBe(message.id);
      expect(message.vendor_message_id).toBe(`${mail.transmissionId}:${message.id}`);
      expect(message.attempts).toBe(1);
    }

    // Batches filled in one transaction share their creation time: the partial one is the one of 5.
    const batches = (await batchRows(herald.database, seeded.vendorId)).sort(
      (a, b) => b.message_count - a.message_count,
    );
    expect(batches.map((b) => [b.status, b.message_count, b.attempts])).toEqual([
      ['sent', 10, 1],
      ['sent', 10, 1],
      ['sent', 5, 1],
    ]);
    // Every message travelled in one of them.
    expect(new Set(messages.map((m) => m.bulk_batch_id))).toEqual(new Set(batches.map((b) => b.id)));
    // The partial batch waited for the interval; full ones went at once.
    const partial = batches[2]!;
    expect(partial.claimed_at! - partial.created_at).toBeGreaterThanOrEqual(FLUSH_MS);
    expect(transmissions[2]!.at).toBeGreaterThan(transmissions[1]!.at);

    // Timeline: queued in a bulk batch, then sent.
    const events = await eventRows(herald.database, [ids[0]!]);
    const actions = events.map((e) => e.action);
    expect(actions).toContain(EventAction.Queued);
    expect(actions.indexOf(EventAction.Queued)).toBeLessThan(actions.indexOf(EventAction.Sent));
    expect(actions).toContain(EventAction.DispatchSuccessful);
    const queued = events.find((e) => e.action === EventAction.Queued)!;
    expect(queued.message).toContain(`via: sparkpost`);
    expect(queued.message).toContain(messages[0]!.bulk_batch_id);
  });

  it('retries a batch answered 429 (after Retry-After) and 5xx, then sends each recipient once', async () => {
    const sparkpost = await fake();
    sparkpost.answerNext(
      { status: 429, body: { errors: [{ message: 'Too many requests' }] }, headers: { 'Retry-After': '1' } },
      { status: 503, body: { errors: [{ message: 'Message generation module not available', code: '1900' }] } },
    );
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedSparkPostDispatch(herald, account.id, sparkpost);
    const { invitations } = await requestRecords(
      herald,
      account.id,
      apiKey,
      seeded.dispatchId,
      emailRecords(seeded, 3, 'r'),
    );
    const ids = invitations.map((i) => i.id);
    const messages = await waitForMessages(herald.database, ids, (m) => m.status === 'sent', '3 messages sent');

    expect(sparkpost.problems).toEqual([]);
    expect(sparkpost.requests.map((r) => r.status)).toEqual([429, 503, 200]);
    const [limited, unavailable] = sparkpost.requests;
    // Every recipient was in every attempt, and received the message once.
    for (const request of sparkpost.requests) expect(request.body.recipients).toHaveLength(3);
    expect(unavailable!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    expectEachReceivedOnce(
      sparkpost,
      invitations.map((_, i) => addressOf('r', i)),
    );
    expect(messages.map((m) => m.attempts)).toEqual([3, 3, 3]);

    const events = await eventRows(herald.database, ids);
    expect(events.filter((e) => e.action === EventAction.RateLimited)).toHaveLength(3);
    expect(events.filter((e) => e.action === EventAction.Sent)).toHaveLength(3);
    // One batch per attempt, all kept and completed.
    const batches = await batchRows(herald.database, seeded.vendorId);
    expect(batches.map((b) => [b.status, b.message_count])).toEqual([
      ['sent', 3],
      ['sent', 3],
      ['sent', 3],
    ]);
  });
});
