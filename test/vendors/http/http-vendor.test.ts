import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpVendorCallbacks } from '../../../src/vendors/http/http-callbacks.js';
import { httpVendorAdapter } from '../../../src/vendors/http/http-adapter.js';
import type { SingleSendVendor } from '../../../src/vendors/vendor.js';
import { closedPort } from '../../support/delivery.js';
import { outgoing, startFakeVendorServer, type FakeVendorServer } from '../../support/fake-vendor-server.js';
import { loopbackEgress } from '../../support/egress.js';

const BODY_TEMPLATE = {
  destination: '{{to}}',
  content: { text: '{{text}}', subject: '{{subject}}' },
  clientRef: '{{messageId}}',
  survey: '{{links.survey}}',
  priority: 2,
};

function vendorAt(url: string, extra: Record<string, unknown> = {}, secrets: Record<string, unknown> = {}) {
  const vendor = httpVendorAdapter.create(
    {
      channel: 'sms',
      url,
      method: 'PUT',
      headers: { 'X-Tenant': 'acme' },
      bodyTemplate: BODY_TEMPLATE,
      messageIdPath: 'data.messages[0].id',
      timeoutMs: 2000,
      ...extra,
    },
    { headers: { Authorization: 'Bearer gw-secret-token' }, ...secrets },
    loopbackEgress,
  );
  if (vendor.delivery !== 'single') throw new Error('http must be single-send');
  return vendor;
}

describe('generic HTTP vendor', () => {
  let fake: FakeVendorServer;
  let vendor: SingleSendVendor;
  beforeAll(async () => {
    fake = await startFakeVendorServer();
    vendor = vendorAt(`${fake.url}/v1/sms/send?channel=survey`);
  });
  afterAll(async () => {
    await vendor?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.received.length = 0;
  });

  it('sends the rendered JSON body with the configured and secret headers, and reads the id at its path', async () => {
    fake.answer(() => ({ status: 202, body: { data: { messages: [{ id: 'gw-981' }] } } }));
    const message = outgoing({ text: 'Say "hello"\nand tell us: https://herald.test/s/tok123', subject: 'Hi' });
    expect(await vendor.send(message)).toEqual({ ok: true, vendorMessageId: 'gw-981' });
    const [request] = fake.received;
    expect(request).toMatchObject({ method: 'PUT', path: '/v1/sms/send?channel=survey' });
    expect(request!.headers).toMatchObject({
      authorization: 'Bearer gw-secret-token',
      'x-tenant': 'acme',
      'content-type': 'application/json',
    });
    expect(JSON.parse(request!.body)).toEqual({
      destination: '+447700900123',
      content: { text: 'Say "hello"\nand tell us: https://herald.test/s/tok123', subject: 'Hi' },
      clientRef: message.id,
      survey: 'https://herald.test/s/tok123',
      priority: 2,
    });
  });

  it("takes a body template given as JSON text, and uses Herald's id when the answer has none", async () => {
    fake.answer(() => ({ status: 200, body: 'OK' }));
    const textual = vendorAt(`${fake.url}/send`, {
      method: 'POST',
      bodyTemplate: '{"to":"{{to}}","body":"{{text}}"}',
      messageIdPath: undefined,
    });
    const message = outgoing();
    expect(await textual.send(message)).toEqual({ ok: true, vendorMessageId: message.id });
    await textual.close();
    expect(fake.received[0]).toMatchObject({ method: 'POST', path: '/send' });
    expect(JSON.parse(fake.received[0]!.body)).toEqual({ to: '+447700900123', body: message.text });
  });

  it.each([
    [400, 'unknown', false],
    [422, 'unknown', false],
    [401, 'auth_or_config', false],
    [403, 'auth_or_config', false],
    [404, 'auth_or_config', false],
    [413, 'content_rejected', false],
    [500, 'vendor_unavailable', true],
    [503, 'vendor_unavailable', true],
  ] as const)('translates HTTP %i', async (status, category, retryable) => {
    fake.answer(() => ({ status, body: { error: 'destination +447700900123 refused' } }));
    const outcome = await vendor.send(outgoing());
    expect(outcome).toMatchObject({ ok: false, category, retryable, code: String(status) });
    // Only a summary is kept: the body of whatever the URL reached is never read back through Herald.
    expect(!outcome.ok && outcome.detail).toBe(`The endpoint answered HTTP ${status} (application/json, 45 bytes)`);
  });

  it('slows down on 429 for as long as Retry-After says', async () => {
    fake.answer(() => ({ status: 429, headers: { 'retry-after': '5' } }));
    expect(await vendor.send(outgoing())).toMatchObject({
      ok: false,
      category: 'rate_limited',
      retryable: true,
      retryAfterMs: 5000,
    });
  });

  it('gives up waiting after the timeout and retries', async () => {
    fake.answer(() => 'hang');
    const impatient = vendorAt(`${fake.url}/send`, { timeoutMs: 150 });
    const outcome = await impatient.send(outgoing());
    await impatient.close();
    expect(outcome).toMatchObject({ ok: false, category: 'network', retryable: true, code: 'timeout' });
  });

  it('retries when the connection is refused', async () => {
    const closed = vendorAt(`http://127.0.0.1:${await closedPort()}/send`);
    expect(await closed.send(outgoing())).toMatchObject({
      ok: false,
      category: 'network',
      retryable: true,
      code: 'ECONNREFUSED',
    });
    await closed.close();
  });

  it('refuses every send, naming the problem, when the body template is not a valid template', async () => {
    const broken = vendorAt(`${fake.url}/send`, { bodyTemplate: { text: '{{#each}}' } });
    const outcome = await broken.send(outgoing());
    expect(outcome).toMatchObject({ ok: false, category: 'auth_or_config', retryable: false });
    expect(!outcome.ok && outcome.detail).toMatch(/bodyTemplate\.text is not a valid template/);
    expect(fake.received).toHaveLength(0);
  });
});

