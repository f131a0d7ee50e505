import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  verifySubscription,
  whatsAppCloudCallbacks,
} from '../../../src/vendors/whatsapp-cloud/whatsapp-cloud-callbacks.js';
import { whatsAppCloudAdapter } from '../../../src/vendors/whatsapp-cloud/whatsapp-cloud-adapter.js';
import type { SingleSendVendor } from '../../../src/vendors/vendor.js';
import { closedPort } from '../../support/delivery.js';
import { outgoing, startFakeVendorServer, type FakeVendorServer } from '../../support/fake-vendor-server.js';
import { loopbackEgress } from '../../support/egress.js';

const PHONE_NUMBER_ID = '106540352242922';
const ACCESS_TOKEN = 'EAAJB9kZC8ZAk0BAJ5ZBZAtest';
const APP_SECRET = 'a4d7c2b9e1f3a6c8d0e2f4a6b8c0d2e4';
const WAMID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMDM2QzAA';

function vendorAt(baseUrl: string, extra: Record<string, unknown> = {}): SingleSendVendor {
  const vendor = whatsAppCloudAdapter.create(
    {
      baseUrl,
      phoneNumberId: PHONE_NUMBER_ID,
      templateName: 'survey_invitation',
      languageCode: 'en_US',
      bodyParameters: ['{{surveyLink}}'],
      quickReplyPayloads: ['answer-later', 'unsubscribe'],
      timeoutMs: 2000,
      ...extra,
    },
    { accessToken: ACCESS_TOKEN, appSecret: APP_SECRET, verifyToken: 'herald-verify-123' },
    loopbackEgress,
  );
  if (vendor.delivery !== 'single') throw new Error('whatsapp-cloud must be single-send');
  return vendor;
}

/** The Cloud API's answer to sending a message. */
const accepted = (to: string) => ({
  messaging_product: 'whatsapp',
  contacts: [{ input: to, wa_id: to.replace('+', '') }],
  messages: [{ id: WAMID, message_status: 'accepted' }],
});

