import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { twilioCallbacks } from '../../../src/vendors/twilio/twilio-callbacks.js';
import { twilioSignature } from '../../../src/vendors/twilio/twilio-signature.js';
import { twilioAdapter } from '../../../src/vendors/twilio/twilio-adapter.js';
import type { SingleSendVendor } from '../../../src/vendors/vendor.js';
import { closedPort } from '../../support/delivery.js';
import { outgoing, startFakeVendorServer, type FakeVendorServer } from '../../support/fake-vendor-server.js';
import { loopbackEgress } from '../../support/egress.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const SERVICE_SID = 'MG0123456789abcdef0123456789abcdef';
const MESSAGES_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;

/** Twilio's 201 answer to creating a Message, as its API reference shows it. */
function createdMessage(sid: string, to: string, body: string) {
  return {
    account_sid: ACCOUNT_SID,
    api_version: '2010-04-01',
    body,
    date_created: 'Thu, 02 May 2024 09:00:00 +0000',
    date_sent: null,
    date_updated: 'Thu, 02 May 2024 09:00:00 +0000',
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: '+15017122661',
    messaging_service_sid: null,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid,
    status: 'queued',
    subresource_uris: { media: `${MESSAGES_PATH.replace('.json', '')}/${sid}/Media.json` },
    to,
    uri: `${MESSAGES_PATH.replace('.json', '')}/${sid}.json`,
  };
}

function vendorAt(baseUrl: string, extra: Record<string, unknown> = {}): SingleSendVendor {
  const vendor = twilioAdapter.create(
    {
      baseUrl,
      accountSid: ACCOUNT_SID,
      from: '+15017122661',
      statusCallback: 'https://herald.test/hooks/twilio',
      timeoutMs: 2000,
      ...extra,
    },
    { authToken: AUTH_TOKEN },
    loopbackEgress,
  );
  if (vendor.delivery !== 'single') throw new Error('twilio must be single-send');
  return vendor;
}

