import { beforeAll, describe, expect, it } from 'vitest';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import {
  api,
  mailsTo,
  requestRecords,
  seedSinkDispatch,
  SinkRules,
  waitForMessage,
  startDeliveryHarness,
} from '../../support/delivery.js';
import type { TestHerald } from '../../support/herald.js';
import { eventRows, keyFor } from '../../support/ingest.js';
import { type ErrorBody } from '../../support/api-client.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';
import { dsnFor, sendToBounceEndpoint, sentMessage } from '../../support/status.js';

interface MessageView {
  id: string;
  invitationId: string;
  channel: string;
  status: string;
  statusUpdatedAt: string;
  dueAt: string;
  automated: boolean;
  attempts: number;
  retryCount: number;
  vendorMessageId: string | null;
  errorCategory: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  errorMessageTruncated: string | null;
  previousStatus: string | null;
  previousStatusUpdatedAt: string | null;
  previousErrorCategory: string | null;
  previousErrorCode: string | null;
  previousErrorMessage: string | null;
}

const UNKNOWN_USER =
  'The address does not exist or is malformed: correct it and send again. Vendor said: 550 5.1.1 User unknown';

let counter = 0;

describe.each(databaseKinds())('manual retry on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  const rules = new SinkRules();
  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind, {
      rule: rules.rule,
      env: {
        // Automatic retries wait minutes: only a person's retry sends a message again within a test.
        HERALD_SEND_RETRY_BASE_MS: '600000',
        HERALD_BOUNCE_SMTP_PORT: '0',
      },
    }));
  });

  /** One invitation to `address` on a new account; `refuse` makes the sink refuse it first. */
  async function invite(address: string, refuse?: { code: number; text: string }) {
    counter += 1;
    if (refuse) rules.refuse(address, refuse.code, refuse.text);
    const { account, apiKey } = await seedAccount(herald.database);
    const operator = await keyFor(herald.database, account.id, 'operator');
    const viewer = await keyFor(herald.database, account.id, 'viewer');
    const dispatch = await seedSinkDispatch(herald.database, account.id, sink);
    const { invitations } = await requestRecords(herald, account.id, apiKey, dispatch.dispatchId, [
      [
        { questionId: dispatch.q.uuid, input: `retry-${counter}` },
        { questionId: dispatch.q.email, input: address },
      ],
    ]);
    const invitationId = invitations[0]!.id;
    const messages = async () =>
      (await api<MessageView[]>(herald, viewer, 'GET', `/api/messages?invitationId=${invitationId}`, undefined, 200))
        .body;
    const retry = (id: string, key = operator) =>
      api<MessageView & ErrorBody>(herald, key, 'POST', `/api/messages/${id}/retry`);
    return { account, apiKey, operator, viewer, invitationId, messages, retry };
  }

  const refusal = (answer: { status: number; body: ErrorBody }) => {
    expect(answer.status).toBe(400);
    const { message, details } = answer.body.error;
    expect(details).toEqual({ error_message: message });
    return message;
  };

  it('retries an Error: keeps the previous status and error, counts the retry, sends the message again', async () => {
    const address = `unknown-${kind}@retry.example.com`;
    const ctx = await invite(address, { code: 550, text: '5.1.1 User unknown' });
    await waitForMessage(herald.database, ctx.invitationId, (m) => m.status === 'error');
    const [failed] = await ctx.messages();
    expect(failed).toMatchObject({
      status: 'error',
      automated: true,
      errorCategory: 'invalid_recipient',
      errorCode: '550',
      errorMessage: UNKNOWN_USER,
      errorMessageTruncated: `${UNKNOWN_USER.slice(0, 99)}…`,
      retryCount: 0,
      previousStatus: null,
      previousErrorMessage: null,
    });
    expect(failed!.errorMessageTruncated).toHaveLength(100);

    // A viewer may read but not retry.
    expect((await ctx.retry(failed!.id, ctx.viewer)).status).toBe(403);
    rules.accept(address);
    const retried = await ctx.retry(failed!.id);
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body).toMatchObject({
      status: 'manual_retry',
      retryCount: 1,
      previousStatus: 'error',
      previousStatusUpdatedAt: failed!.statusUpdatedAt,
      previousErrorCategory: 'invalid_recipient',
      previousErrorCode: '550',
      previousErrorMessage: UNKNOWN_USER,
      errorCategory: null,
      errorCode: null,
      errorMessage: null,
      errorMessageTruncated: null,
    });
    expect(new Date(retried.body.dueAt).getTime()).toBeLessThanOrEqual(Date.now());

    await waitForMessage(herald.database, ctx.invitationId, (m) => m.status === 'sent');
    expect(mailsTo(sink, address)).toHaveLength(1);
    const sent = (await api<MessageView>(herald, ctx.viewer, 'GET', `/api/messages/${failed!.id}`, undefined, 200))
      .body;
    expect(sent).toMatchObject({
      status: 'sent',
      retryCount: 1,
      previousStatus: 'error',
      previousErrorMessage: UNKNOWN_USER,
      errorMessage: null,
    });
    const retryEvent = (await eventRows(herald.database, [ctx.invitationId])).find(
      (e) => e.action === EventAction.ManualRetry,
    );
    expect(retryEvent?.message).toMatch(
      /^Manual retry 1 by API key [0-9a-f-]{36} .*previous status error \(invalid_recipient\)$/,
    );

    // Once sent, it cannot be retried again.
    expect(refusal(await ctx.retry(failed!.id))).toBe(
      'The message was already sent (status sent): it cannot be retried.',
    );
  });

  it('retries a rate-limited message at once, and a bounced one with a fresh vendor message id', async () => {
    const slow = `slow-${kind}@retry.example.com`;
    const limited = await invite(slow, { code: 421, text: '4.7.0 Too many messages, rate limited' });
    const waiting = await waitForMessage(herald.database, limited.invitationId, (m) => m.status === 'rate_limited');
    expect(new Date(waiting.due_at).getTime()).toBeGreaterThan(Date.now() + 60_000);
    rules.accept(slow);
    const retried = await limited.retry(waiting.id);
    expect(retried.body).toMatchObject({ status: 'manual_retry', previousStatus: 'rate_limited', retryCount: 1 });
    await waitForMessage(herald.database, limited.invitationId, (m) => m.status === 'sent');
    expect(mailsTo(sink, slow)).toHaveLength(1);

    const gone = `gone-${kind}@retry.example.com`;
    const bounced = await invite(gone);
    const first = await sentMessage(herald.database, bounced.invitationId);
    const mail = await waitFor(() => mailsTo(sink, gone)[0]);
    await sendToBounceEndpoint(
      herald.bouncePort!,
      dsnFor('postfix.eml', { recipient: gone, originalRaw: mail.raw, dsnId: `retry-bounce-${kind}` }),
    );
    const [view] = await bounced.messages();
    expect(view).toMatchObject({ status: 'bounced', errorCategory: 'invalid_recipient' });
    const again = await bounced.retry(view!.id);
    expect(again.body).toMatchObject({ status: 'manual_retry', previousStatus: 'bounced', vendorMessageId: null });
    await waitForMessage(herald.database, bounced.invitationId, (m) => m.status === 'sent');
    expect(mailsTo(sink, gone)).toHaveLength(2);
    const [resent] = await bounced.messages();
    expect(resent!.vendorMessageId).not.toBe(first.vendor_message_id);
  });

  it('refuses, with error_message, a message sent by hand, to an unsubscribed recipient, or in another status', async () => {
    const address = `refused-${kind}@retry.example.com`;
    const ctx = await invite(address, { code: 550, text: '5.1.1 User unknown' });
    const failed = await waitForMessage(herald.database, ctx.invitationId, (m) => m.status === 'error');

    await herald.database.sql.query('UPDATE messages SET automated = false WHERE id = $1', [failed.id]);
    expect(refusal(await ctx.retry(failed.id))).toBe(
      'The message was sent by hand, not automated: send it again by hand instead of retrying it.',
    );
    await herald.database.sql.query('UPDATE messages SET automated = true WHERE id = $1', [failed.id]);

    await herald.database.sql.query(`UPDATE messages SET status = 'cancelled' WHERE id = $1`, [failed.id]);
    expect(refusal(await ctx.retry(failed.id))).toBe(
      'Only a message that failed (error or bounced) or is rate limited can be retried; this one is cancelled.',
    );
    await herald.database.sql.query(`UPDATE messages SET status = 'error' WHERE id = $1`, [failed.id]);

    await api(herald, ctx.apiKey, 'POST', '/api/unsubscribes', { identifier: address, kind: 'email' }, 201);
    expect(refusal(await ctx.retry(failed.id))).toBe('The recipient has unsubscribed: the message cannot be retried.');

    // Nothing changed on any refusal.
    const [after] = await ctx.messages();
    expect(after).toMatchObject({ status: 'error', retryCount: 0, previousStatus: null, errorMessage: UNKNOWN_USER });
    const actions = (await eventRows(herald.database, [ctx.invitationId])).map((e) => e.action);
    expect(actions).not.toContain(EventAction.ManualRetry);
  });

  it("keeps messages to their account: another account's message or invitation is 404", async () => {
    const ctx = await invite(`mine-${kind}@retry.example.com`);
    const mine = await sentMessage(herald.database, ctx.invitationId);
    const other = await seedAccount(herald.database);
    expect((await api(herald, other.apiKey, 'GET', `/api/messages/${mine.id}`)).status).toBe(404);
    expect((await api(herald, other.apiKey, 'POST', `/api/messages/${mine.id}/retry`)).status).toBe(404);
    expect((await api(herald, other.apiKey, 'GET', `/api/messages?invitationId=${ctx.invitationId}`)).status).toBe(404);
    expect((await api(herald, other.apiKey, 'GET', '/api/messages?invitationId=nope')).status).toBe(400);
    expect((await api(herald, ctx.viewer, 'GET', '/api/messages/not-an-id')).status).toBe(404);
  });
});