describe('WhatsApp Cloud API vendor', () => {
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

  it('sends the approved template with its parameters and quick-reply payloads, and returns the wamid', async () => {
    fake.answer((r) => ({ status: 200, body: accepted((JSON.parse(r.body) as { to: string }).to) }));
    const message = outgoing();
    expect(await vendor.send(message)).toEqual({ ok: true, vendorMessageId: WAMID });
    const [request] = fake.received;
    expect(request).toMatchObject({ method: 'POST', path: `/v22.0/${PHONE_NUMBER_ID}/messages` });
    expect(request!.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+447700900123',
      type: 'template',
      template: {
        name: 'survey_invitation',
        language: { code: 'en_US' },
        components: [
          { type: 'body', parameters: [{ type: 'text', text: 'https://herald.test/s/tok123' }] },
          {
            type: 'button',
            sub_type: 'quick_reply',
            index: '0',
            parameters: [{ type: 'payload', payload: 'answer-later' }],
          },
          {
            type: 'button',
            sub_type: 'quick_reply',
            index: '1',
            parameters: [{ type: 'payload', payload: 'unsubscribe' }],
          },
        ],
      },
      biz_opaque_callback_data: message.id,
    });
  });

  it('renders several body parameters from the message', async () => {
    fake.answer(() => ({ status: 200, body: accepted('+447700900123') }));
    const custom = vendorAt(fake.url, {
      apiVersion: 'v19.0',
      bodyParameters: ['Ref {{messageId}}', '{{surveyLink}}?src=wa', '{{unsubscribeLink}}'],
      quickReplyPayloads: [],
    });
    await custom.send(outgoing({ id: 'm-42' }));
    await custom.close();
    const sent = JSON.parse(fake.received[0]!.body) as { template: { components: unknown[] } };
    expect(fake.received[0]!.path).toBe(`/v19.0/${PHONE_NUMBER_ID}/messages`);
    expect(sent.template.components).toEqual([
      {
        type: 'body',
        parameters: [
          { type: 'text', text: 'Ref m-42' },
          { type: 'text', text: 'https://herald.test/s/tok123?src=wa' },
          { type: 'text', text: 'https://herald.test/u/tok123' },
        ],
      },
    ]);
  });

  it('refuses without calling Meta when a parameter renders empty (no survey link)', async () => {
    const outcome = await vendor.send(outgoing({ links: undefined }));
    expect(outcome).toMatchObject({ ok: false, category: 'content_rejected', retryable: false });
    expect(fake.received).toHaveLength(0);
  });

  const graphError = (status: number, code: number, message: string, subcode?: number) => ({
    status,
    body: {
      error: {
        message,
        type: 'OAuthException',
        code,
        ...(subcode !== undefined && { error_subcode: subcode }),
        error_data: { messaging_product: 'whatsapp', details: message },
        fbtrace_id: 'AbCdEfGh123',
      },
    },
  });

  it.each([
    [400, 131026, 'Message undeliverable', 'invalid_recipient', false],
    [400, 131047, 'Re-engagement message', 'content_rejected', false],
    [400, 130429, 'Rate limit hit', 'rate_limited', true],
    [401, 190, 'Error validating access token: Session has expired', 'auth_or_config', false],
    [404, 132001, 'Template name does not exist in the translation', 'auth_or_config', false],
    [403, 200, 'Permissions error', 'auth_or_config', false],
    [400, 131050, 'User has stopped marketing messages', 'blocked_or_spam', false],
    [500, 131000, 'Something went wrong', 'vendor_unavailable', true],
  ] as const)('translates HTTP %i with error %i', async (status, code, message, category, retryable) => {
    fake.answer(() => graphError(status, code, message, 2494010));
    const outcome = await vendor.send(outgoing());
    expect(outcome).toMatchObject({ ok: false, category, retryable, code: String(code) });
    expect(!outcome.ok && outcome.detail).toContain(message);
    expect(!outcome.ok && outcome.detail).toContain('fbtrace_id AbCdEfGh123');
  });

  it('slows down on 429 for as long as Retry-After says', async () => {
    fake.answer(() => ({
      ...graphError(429, 4, 'Application request limit reached'),
      headers: { 'retry-after': '30' },
    }));
    expect(await vendor.send(outgoing())).toMatchObject({
      ok: false,
      category: 'rate_limited',
      retryable: true,
      retryAfterMs: 30_000,
    });
  });

  it('retries a 502 that is not the Graph API speaking', async () => {
    fake.answer(() => ({ status: 502, body: '<html>Bad Gateway</html>' }));
    expect(await vendor.send(outgoing())).toMatchObject({
      ok: false,
      category: 'vendor_unavailable',
      retryable: true,
      code: '502',
    });
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
});

/** A webhook as Meta posts it: one entry, one change of field `messages`. */
function webhook(value: Record<string, unknown>) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

function signed(body: unknown, secret = APP_SECRET) {
  const rawBody = JSON.stringify(body);
  return {
    url: 'https://herald.test/hooks/wa',
    headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}` },
    rawBody,
  };
}

describe('WhatsApp Cloud API webhooks', () => {
  const secrets = { accessToken: ACCESS_TOKEN, appSecret: APP_SECRET, verifyToken: 'herald-verify-123' };

  it('reads signed statuses, failures with their errors, and replies', () => {
    const request = signed(
      webhook({
        statuses: [
          {
            id: WAMID,
            status: 'delivered',
            timestamp: '1714640405',
            recipient_id: '447700900123',
            biz_opaque_callback_data: 'm1',
          },
          { id: WAMID, status: 'read', timestamp: '1714640465', recipient_id: '447700900123' },
          {
            id: 'wamid.FAILED',
            status: 'failed',
            timestamp: '1714640500',
            recipient_id: '447700900124',
            errors: [
              {
                code: 131026,
                title: 'Message undeliverable',
                message: 'Message undeliverable',
                error_data: { details: 'Message Undeliverable.' },
              },
            ],
          },
        ],
      }),
    );
    expect(whatsAppCloudCallbacks.verify(request, {}, secrets)).toBe(true);
    expect(whatsAppCloudCallbacks.parse(request)).toEqual({
      statuses: [
        {
          externalEventId: `${WAMID}:delivered`,
          vendorMessageId: WAMID,
          status: 'delivered',
          occurredAt: new Date(1714640405_000),
        },
        {
          externalEventId: `${WAMID}:read`,
          vendorMessageId: WAMID,
          status: 'read',
          occurredAt: new Date(1714640465_000),
        },
        {
          externalEventId: 'wamid.FAILED:failed',
          vendorMessageId: 'wamid.FAILED',
          status: 'failed',
          occurredAt: new Date(1714640500_000),
          category: 'invalid_recipient',
          code: '131026',
          detail: 'WhatsApp: Message undeliverable: Message Undeliverable.',
        },
      ],
      replies: [],
    });
  });

  it("reads a quick-reply button press as a reply with the button's payload", () => {
    const request = signed(
      webhook({
        contacts: [{ profile: { name: 'Ann' }, wa_id: '447700900123' }],
        messages: [
          {
            context: { from: '15550783881', id: WAMID },
            from: '447700900123',
            id: 'wamid.REPLY1',
            timestamp: '1714640600',
            type: 'button',
            button: { payload: 'unsubscribe', text: 'Stop these messages' },
          },
          {
            from: '447700900123',
            id: 'wamid.REPLY2',
            timestamp: '1714640700',
            type: 'text',
            text: { body: 'Thanks, will do' },
          },
          {
            context: { from: '15550783881', id: WAMID },
            from: '447700900123',
            id: 'wamid.REPLY3',
            timestamp: '1714640800',
            type: 'interactive',
            interactive: { type: 'button_reply', button_reply: { id: 'answer-later', title: 'Later' } },
          },
        ],
      }),
    );
    expect(whatsAppCloudCallbacks.verify(request, {}, secrets)).toBe(true);
    expect(whatsAppCloudCallbacks.parse(request).replies).toEqual([
      {
        externalEventId: 'wamid.REPLY1',
        vendorMessageId: WAMID,
        action: 'unsubscribe',
        text: 'Stop these messages',
        from: '447700900123',
        occurredAt: new Date(1714640600_000),
      },
      {
        externalEventId: 'wamid.REPLY2',
        vendorMessageId: null,
        text: 'Thanks, will do',
        from: '447700900123',
        occurredAt: new Date(1714640700_000),
      },
      {
        externalEventId: 'wamid.REPLY3',
        vendorMessageId: WAMID,
        action: 'answer-later',
        text: 'Later',
        from: '447700900123',
        occurredAt: new Date(1714640800_000),
      },
    ]);
  });

  it.each([
    ['no signature', (r: ReturnType<typeof signed>) => ({ ...r, headers: {} })],
    ['a signature with another secret', () => signed(webhook({ statuses: [] }), 'another-secret')],
    [
      'a body changed after signing',
      (r: ReturnType<typeof signed>) => ({ ...r, rawBody: r.rawBody.replace('delivered', 'read') }),
    ],
    [
      'a signature without its sha256= prefix',
      (r: ReturnType<typeof signed>) => ({
        ...r,
        headers: { 'x-hub-signature-256': r.headers['x-hub-signature-256'].slice(7) },
      }),
    ],
  ])('refuses a webhook with %s', (_what, change) => {
    const request = change(signed(webhook({ statuses: [{ id: WAMID, status: 'delivered', timestamp: '1' }] })));
    expect(whatsAppCloudCallbacks.verify(request, {}, secrets)).toBe(false);
  });

  it('refuses every webhook when no app secret is configured', () => {
    expect(whatsAppCloudCallbacks.verify(signed(webhook({})), {}, { accessToken: ACCESS_TOKEN })).toBe(false);
  });

  it('says what is wrong with a webhook it cannot read', () => {
    const read = (rawBody: string) => () =>
      whatsAppCloudCallbacks.parse({ url: 'https://h.test/', headers: {}, rawBody });
    expect(read('{"object":')).toThrow(/WhatsApp callback body is not JSON/);
    expect(read('{"object":"page","entry":[]}')).toThrow(/is for "page", not whatsapp_business_account/);
    expect(read('{"object":"whatsapp_business_account","entry":{}}')).toThrow(/entry is not an array/);
    expect(read(JSON.stringify(webhook({ statuses: [{ status: 'read', timestamp: '1' }] })))).toThrow(
      /entry\.0\.changes\.0\.value\.statuses\.0\.id is missing/,
    );
    expect(read(JSON.stringify(webhook({ messages: [{ id: 'w', timestamp: 'noon', type: 'text' }] })))).toThrow(
      /messages\.0\.timestamp is not a Unix timestamp/,
    );
  });

  it('answers the subscription handshake only with the right verify token', () => {
    const query = (token: string, mode = 'subscribe') =>
      new URLSearchParams({ 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': '1158201444' });
    expect(verifySubscription(query('herald-verify-123'), {}, secrets)).toBe('1158201444');
    expect(
      verifySubscription(
        { 'hub.mode': 'subscribe', 'hub.verify_token': 'herald-verify-123', 'hub.challenge': '77' },
        {},
        secrets,
      ),
    ).toBe('77');
    expect(verifySubscription(query('guess'), {}, secrets)).toBeNull();
    expect(verifySubscription(query('herald-verify-123', 'unsubscribe'), {}, secrets)).toBeNull();
    expect(verifySubscription(query('herald-verify-123'), {}, { accessToken: ACCESS_TOKEN })).toBeNull();
    expect(
      whatsAppCloudCallbacks.handshake?.(
        { 'hub.mode': 'subscribe', 'hub.verify_token': 'herald-verify-123', 'hub.challenge': '9' },
        {},
        secrets,
      ),
    ).toBe('9');
  });
});
