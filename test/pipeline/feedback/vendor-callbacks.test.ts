import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction, EventChannel } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { api, requestRecords } from '../../support/delivery.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { eventRows } from '../../support/ingest.js';
import { apiRequest } from '../../support/api-client.js';
import {
  callbackCount,
  createSmsVendor,
  postCallback,
  registerTestSmsKind,
  seedSmsDispatch,
  sentMessage,
  signatureOf,
  statusEvent,
  statusRows,
} from '../../support/status.js';

registerTestSmsKind();

const T1 = '2024-06-04T10:00:01.000Z';
const T2 = '2024-06-04T10:00:02.000Z';
const T3 = '2024-06-04T10:00:03.000Z';

let counter = 0;

describe.each(databaseKinds())('vendor callbacks on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      env: { HERALD_TOKEN_FLUSH_MS: '0', HERALD_DELIVERY_POLL_MS: '50', HERALD_CALLBACK_BODY_LIMIT_BYTES: '65536' },
    });
  });
  afterAll(() => herald?.stop());

  /** A new account with a test SMS vendor, and one invitation whose SMS has been sent. */
  async function sentSms() {
    counter += 1;
    const { account, apiKey } = await seedAccount(herald.database);
    const signingKey = `signing-key-${counter}`;
    const vendorId = await createSmsVendor(herald, apiKey, signingKey);
    const seeded = await seedSmsDispatch(herald.database, account.id, vendorId);
    const mobile = `+4479111${String(counter).padStart(5, '0')}`;
    const { invitations } = await requestRecords(herald, account.id, apiKey, seeded.dispatchId, [
      [
        { questionId: seeded.q.uuid, input: `cb-${counter}` },
        { questionId: seeded.q.mobile, input: mobile },
      ],
    ]);
    const invitationId = invitations[0]!.id;
    const message = await sentMessage(herald.database, invitationId);
    const vendorMessageId = message.vendor_message_id!;
    const post = (body: unknown, options: Parameters<typeof postCallback>[3] = {}) =>
      postCallback(herald, vendorId, body, { signingKey, ...options });
    const actions = async () => (await eventRows(herald.database, [invitationId])).map((e) => e.action);
    return { account, apiKey, vendorId, signingKey, seeded, invitationId, vendorMessageId, mobile, post, actions };
  }

  it('runs no bounce endpoint unless HERALD_BOUNCE_SMTP_PORT is set', () => {
    expect(herald.bouncePort).toBeUndefined();
  });

  it('answers 401 to a missing or wrong signature and records nothing', async () => {
    const sms = await sentSms();
    const body = { statuses: [statusEvent('e1', sms.vendorMessageId, 'delivered', T1)] };
    const wrong = await sms.post(body, { signingKey: 'not-the-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect((await sms.post(body, { signature: null })).status).toBe(401);
    // A signature over another URL (another vendor's path) does not verify this one.
    const elsewhere = signatureOf(
      sms.signingKey,
      `${herald.url}/hooks/test-sms/${sms.seeded.vendorId}`,
      JSON.stringify(body),
    );
    expect((await sms.post(body, { signature: elsewhere })).status).toBe(401);
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({
      status: 'sent',
      delivered_at: null,
    });
    expect(await callbackCount(herald.database, sms.vendorId)).toBe(0);
    expect(await sms.actions()).not.toContain(EventAction.Delivered);

    // The same report, signed, is applied.
    const signed = await sms.post(body);
    expect(signed.status).toBe(200);
    expect(signed.body).toEqual({ applied: 1, duplicates: 0, ignored: 0, unknown: 0 });
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({
      status: 'delivered',
      delivered_at: T1,
    });
  });

  it('applies a repeated callback once', async () => {
    const sms = await sentSms();
    const body = { statuses: [statusEvent('dup-1', sms.vendorMessageId, 'delivered', T1)] };
    const first = await sms.post(body);
    const [afterFirst] = await statusRows(herald.database, sms.invitationId);
    const second = await sms.post(body);
    expect(first.body).toMatchObject({ applied: 1, duplicates: 0 });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ applied: 0, duplicates: 1 });
    expect((await statusRows(herald.database, sms.invitationId))[0]).toEqual(afterFirst);
    expect((await sms.actions()).filter((a) => a === EventAction.Delivered)).toHaveLength(1);
    expect(await callbackCount(herald.database, sms.vendorId)).toBe(1);
  });

  it('only moves statuses forward: a late "sent" keeps "delivered", "read" follows, nothing undoes "read"', async () => {
    const sms = await sentSms();
    expect((await sms.post({ statuses: [statusEvent('d', sms.vendorMessageId, 'delivered', T2)] })).body).toMatchObject(
      { applied: 1 },
    );
    const late = await sms.post({ statuses: [statusEvent('s', sms.vendorMessageId, 'sent', T1)] });
    expect(late.body).toMatchObject({ applied: 0, ignored: 1 });
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({ status: 'delivered' });

    const read = await sms.post({ statuses: [statusEvent('r', sms.vendorMessageId, 'read', T3)] });
    expect(read.body).toMatchObject({ applied: 1 });
    const [message] = await statusRows(herald.database, sms.invitationId);
    expect(message).toMatchObject({ status: 'read', delivered_at: T2, read_at: T3 });

    // A delivery report or a failure after "read" changes nothing.
    const after = await sms.post({
      statuses: [
        statusEvent('d2', sms.vendorMessageId, 'delivered', T3),
        statusEvent('f', sms.vendorMessageId, 'failed', T3, { category: 'unknown', detail: 'late' }),
      ],
    });
    expect(after.body).toMatchObject({ applied: 0, ignored: 2 });
    expect((await statusRows(herald.database, sms.invitationId))[0]).toEqual(message);

    const events = await eventRows(herald.database, [sms.invitationId]);
    const receipts = events.filter((e) => e.action === EventAction.Delivered || e.action === EventAction.Read);
    expect(receipts).toEqual([
      expect.objectContaining({
        action: EventAction.Delivered,
        channel: EventChannel.SMS,
        target_id: sms.vendorMessageId,
      }),
      expect.objectContaining({ action: EventAction.Read, channel: EventChannel.SMS, target_id: sms.vendorMessageId }),
    ]);
  });

  it('records a failure as Error with a readable message; a delivery report after it is ignored', async () => {
    const sms = await sentSms();
    const failed = await sms.post({
      statuses: [
        statusEvent('f1', sms.vendorMessageId, 'failed', T1, {
          category: 'invalid_recipient',
          code: '30006',
          detail: 'Landline or unreachable carrier',
        }),
      ],
    });
    expect(failed.body).toMatchObject({ applied: 1 });
    const expected =
      'The address does not exist or is malformed: correct it and send again. Vendor said: 30006 Landline or unreachable carrier';
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({
      status: 'error',
      error_category: 'invalid_recipient',
      error_code: '30006',
      error_message: expected,
    });
    const error = (await eventRows(herald.database, [sms.invitationId])).find((e) => e.action === EventAction.Error);
    expect(error).toMatchObject({ message: expected, level: 'Error', channel: EventChannel.SMS });

    const late = await sms.post({ statuses: [statusEvent('d1', sms.vendorMessageId, 'delivered', T2)] });
    expect(late.body).toMatchObject({ ignored: 1 });
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({
      status: 'error',
      delivered_at: null,
    });
  });

  it('orders the reports of one callback by time: a bounce ends the message, a later "delivered" does not revive it', async () => {
    const sms = await sentSms();
    const answer = await sms.post({
      statuses: [
        statusEvent('late-delivered', sms.vendorMessageId, 'delivered', T3),
        statusEvent('bounce', sms.vendorMessageId, 'bounced', T2, { category: 'invalid_recipient', code: '550' }),
      ],
    });
    expect(answer.body).toMatchObject({ applied: 1, ignored: 1 });
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({
      status: 'bounced',
      delivered_at: null,
      error_category: 'invalid_recipient',
    });
    const actions = await sms.actions();
    expect(actions).toContain(EventAction.Bounced);
    expect(actions).not.toContain(EventAction.Delivered);
  });

  it('records replies and button presses as Replied on the invitation, by message or by sender', async () => {
    const sms = await sentSms();
    const long = 'x'.repeat(600);
    const answer = await sms.post({
      replies: [
        { id: 'in-1', messageId: sms.vendorMessageId, text: long, at: T1 },
        { id: 'in-2', messageId: sms.vendorMessageId, action: 'Reattempt', at: T2 },
        // No context: found by the sender's number, given without "+" as WhatsApp does.
        { id: 'in-3', from: sms.mobile.slice(1), text: 'Thanks', at: T3 },
        { id: 'in-4', from: '+447911999999', text: 'who is this?', at: T3 },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ applied: 3, duplicates: 0, ignored: 0, unknown: 1 });
    const replied = (await eventRows(herald.database, [sms.invitationId])).filter(
      (e) => e.action === EventAction.Replied,
    );
    expect(replied.map((e) => e.message)).toEqual([
      `Replied: ${'x'.repeat(500)}`,
      'Replied with action: Reattempt',
      'Replied: Thanks',
    ]);
    for (const event of replied)
      expect(event).toMatchObject({ channel: EventChannel.SMS, target_id: sms.vendorMessageId });
    // Replies leave the message's delivery status alone, and are applied once.
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({ status: 'sent' });
    const again = await sms.post({
      replies: [{ id: 'in-2', messageId: sms.vendorMessageId, action: 'Reattempt', at: T2 }],
    });
    expect(again.body).toMatchObject({ duplicates: 1, applied: 0 });
  });

  it('acknowledges reports about messages it does not know, and records nothing for them', async () => {
    const sms = await sentSms();
    const answer = await sms.post({ statuses: [statusEvent('u1', 'sms-unknown', 'delivered', T1)] });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ applied: 0, duplicates: 0, ignored: 0, unknown: 1 });
    expect(await callbackCount(herald.database, sms.vendorId)).toBe(0);
  });

  it('answers 404 for an unknown vendor or a kind that is not the vendor’s, 400 for an unreadable body', async () => {
    const sms = await sentSms();
    const body = { statuses: [statusEvent('x', sms.vendorMessageId, 'delivered', T1)] };
    const missing = await postCallback(herald, '7b0ef2a4-8f5e-4c55-9e36-1f2f1d7c0a11', body, {
      signingKey: sms.signingKey,
    });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await postCallback(herald, 'not-a-uuid', body, { signingKey: sms.signingKey })).status).toBe(404);
    // Twilio takes callbacks, but this vendor is not a Twilio one; SMTP takes none (bounces come by mail).
    expect((await sms.post(body, { kind: 'twilio' })).status).toBe(404);
    expect((await postCallback(herald, sms.seeded.vendorId, body, { kind: 'smtp' })).status).toBe(404);

    const unreadable = await sms.post('{"statuses": [');
    expect(unreadable.status).toBe(400);
    expect(unreadable.body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(String((unreadable.body.error as { message: string }).message)).toMatch(/cannot be read/);
    expect((await sms.post({ statuses: [{ id: 'no-message-id', status: 'delivered', at: T1 }] })).status).toBe(400);
    expect(await callbackCount(herald.database, sms.vendorId)).toBe(0);
    expect((await statusRows(herald.database, sms.invitationId))[0]).toMatchObject({ status: 'sent' });
  });

  it('verifies over the raw form body and the URL with its query; refuses bodies over the limit', async () => {
    const sms = await sentSms();
    const body = { statuses: [statusEvent('form-1', sms.vendorMessageId, 'delivered', T1)] };
    const form = await sms.post(body, { form: true, query: '?attempt=2&source=test' });
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({ applied: 1 });
    const tooLarge = await sms.post({ statuses: [], padding: 'p'.repeat(70_000) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(String((tooLarge.body.error as { message: string }).message)).toContain('65536');
  });

  it('answers a subscription handshake when the token matches, 403 when it does not', async () => {
    const sms = await sentSms();
    const handshake = (token: string) =>
      fetch(
        `${herald.url}/hooks/test-sms/${sms.vendorId}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=8675309`,
      );
    const ok = await handshake('verify-me');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('8675309');
    expect((await handshake('wrong')).status).toBe(403);
    expect((await fetch(`${herald.url}/hooks/smtp/${sms.seeded.vendorId}?hub.challenge=1`)).status).toBe(404);
  });

  it('works with the real WhatsApp Cloud callbacks: handshake, X-Hub-Signature-256, unknown wamid', async () => {
    const { apiKey } = await seedAccount(herald.database);
    const vendor = await api<{ id: string }>(
      herald,
      apiKey,
      'POST',
      '/api/vendors',
      {
        name: 'WhatsApp',
        kind: 'whatsapp-cloud',
        settings: { phoneNumberId: '1234567890', templateName: 'survey_invite', languageCode: 'en' },
        secrets: { accessToken: 'token', appSecret: 'app-secret', verifyToken: 'wa-verify' },
      },
      201,
    );
    const challenge = await fetch(
      `${herald.url}/hooks/whatsapp-cloud/${vendor.body.id}?hub.mode=subscribe&hub.verify_token=wa-verify&hub.challenge=42`,
    );
    expect(await challenge.text()).toBe('42');
    const raw = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          changes: [
            {
              field: 'messages',
              value: { statuses: [{ id: 'wamid.unknown', status: 'delivered', timestamp: '1717495201' }] },
            },
          ],
        },
      ],
    });
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
    const post = (secret: string) =>
      apiRequest(herald.url, `/hooks/whatsapp-cloud/${vendor.body.id}`, {
        method: 'POST',
        raw,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(secret) },
      });
    expect((await post('another-secret')).status).toBe(401);
    const signed = await post('app-secret');
    expect(signed.status).toBe(200);
    expect(signed.body).toEqual({ applied: 0, duplicates: 0, ignored: 0, unknown: 1 });
  });
});
