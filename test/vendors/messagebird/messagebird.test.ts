import { createHash, createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { messageBirdCallbacks } from '../../../src/vendors/messagebird/messagebird-callbacks.js';
import { verifyMessageBirdJwt } from '../../../src/vendors/messagebird/messagebird-signature.js';
import { messageBirdAdapter } from '../../../src/vendors/messagebird/messagebird-adapter.js';
import type { SingleSendVendor } from '../../../src/vendors/vendor.js';
import { closedPort } from '../../support/delivery.js';
import { outgoing, startFakeVendorServer, type FakeVendorServer } from '../../support/fake-vendor-server.js';
import { loopbackEgress } from '../../support/egress.js';

const ACCESS_KEY = 'live_5kVL9vyFrvZcYhDYYXJAeXyPh';
const SIGNING_KEY = 'PlLrKaqvZNRR5zAjm42ZT6q1SQxgbbGd';

/** MessageBird's answer to POST /messages (201 Created), as its API reference shows it. */
function createdMessage(id: string, reference: string) {
  return {
    id,
    href: `https://rest.messagebird.com/messages/${id}`,
    direction: 'mt',
    type: 'sms',
    originator: 'Herald',
    body: 'Please tell us about your visit',
    reference,
    validity: null,
    gateway: 10,
    typeDetails: {},
    datacoding: 'plain',
    mclass: 1,
    scheduledDatetime: null,
    createdDatetime: '2024-05-02T09:00:00+00:00',
    recipients: {
      totalCount: 1,
      totalSentCount: 1,
      totalDeliveredCount: 0,
      totalDeliveryFailedCount: 0,
      items: [{ recipient: 447700900123, status: 'sent', statusDatetime: '2024-05-02T09:00:00+00:00' }],
    },
  };
}

function vendorAt(baseUrl: string, extra: Record<string, unknown> = {}): SingleSendVendor {
  const vendor = messageBirdAdapter.create(
    { baseUrl, originator: 'Herald', reportUrl: 'https://herald.test/hooks/mb', timeoutMs: 2000, ...extra },
    { accessKey: ACCESS_KEY, signingKey: SIGNING_KEY },
    loopbackEgress,
  );
  if (vendor.delivery !== 'single') throw new Error('messagebird must be single-send');
  return vendor;
}

describe('MessageBird SMS vendor', () => {
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

  it('posts the documented request and returns the message id', async () => {
    fake.answer((r) => ({
      status: 201,
      body: createdMessage('e8077d803532c0b5937c639b60216938', (JSON.parse(r.body) as { reference: string }).reference),
    }));
    const message = outgoing();
    const outcome = await vendor.send(message);
    expect(outcome).toEqual({ ok: true, vendorMessageId: 'e8077d803532c0b5937c639b60216938' });
    expect(fake.received).toHaveLength(1);
    const [request] = fake.received;
    expect(request).toMatchObject({ method: 'POST', path: '/messages' });
    expect(request!.headers.authorization).toBe(`AccessKey ${ACCESS_KEY}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      originator: 'Herald',
      recipients: ['447700900123'],
      body: message.text,
      reference: message.id,
      reportUrl: 'https://herald.test/hooks/mb',
    });
  });

  it.each([
    [401, 2, 'Request not allowed (incorrect access_key)', 'access_key', 'auth_or_config', false],
    [422, 9, 'no (correct) recipients found', 'recipient', 'invalid_recipient', false],
    [422, 9, 'originator is required', 'originator', 'auth_or_config', false],
    [422, 25, 'Not enough balance', null, 'auth_or_config', false],
    [422, 21, 'Bad request', 'body', 'content_rejected', false],
    [500, 99, 'Internal error', null, 'vendor_unavailable', true],
  ] as const)(
    'translates HTTP %i with error %i into its category',
    async (status, code, description, parameter, category, retryable) => {
      fake.answer(() => ({ status, body: { errors: [{ code, description, parameter }] } }));
      const outcome = await vendor.send(outgoing());
      expect(outcome).toMatchObject({ ok: false, category, retryable, code: String(code) });
      expect(!outcome.ok && outcome.detail).toContain(description);
    },
  );

  it('slows down on 429 for as long as Retry-After says', async () => {
    fake.answer(() => ({ status: 429, headers: { 'retry-after': '12' }, body: { errors: [] } }));
    expect(await vendor.send(outgoing())).toMatchObject({
      ok: false,
      category: 'rate_limited',
      retryable: true,
      retryAfterMs: 12_000,
    });
  });

  it('retries a 5xx without a body', async () => {
    fake.answer(() => ({ status: 503, body: 'Service Unavailable' }));
    expect(await vendor.send(outgoing())).toMatchObject({
      ok: false,
      category: 'vendor_unavailable',
      retryable: true,
      code: '503',
    });
  });

  it('gives up waiting after the timeout and retries', async () => {
    fake.answer(() => 'hang');
    const impatient = vendorAt(fake.url, { timeoutMs: 150 });
    const outcome = await impatient.send(outgoing());
    await impatient.close();
    expect(outcome).toMatchObject({ ok: false, category: 'network', retryable: true, code: 'timeout' });
    expect(fake.received).toHaveLength(1);
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
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Signs like MessageBird does (HS256 over header.payload with the signing key). */
function signatureJwt(claims: Record<string, unknown>, key = SIGNING_KEY): string {
  const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

function claimsFor(url: string, body = '', overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'MessageBird',
    nbf: now,
    exp: now + 60,
    jti: randomUUID(),
    url_hash: sha256(url),
    ...(body && { payload_hash: sha256(body) }),
    ...overrides,
  };
}

const REPORT_URL =
  'https://herald.test/hooks/mb?id=e8077d803532c0b5937c639b60216938&reference=6f1c2a4e-0b7d-4c1e-9a55-2d3b8e9f0a11' +
  '&recipient=447700900123&status=delivered&statusReason=successfully%20delivered&statusErrorCode=&statusDatetime=2024-05-02T09%3A00%3A05%2B00%3A00' +
  '&mccmnc=23410&ported=0&price%5Bamount%5D=0.07&price%5Bcurrency%5D=EUR&messageLength=44&messagePartCount=1';

describe('MessageBird status reports', () => {
  const secrets = { accessKey: ACCESS_KEY, signingKey: SIGNING_KEY };

  it('accepts a report signed with the signing key over its URL (GET, no body)', () => {
    const request = {
      url: REPORT_URL,
      headers: { 'messagebird-signature-jwt': signatureJwt(claimsFor(REPORT_URL)) },
      rawBody: '',
    };
    expect(messageBirdCallbacks.verify(request, {}, secrets)).toBe(true);
    expect(messageBirdCallbacks.parse(request)).toEqual({
      statuses: [
        {
          externalEventId: 'e8077d803532c0b5937c639b60216938:delivered:2024-05-02T09:00:05+00:00',
          vendorMessageId: 'e8077d803532c0b5937c639b60216938',
          status: 'delivered',
          occurredAt: new Date('2024-05-02T09:00:05Z'),
        },
      ],
      replies: [],
    });
  });

  it('accepts a POSTed form report whose payload hash matches, and reads a failure', () => {
    const url = 'https://herald.test/hooks/mb';
    const body = new URLSearchParams({
      id: 'e8077d803532c0b5937c639b60216938',
      reference: 'ref',
      recipient: '447700900123',
      status: 'delivery_failed',
      statusReason: 'unknown subscriber',
      statusErrorCode: '1',
      statusDatetime: '2024-05-02T09:01:00+00:00',
    }).toString();
    const request = {
      url,
      headers: { 'MessageBird-Signature-JWT': signatureJwt(claimsFor(url, body)) },
      rawBody: body,
    };
    expect(messageBirdCallbacks.verify(request, {}, secrets)).toBe(true);
    const [report] = messageBirdCallbacks.parse(request).statuses;
    expect(report).toMatchObject({
      vendorMessageId: 'e8077d803532c0b5937c639b60216938',
      status: 'failed',
      category: 'invalid_recipient',
      code: '1',
      detail: 'MessageBird: unknown subscriber',
    });
  });

  it('reads an expired message as failed with the handset unavailable, and ignores buffered', () => {
    const expired = messageBirdCallbacks.parse({
      url: 'https://h.test/?id=m1&status=expired&statusDatetime=2024-05-02T10:00:00Z',
      headers: {},
      rawBody: '',
    });
    expect(expired.statuses).toMatchObject([{ status: 'failed', category: 'mailbox_unavailable' }]);
    const buffered = messageBirdCallbacks.parse({
      url: 'https://h.test/?id=m1&status=buffered',
      headers: {},
      rawBody: '',
    });
    expect(buffered).toEqual({ statuses: [], replies: [] });
  });

  it.each([
    ['no signature header', () => ({})],
    [
      'a wrong signing key',
      () => ({ 'messagebird-signature-jwt': signatureJwt(claimsFor(REPORT_URL), 'another-key') }),
    ],
    [
      'a URL that was changed',
      () => ({ 'messagebird-signature-jwt': signatureJwt(claimsFor(REPORT_URL.replace('delivered', 'x'))) }),
    ],
    [
      'an expired token',
      () => ({
        'messagebird-signature-jwt': signatureJwt(
          claimsFor(REPORT_URL, '', { exp: Math.floor(Date.now() / 1000) - 60 }),
        ),
      }),
    ],
    [
      'another issuer',
      () => ({ 'messagebird-signature-jwt': signatureJwt(claimsFor(REPORT_URL, '', { iss: 'Mallory' })) }),
    ],
    ['a token that is not a JWT', () => ({ 'messagebird-signature-jwt': 'not.a-jwt' })],
  ])('refuses a report with %s', (_what, headers) => {
    expect(messageBirdCallbacks.verify({ url: REPORT_URL, headers: headers(), rawBody: '' }, {}, secrets)).toBe(false);
  });

  it('refuses a body that the token does not cover, and any report when no signing key is configured', () => {
    const signed = { 'messagebird-signature-jwt': signatureJwt(claimsFor(REPORT_URL)) };
    expect(
      messageBirdCallbacks.verify({ url: REPORT_URL, headers: signed, rawBody: 'status=delivered' }, {}, secrets),
    ).toBe(false);
    expect(
      messageBirdCallbacks.verify({ url: REPORT_URL, headers: signed, rawBody: '' }, {}, { accessKey: ACCESS_KEY }),
    ).toBe(false);
  });

  // From MessageBird's SDK reference data (lib/testdata/webhook-signature-jwt-reference.json).
  const REFERENCE_SECRET = '36efdd1aace2e26cd490f0d951138253bef2f7c6d34d18981da781555cc4cebb';
  const REFERENCE_NOW = Date.parse('2021-07-05T12:00:00+02:00') / 1000;
  it("agrees with MessageBird's reference vectors", () => {
    const valid =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI5M2U1NTAwNi1hMGU4LTQ1MjYtYTE5MC1mYTVmZjAwZWExMTYiLCJ1cmxfaGFzaCI6IjQxZjA1ZjBkZGQwYTIyYWIyMDlhYzQ2ZjQ3YzQ1NzJkOWNlZmEyNTdlZDc0YjI0MDA0YmFlNzUzZWNlNmMyNjAiLCJwYXlsb2FkX2hhc2giOiJkZmZkNjAyMWJiMmJkNWIwYWY2NzYyOTA4MDllYzNhNTMxOTFkZDgxYzdmNzBhNGIyODY4OGEzNjIxODI5ODZmIn0._H--TOuYFLpeEH39-rg5E3IHVkjHozBcaKVWPRC5m9I';
    expect(
      verifyMessageBirdJwt(
        valid,
        'https://example.com/path?bar=1&foo=2',
        'Hello, World!',
        REFERENCE_SECRET,
        REFERENCE_NOW,
      ),
    ).toBe(true);
    // The same token a minute and a half later is expired.
    expect(
      verifyMessageBirdJwt(
        valid,
        'https://example.com/path?bar=1&foo=2',
        'Hello, World!',
        REFERENCE_SECRET,
        REFERENCE_NOW + 90,
      ),
    ).toBe(false);
    const payloadMismatch =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiIxNDUwMTUzMi05NmYyLTQ2ODQtOTgzMi02OGYwOTUxYWUzNDIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDciLCJwYXlsb2FkX2hhc2giOiJmYjYyZjAyYWNkYTdkNzQxNzdhNzAxYTFjZTAwNmU2YmFjZDkwYzdkNGQ3YWI0ODE2OTJjMWRhNDdjODEwNzZiIn0.m79RCwO6dGa9pvzsQypkVuXQ6eM0CkRl6_U7MfWg6TM';
    expect(
      verifyMessageBirdJwt(payloadMismatch, 'https://example.com/', 'Hello, World!', REFERENCE_SECRET, REFERENCE_NOW),
    ).toBe(false);
  });

  it('says what is wrong with a report it cannot read', () => {
    const read = (url: string, rawBody: string) => () => messageBirdCallbacks.parse({ url, headers: {}, rawBody });
    expect(read('https://h.test/', '{"id": ')).toThrow(/MessageBird status report body is not JSON/);
    expect(read('https://h.test/?status=delivered', '')).toThrow(/has no id/);
    expect(read('https://h.test/?id=m1', '')).toThrow(/has no status/);
    expect(read('https://h.test/?id=m1&status=delivered&statusDatetime=yesterday', '')).toThrow(
      /statusDatetime that is not a date/,
    );
  });
});
