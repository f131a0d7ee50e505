import { describe, expect, it } from 'vitest';
import type { CallbackRequest } from '../../../src/vendors/vendor.js';
import { sparkPostCallbacks } from '../../../src/vendors/sparkpost/sparkpost-callbacks.js';

const handler = sparkPostCallbacks;

const request = (headers: Record<string, string | undefined>, body: unknown = []): CallbackRequest => ({
  url: 'https://herald.test/callbacks/sparkpost',
  headers,
  rawBody: typeof body === 'string' ? body : JSON.stringify(body),
});
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const MESSAGE_ID = '6c1a2e4f-0d3b-4c55-9a6e-1f2b3c4d5e6f';
/** A message event as SparkPost's webhooks send it (fields trimmed to those that matter here). */
const messageEvent = (fields: Record<string, unknown>) => ({
  msys: {
    message_event: {
      event_id: '92356927693813856',
      transmission_id: '7000000001',
      rcpt_to: 'ann@example.com',
      rcpt_meta: { herald_message_id: MESSAGE_ID },
      timestamp: '1717243200',
      ...fields,
    },
  },
});

describe('SparkPost webhook authentication', () => {
  const basicSecrets = { apiKey: 'k', webhookUsername: 'sparkpost', webhookPassword: 'correct horse battery' };
  const tokenSecrets = { apiKey: 'k', webhookToken: 'a-long-webhook-token-0123456789' };

  it('accepts the Basic credentials configured on the webhook and refuses any other', () => {
    expect(
      handler.verify(request({ authorization: basic('sparkpost', 'correct horse battery') }), {}, basicSecrets),
    ).toBe(true);
    // Header names arrive in any case.
    expect(
      handler.verify(request({ Authorization: basic('sparkpost', 'correct horse battery') }), {}, basicSecrets),
    ).toBe(true);
    expect(handler.verify(request({ authorization: basic('sparkpost', 'wrong') }), {}, basicSecrets)).toBe(false);
    expect(handler.verify(request({ authorization: basic('other', 'correct horse battery') }), {}, basicSecrets)).toBe(
      false,
    );
    expect(handler.verify(request({ authorization: 'Bearer correct horse battery' }), {}, basicSecrets)).toBe(false);
    expect(handler.verify(request({}), {}, basicSecrets)).toBe(false);
  });

  it('accepts the custom header token, in the header the vendor names', () => {
    const token = tokenSecrets.webhookToken;
    expect(handler.verify(request({ 'x-herald-webhook-token': token }), {}, tokenSecrets)).toBe(true);
    expect(handler.verify(request({ 'x-herald-webhook-token': `${token}x` }), {}, tokenSecrets)).toBe(false);
    expect(handler.verify(request({ 'x-herald-webhook-token': token.slice(1) }), {}, tokenSecrets)).toBe(false);
    const named = { webhookTokenHeader: 'X-Acme-Hook' };
    expect(handler.verify(request({ 'x-acme-hook': token }), named, tokenSecrets)).toBe(true);
    expect(handler.verify(request({ 'x-herald-webhook-token': token }), named, tokenSecrets)).toBe(false);
  });

  it('needs every configured credential, and accepts nothing when none is configured', () => {
    const both = { ...basicSecrets, ...tokenSecrets };
    const good = {
      authorization: basic('sparkpost', 'correct horse battery'),
      'x-herald-webhook-token': both.webhookToken,
    };
    expect(handler.verify(request(good), {}, both)).toBe(true);
    expect(handler.verify(request({ ...good, 'x-herald-webhook-token': 'nope' }), {}, both)).toBe(false);
    expect(handler.verify(request({ ...good, authorization: undefined }), {}, both)).toBe(false);
    expect(handler.verify(request(good), {}, { apiKey: 'k' })).toBe(false);
  });
});