describe('Twilio SMS vendor', () => {
  let fake: FakeVendorServer;
  let vendor: SingleSendVendor;
  beforeAll(async () => {
    fake = await startFakeVendorServer();
    vendor = vendorAt(fake.url);
  });
  afterAll(async () => {
    await vendor?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.received.length = 0;
  });

  it('posts the documented form with basic auth and returns the message sid', async () => {
    fake.answer((r) => {
      const form = new URLSearchParams(r.body);
      return {
        status: 201,
        body: createdMessage('SM1f0e8ae6ade43cb3c0ce4525424e404f', form.get('To')!, form.get('Body')!),
      };
    });
    const message = outgoing();
    expect(await vendor.send(message)).toEqual({ ok: true, vendorMessageId: 'SM1f0e8ae6ade43cb3c0ce4525424e404f' });
    const [request] = fake.received;
    expect(request).toMatchObject({ method: 'POST', path: MESSAGES_PATH });
    expect(request!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
    );
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(request!.body))).toEqual({
      To: '+447700900123',
      From: '+15017122661',
      Body: message.text,
      StatusCallback: 'https://herald.test/hooks/twilio',
    });
  });

  it('sends through a Messaging Service when the sender is its SID', async () => {
    fake.answer(() => ({ status: 201, body: createdMessage('SM2', '+447700900123', 'x') }));
    const viaService = vendorAt(fake.url, { from: SERVICE_SID, statusCallback: undefined });
    expect(await viaService.send(outgoing())).toMatchObject({ ok: true, vendorMessageId: 'SM2' });
    await viaService.close();
    const form = new URLSearchParams(fake.received[0]!.body);
    expect(form.get('MessagingServiceSid')).toBe(SERVICE_SID);
    expect(form.has('From')).toBe(false);
    expect(form.has('StatusCallback')).toBe(false);
  });

  const twilioError = (status: number, code: number, message: string) => ({
    status,
    body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
  });

  it.each([
    [400, 21211, "Invalid 'To' Phone Number: +4477009001XX", 'invalid_recipient', false],
    [400, 21614, "'To' number is not a valid mobile number", 'invalid_recipient', false],
    [400, 21610, 'Attempt to send to unsubscribed recipient', 'blocked_or_spam', false],
    [401, 20003, 'Authenticate', 'auth_or_config', false],
    [
      400,
      21606,
      "The 'From' phone number provided is not a valid message-capable Twilio phone number.",
      'auth_or_config',
      false,
    ],
    [400, 21617, 'The concatenated message body exceeds the 1600 character limit', 'content_rejected', false],
    [400, 21611, "This 'From' number has exceeded the maximum number of queued messages", 'rate_limited', true],
    [400, 99999, 'Something Herald has never heard of', 'unknown', false],
  ] as const)('translates HTTP %i with error %i', async (status, code, message, category, retryable) => {
    fake.answer(() => twilioError(status, code, message));
    const outcome = await vendor.send(outgoing());
    expect(outcome).toMatchObject({ ok: false, category, retryable, code: String(code) });
    expect(!outcome.ok && outcome.detail).toContain(`https://www.twilio.com/docs/errors/${code}`);
  });

  it('keeps the number Twilio echoes out of the detail', async () => {
    fake.answer(() => twilioError(400, 21211, "The 'To' number +447700900123 is not a valid phone number."));
    const outcome = await vendor.send(outgoing());
    expect(!outcome.ok && outcome.detail).toBe(
      "Twilio: The 'To' number [number] is not a valid phone number. (https://www.twilio.com/docs/errors/21211)",
    );
  });

  it('slows down on 429 Too Many Requests for as long as Retry-After says', async () => {
    fake.answer(() => ({ ...twilioError(429, 20429, 'Too Many Requests'), headers: { 'Retry-After': '3' } }));
    expect(await vendor.send(outgoing())).toMatchObject({
      ok: false,
      category: 'rate_limited',
      retryable: true,
      code: '20429',
      retryAfterMs: 3000,
    });
  });

  it('retries a 5xx', async () => {
    fake.answer(() => twilioError(500, 20500, 'Internal Server Error'));
    expect(await vendor.send(outgoing())).toMatchObject({ ok: false, category: 'vendor_unavailable', retryable: true });
  });

  it('gives up waiting after the timeout and retries', async () => {
    fake.answer(() => 'hang');
    const impatient = vendorAt(fake.url, { timeoutMs: 150 });
    const outcome = await impatient.send(outgoing());
    await impatient.close();
    expect(outcome).toMatchObject({ ok: false, category: 'network', retryable: true, code: 'timeout' });
  });

  it('retries when the connection is refused', async () => {
    const closed = vendorAt(`http://127.0.0.1:${await closedPort()}`);
    expect(await closed.send(outgoing())).toMatchObject({
      ok: false,
      category: 'network',
      retryable: true,
      code: 'ECONNREFUSED',
    });
    await closed.close();
  });

  it('sends no faster than its rate limit', async () => {
    fake.answer(() => ({ status: 201, body: createdMessage('SM3', '+447700900123', 'x') }));
    // Two a second: a burst of two, then one every 500 ms.
    const limited = vendorAt(fake.url, { rateLimitPerSecond: 2 });
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => limited.send(outgoing())));
    await limited.close();
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const times = fake.received.map((r) => r.at).sort((a, b) => a - b);
    expect(times).toHaveLength(4);
    // The 3rd and 4th came at least ~500 and ~1000 ms after the first (a little slack for timers).
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(450);
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(950);
  });
});

const CALLBACK_URL = 'https://herald.test/hooks/twilio/5f0c7c3e';

/** A status callback as Twilio posts it, signed with the auth token. */
function statusCallback(fields: Record<string, string>, token = AUTH_TOKEN) {
  const params = new URLSearchParams({
    AccountSid: ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    From: '+15017122661',
    To: '+447700900123',
    ...fields,
  });
  return {
    url: CALLBACK_URL,
    headers: { 'x-twilio-signature': twilioSignature(token, CALLBACK_URL, params) },
    rawBody: params.toString(),
  };
}

