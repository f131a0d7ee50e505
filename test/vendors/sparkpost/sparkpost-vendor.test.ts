import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingMessage, SendOutcome } from '../../../src/vendors/vendor.js';
import { findVendorAdapter } from '../../../src/vendors/vendor-registry.js';
import { sparkPostSettings, type SparkPostSettings } from '../../../src/vendors/sparkpost/sparkpost-settings.js';
import { SparkPostVendor } from '../../../src/vendors/sparkpost/sparkpost-vendor.js';
import { checkAgainst } from '../../../src/vendors/support/settings-check.js';
import { closedPort } from '../../support/delivery.js';
import { startFakeSparkPost, type FakeSparkPost } from '../../support/fake-sparkpost.js';
import { loopbackEgress } from '../../support/egress.js';

const message = (n: number, overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  to: `person${n}@example.com`,
  subject: `Your feedback, person ${n}`,
  html: `<p>Hello person ${n}: <a href="https://h.test/s/tok${n}">survey</a></p>`,
  text: `Hello person ${n}: https://h.test/s/tok${n}`,
  headers: {
    'List-Unsubscribe': `<https://h.test/u/tok${n}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
  ...overrides,
});

function settingsFor(fake: FakeSparkPost, extra: Record<string, unknown> = {}): SparkPostSettings {
  const checked = checkAgainst(
    sparkPostSettings,
    { baseUrl: fake.baseUrl, fromAddress: 'surveys@herald.test', ...extra },
    'settings',
  );
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.value;
}

const refusalOf = (outcome: SendOutcome | undefined) => {
  if (!outcome || outcome.ok) throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
  return outcome;
};

describe('the SparkPost vendor against a loopback Transmissions API', () => {
  let fake: FakeSparkPost;
  let vendor: SparkPostVendor;
  beforeAll(async () => {
    fake = await startFakeSparkPost();
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.problems.length = 0;
    fake.answerAlways(undefined);
    vendor = new SparkPostVendor(settingsFor(fake), { apiKey: fake.apiKey }, loopbackEgress);
  });

  it('is registered as a bulk email vendor, with its settings and secrets validated', () => {
    const adapter = findVendorAdapter('sparkpost')!;
    expect(adapter).toMatchObject({ channel: 'email', delivery: 'bulk' });
    const built = adapter.create(settingsFor(fake), { apiKey: 'k' }, loopbackEgress);
    expect(built.delivery).toBe('bulk');
    expect(adapter.checkSecrets({})).toMatchObject({
      ok: false,
      problems: [{ field: 'secrets.apiKey' }],
    });
    expect(adapter.checkSettings({ fromAddress: 'not an address' })).toMatchObject({ ok: false });
    expect(adapter.checkSettings({ fromAddress: 'a@b.test', baseUrl: 'ftp://x' })).toMatchObject({ ok: false });
    const defaults = adapter.checkSettings({ fromAddress: 'a@b.test' });
    expect(defaults).toMatchObject({
      ok: true,
      value: {
        settings: {
          baseUrl: 'https://api.sparkpost.com',
          transactional: false,
          openTracking: false,
          clickTracking: false,
        },
        channel: 'email',
      },
    });
  });

  it('sends a batch as one transmission in which every recipient gets exactly their own message', async () => {
    // Braces in a value are text, not template: SparkPost inserts substitution values as they are.
    const batch = [message(1), message(2, { subject: 'Hi {{herald_text}} & <you>' }), message(3)];
    const outcomes = await vendor.sendBatch(batch);

    expect(fake.problems).toEqual([]);
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request!.headers.authorization).toBe(fake.apiKey);
    expect(request!.body.options).toEqual({ open_tracking: false, click_tracking: false, transactional: false });
    expect(request!.body.content.from).toEqual({ email: 'surveys@herald.test' });
    expect(request!.body.recipients.map((r) => r.address.email)).toEqual(batch.map((m) => m.to));
    expect(request!.body.recipients.map((r) => r.metadata)).toEqual(batch.map((m) => ({ herald_message_id: m.id })));

    const id = request!.id!;
    expect(outcomes).toEqual(batch.map((m) => ({ ok: true, vendorMessageId: `${id}:${m.id}` })));
    const generated = fake.generated();
    expect(generated).toHaveLength(3);
    for (const m of batch) {
      const got = generated.find((g) => g.to === m.to)!;
      expect(got).toMatchObject({
        messageId: m.id,
        subject: m.subject,
        html: m.html,
        text: m.text,
        headers: m.headers,
      });
    }
  });

  it('sends the options, campaign and sender name it is configured with', async () => {
    vendor = new SparkPostVendor(
      settingsFor(fake, {
        fromName: 'Acme Surveys',
        campaignId: 'spring-nps',
        transactional: true,
        openTracking: true,
        clickTracking: true,
      }),
      { apiKey: fake.apiKey },
      loopbackEgress,
    );
    await vendor.sendBatch([message(1, { html: undefined })]);
    expect(fake.problems).toEqual([]);
    const body = fake.requests[0]!.body;
    expect(body.options).toEqual({ open_tracking: true, click_tracking: true, transactional: true });
    expect(body.campaign_id).toBe('spring-nps');
    expect(body.content.from).toEqual({ email: 'surveys@herald.test', name: 'Acme Surveys' });
    expect(body.content.html).toBeUndefined();
    expect(fake.generated()[0]!.text).toBe(message(1).text);
  });

  it('sends messages of different shapes (with and without HTML) in separate transmissions, answering in order', async () => {
    const batch = [message(1), message(2, { html: undefined }), message(3)];
    const outcomes = await vendor.sendBatch(batch);
    expect(fake.requests).toHaveLength(2);
    expect(fake.problems).toEqual([]);
    const [withHtml, textOnly] = fake.requests;
    expect(withHtml!.body.recipients.map((r) => r.address.email)).toEqual([batch[0]!.to, batch[2]!.to]);
    expect(textOnly!.body.recipients.map((r) => r.address.email)).toEqual([batch[1]!.to]);
    expect(outcomes).toEqual([
      { ok: true, vendorMessageId: `${withHtml!.id}:${batch[0]!.id}` },
      { ok: true, vendorMessageId: `${textOnly!.id}:${batch[1]!.id}` },
      { ok: true, vendorMessageId: `${withHtml!.id}:${batch[2]!.id}` },
    ]);
  });

  it.each([
    {
      name: '1902 message generation rejected',
      status: 400,
      errors: [
        {
          message: 'Message generation rejected',
          description: 'recipient address suppressed due to customer policy',
          code: '1902',
        },
      ],
      expected: {
        category: 'blocked_or_spam',
        retryable: false,
        code: '1902',
        detail: 'Message generation rejected: recipient address suppressed due to customer policy',
      },
    },
    {
      name: '5002 no valid recipients',
      status: 400,
      errors: [{ message: 'No valid recipients in list', code: '5002' }],
      expected: {
        category: 'invalid_recipient',
        retryable: false,
        code: '5002',
        detail: 'No valid recipients in list',
      },
    },
    {
      name: '1100 permission denied',
      status: 403,
      errors: [{ message: 'permission denied', code: '1100' }],
      expected: { category: 'auth_or_config', retryable: false, code: '1100', detail: 'permission denied' },
    },
    {
      name: '3000 template language syntax error',
      status: 422,
      errors: [{ message: 'substitution language syntax error in template content', code: '3000' }],
      expected: {
        category: 'content_rejected',
        retryable: false,
        code: '3000',
        detail: 'substitution language syntax error in template content',
      },
    },
    {
      name: '7001 invalid sending domain',
      status: 400,
      errors: [{ message: 'Invalid Sending/Tracking Domain', code: '7001' }],
      expected: {
        category: 'auth_or_config',
        retryable: false,
        code: '7001',
        detail: 'Invalid Sending/Tracking Domain',
      },
    },
    {
      name: '1900 generation module unavailable',
      status: 503,
      errors: [{ message: 'Message generation module not available', code: '1900' }],
      expected: {
        category: 'vendor_unavailable',
        retryable: true,
        code: '1900',
        detail: 'Message generation module not available',
      },
    },
    {
      name: 'a 500 without a body',
      status: 500,
      errors: undefined,
      expected: { category: 'vendor_unavailable', retryable: true, code: '500', detail: 'HTTP 500' },
    },
  ])('gives every recipient the refusal of a transmission answered $name', async ({ status, errors, expected }) => {
    fake.answerNext({ status, body: errors ? { errors } : undefined });
    const outcomes = await vendor.sendBatch([message(1), message(2)]);
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) expect(refusalOf(outcome)).toMatchObject({ ok: false, ...expected });
  });

  it('reads 429 Too many requests as rate limited, waiting as long as Retry-After says', async () => {
    fake.answerNext({
      status: 429,
      body: { errors: [{ message: 'Too many requests' }] },
      headers: { 'Retry-After': '7' },
    });
    const [outcome] = await vendor.sendBatch([message(1)]);
    expect(refusalOf(outcome)).toEqual({
      ok: false,
      category: 'rate_limited',
      retryable: true,
      code: '429',
      detail: 'Too many requests',
      retryAfterMs: 7000,
    });
  });

  it('refuses every recipient when SparkPost accepted none of them', async () => {
    fake.answerNext({
      status: 200,
      body: { results: { total_rejected_recipients: 2, total_accepted_recipients: 0, id: '42' } },
    });
    const outcomes = await vendor.sendBatch([message(1), message(2)]);
    for (const outcome of outcomes)
      expect(refusalOf(outcome)).toMatchObject({ category: 'blocked_or_spam', retryable: false });
  });

  it('answers with the API key it was given: a wrong key is refused as configuration', async () => {
    vendor = new SparkPostVendor(settingsFor(fake), { apiKey: 'wrong-key' }, loopbackEgress);
    const [outcome] = await vendor.sendBatch([message(1)]);
    expect(fake.problems).toEqual(['authorization wrong-key']);
    expect(refusalOf(outcome)).toMatchObject({ category: 'auth_or_config', retryable: false, code: '401' });
  });

  it('reports an unreachable API as a network problem to retry', async () => {
    vendor = new SparkPostVendor(
      { ...settingsFor(fake), baseUrl: `http://127.0.0.1:${await closedPort()}` },
      { apiKey: fake.apiKey },
      loopbackEgress,
    );
    const [outcome] = await vendor.sendBatch([message(1)]);
    expect(refusalOf(outcome)).toMatchObject({ category: 'network', retryable: true, code: 'ECONNREFUSED' });
    expect(refusalOf(outcome).detail).toMatch(/ECONNREFUSED/);
  });
});