describe('SparkPost webhook events', () => {
  const vendorMessageId = `7000000001:${MESSAGE_ID}`;

  it('reads deliveries and opens, named by transmission and Herald message id, applied once by event id', () => {
    const { statuses, replies } = handler.parse(
      request({}, [
        messageEvent({ type: 'delivery', event_id: 'e-1' }),
        { msys: { track_event: { ...messageEvent({}).msys.message_event, type: 'open', event_id: 'e-2' } } },
      ]),
    );
    expect(replies).toEqual([]);
    expect(statuses).toEqual([
      {
        externalEventId: 'e-1',
        vendorMessageId,
        status: 'delivered',
        occurredAt: new Date('2024-06-01T12:00:00Z'),
      },
      { externalEventId: 'e-2', vendorMessageId, status: 'read', occurredAt: new Date('2024-06-01T12:00:00Z') },
    ]);
  });

  it('reads bounces with their class as a category, and rejections as failures', () => {
    const { statuses } = handler.parse(
      request({}, [
        messageEvent({
          type: 'bounce',
          event_id: 'b-hard',
          bounce_class: '10',
          error_code: '550',
          raw_reason: '550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown',
        }),
        messageEvent({ type: 'bounce', event_id: 'b-full', bounce_class: 22, raw_reason: '452 4.2.2 Mailbox full' }),
        messageEvent({
          type: 'bounce',
          event_id: 'b-suppressed',
          bounce_class: '25',
          error_code: '554',
          raw_reason: '554 5.7.1 recipient address was suppressed due to customer policy',
        }),
        messageEvent({
          type: 'policy_rejection',
          event_id: 'p-1',
          raw_reason: '550 5.7.1 Unconfigured Sending Domain',
        }),
        messageEvent({ type: 'generation_failure', event_id: 'g-1', raw_reason: 'substitution error' }),
        messageEvent({ type: 'out_of_band', event_id: 'o-1', bounce_class: '10', raw_reason: 'late bounce' }),
      ]),
    );
    expect(statuses.map((s) => [s.externalEventId, s.status, s.category, s.code])).toEqual([
      ['b-hard', 'bounced', 'invalid_recipient', '550'],
      ['b-full', 'bounced', 'mailbox_unavailable', '22'],
      ['b-suppressed', 'bounced', 'blocked_or_spam', '554'],
      ['p-1', 'failed', 'blocked_or_spam', null],
      ['g-1', 'failed', 'content_rejected', null],
      ['o-1', 'bounced', 'invalid_recipient', '10'],
    ]);
    expect(statuses[0]!.detail).toBe(
      '550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown (bounce class 10)',
    );
    expect(statuses.every((s) => s.vendorMessageId === vendorMessageId)).toBe(true);
  });

  it('ignores the test ping, events Herald does not record, auto-replies and mail Herald did not send', () => {
    const { statuses } = handler.parse(
      request({}, [
        { msys: {} },
        messageEvent({ type: 'injection' }),
        messageEvent({ type: 'delay', raw_reason: '421 try later' }),
        messageEvent({ type: 'click' }),
        messageEvent({ type: 'bounce', bounce_class: '60', raw_reason: 'Out of office' }),
        messageEvent({ type: 'delivery', rcpt_meta: {} }),
        messageEvent({ type: 'delivery', timestamp: 'yesterday' }),
      ]),
    );
    expect(statuses).toEqual([]);
  });

  it('reads ISO timestamps too (the Events API form)', () => {
    const { statuses } = handler.parse(
      request({}, [messageEvent({ type: 'delivery', timestamp: '2024-06-01T12:00:05.000Z' })]),
    );
    expect(statuses[0]!.occurredAt).toEqual(new Date('2024-06-01T12:00:05Z'));
  });

  it('refuses a body that is not a JSON array of events with a readable message', () => {
    expect(() => handler.parse(request({}, '{"msys": {}}'))).toThrow(/JSON array/);
    expect(() => handler.parse(request({}, 'not json'))).toThrow(/not JSON/);
  });
});