describe('Twilio status callbacks', () => {
  const secrets = { authToken: AUTH_TOKEN };

  it("computes the signature of Twilio's documented example", () => {
    const params = new URLSearchParams(
      'CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212',
    );
    expect(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params)).toBe(
      '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
    );
  });

  it('accepts a signed delivered callback and reads it', () => {
    const request = statusCallback({
      MessageSid: 'SM1f0e',
      SmsSid: 'SM1f0e',
      MessageStatus: 'delivered',
      SmsStatus: 'delivered',
    });
    expect(twilioCallbacks.verify(request, {}, secrets)).toBe(true);
    const { statuses, replies } = twilioCallbacks.parse(request);
    expect(replies).toEqual([]);
    expect(statuses).toEqual([
      {
        externalEventId: 'SM1f0e:delivered',
        vendorMessageId: 'SM1f0e',
        status: 'delivered',
        occurredAt: expect.any(Date) as unknown,
      },
    ]);
  });

  it('accepts the signature Twilio computed over the URL with its default port', () => {
    const params = new URLSearchParams({ MessageSid: 'SM1', MessageStatus: 'sent' });
    const signature = twilioSignature(AUTH_TOKEN, 'https://herald.test:443/hooks/twilio/5f0c7c3e', params);
    expect(
      twilioCallbacks.verify(
        { url: CALLBACK_URL, headers: { 'X-Twilio-Signature': signature }, rawBody: params.toString() },
        {},
        secrets,
      ),
    ).toBe(true);
  });

  it('reads undelivered and failed with their error codes', () => {
    const undelivered = twilioCallbacks.parse(
      statusCallback({ MessageSid: 'SM1', MessageStatus: 'undelivered', ErrorCode: '30003' }),
    );
    expect(undelivered.statuses).toMatchObject([
      {
        status: 'bounced',
        category: 'mailbox_unavailable',
        code: '30003',
        detail: expect.stringContaining('30003') as unknown,
      },
    ]);
    const failed = twilioCallbacks.parse(
      statusCallback({ MessageSid: 'SM2', MessageStatus: 'failed', ErrorCode: '30007' }),
    );
    expect(failed.statuses).toMatchObject([{ status: 'failed', category: 'blocked_or_spam', code: '30007' }]);
    expect(twilioCallbacks.parse(statusCallback({ MessageSid: 'SM3', MessageStatus: 'queued' }))).toEqual({
      statuses: [],
      replies: [],
    });
  });

  it('reads an incoming SMS as a reply from its sender', () => {
    const request = statusCallback({ MessageSid: 'SM9', SmsStatus: 'received', Body: 'STOP', From: '+447700900123' });
    expect(twilioCallbacks.parse(request)).toEqual({
      statuses: [],
      replies: [
        {
          externalEventId: 'SM9',
          vendorMessageId: null,
          text: 'STOP',
          from: '+447700900123',
          occurredAt: expect.any(Date) as unknown,
        },
      ],
    });
  });

  it.each([
    ['no signature', (r: ReturnType<typeof statusCallback>) => ({ ...r, headers: {} })],
    [
      'a signature with another token',
      () => statusCallback({ MessageSid: 'SM1', MessageStatus: 'delivered' }, 'another-token'),
    ],
    [
      'a body changed after signing',
      (r: ReturnType<typeof statusCallback>) => ({ ...r, rawBody: r.rawBody.replace('delivered', 'failed') }),
    ],
    ['another URL', (r: ReturnType<typeof statusCallback>) => ({ ...r, url: `${CALLBACK_URL}x` })],
  ])('refuses a callback with %s', (_what, change) => {
    const request = change(statusCallback({ MessageSid: 'SM1', MessageStatus: 'delivered' }));
    expect(twilioCallbacks.verify(request, {}, secrets)).toBe(false);
  });

  it('refuses every callback when no auth token is configured', () => {
    expect(twilioCallbacks.verify(statusCallback({ MessageSid: 'SM1', MessageStatus: 'sent' }), {}, {})).toBe(false);
  });

  it('says what is wrong with a callback it cannot read', () => {
    const read = (rawBody: string) => () => twilioCallbacks.parse({ url: CALLBACK_URL, headers: {}, rawBody });
    expect(read('{"MessageSid":"SM1"}')).toThrow(/body is JSON; Twilio posts status callbacks form-encoded/);
    expect(read('MessageStatus=delivered')).toThrow(/has no MessageSid/);
    expect(read('MessageSid=SM1')).toThrow(/has no MessageStatus/);
  });

  it('checks a JSON body against the bodySHA256 Twilio signs in the URL', () => {
    const rawBody = '{"MessageSid":"SM1"}';
    const signed = (url: string) => ({
      url,
      headers: { 'x-twilio-signature': twilioSignature(AUTH_TOKEN, url, new URLSearchParams()) },
      rawBody,
    });
    const bodyHash = createHash('sha256').update(rawBody).digest('hex');
    expect(twilioCallbacks.verify(signed(`${CALLBACK_URL}?bodySHA256=${bodyHash}`), {}, secrets)).toBe(true);
    // The URL is signed, but its hash is not the body's.
    expect(twilioCallbacks.verify(signed(`${CALLBACK_URL}?bodySHA256=${'0'.repeat(64)}`), {}, secrets)).toBe(false);
  });
});