const SECRET = 'whsec-0123456789abcdef';

function signed(body: unknown, header = 'X-Signature', secret = SECRET, prefix = '') {
  const rawBody = JSON.stringify(body);
  return {
    url: 'https://herald.test/hooks/http',
    headers: { [header.toLowerCase()]: `${prefix}${createHmac('sha256', secret).update(rawBody).digest('hex')}` },
    rawBody,
  };
}

describe('generic HTTP vendor callbacks', () => {
  const secrets = { headers: {}, callbackSecret: SECRET };
  const event = { messageId: 'gw-981', status: 'delivered', eventId: 'ev-1', occurredAt: '2024-05-02T09:00:05Z' };

  it('accepts an event signed in the default header and reads it', () => {
    const request = signed(event);
    expect(httpVendorCallbacks.verify(request, {}, secrets)).toBe(true);
    expect(httpVendorCallbacks.parse(request)).toEqual({
      statuses: [
        {
          externalEventId: 'ev-1',
          vendorMessageId: 'gw-981',
          status: 'delivered',
          occurredAt: new Date('2024-05-02T09:00:05Z'),
        },
      ],
      replies: [],
    });
  });

  it('accepts a list of events signed in a configured header with a sha256= prefix', () => {
    const request = signed(
      [
        event,
        {
          messageId: 'gw-982',
          status: 'failed',
          eventId: 'ev-2',
          category: 'invalid_recipient',
          code: 'E12',
          detail: 'no such number',
        },
      ],
      'X-Gateway-Signature',
      SECRET,
      'sha256=',
    );
    const settings = { callbackSignatureHeader: 'X-Gateway-Signature' };
    expect(httpVendorCallbacks.verify(request, settings, secrets)).toBe(true);
    expect(httpVendorCallbacks.verify(request, {}, secrets)).toBe(false);
    expect(httpVendorCallbacks.parse(request).statuses[1]).toMatchObject({
      vendorMessageId: 'gw-982',
      status: 'failed',
      category: 'invalid_recipient',
      code: 'E12',
      detail: 'no such number',
      occurredAt: expect.any(Date) as unknown,
    });
  });

  it.each([
    ['no signature', (r: ReturnType<typeof signed>) => ({ ...r, headers: {} })],
    ['a signature with another secret', () => signed(event, 'X-Signature', 'another-secret-0000')],
    [
      'a body changed after signing',
      (r: ReturnType<typeof signed>) => ({ ...r, rawBody: r.rawBody.replace('delivered', 'read') }),
    ],
  ])('refuses a callback with %s', (_what, change) => {
    expect(httpVendorCallbacks.verify(change(signed(event)), {}, secrets)).toBe(false);
  });

  it('refuses every callback when no callback secret is configured', () => {
    expect(httpVendorCallbacks.verify(signed(event), {}, { headers: {} })).toBe(false);
  });

  it('says what is wrong with a callback it cannot read', () => {
    const read = (rawBody: string) => () => httpVendorCallbacks.parse({ url: 'https://h.test/', headers: {}, rawBody });
    expect(read('not json')).toThrow(/HTTP vendor callback body is not JSON/);
    expect(read(JSON.stringify({ ...event, status: 'opened' }))).toThrow(
      /event\.status must be one of: sent, delivered, read, bounced, failed/,
    );
    expect(read(JSON.stringify([event, { status: 'sent', eventId: 'e' }]))).toThrow(/events\.1\.messageId is missing/);
    expect(read(JSON.stringify({ ...event, occurredAt: 'later' }))).toThrow(/occurredAt is not an ISO 8601 date/);
    expect(read(JSON.stringify({ ...event, category: 'bad' }))).toThrow(/event\.category must be one of/);
  });
});
