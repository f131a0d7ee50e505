import { describe, expect, it } from 'vitest';
import { findVendorAdapter } from '../../../src/vendors/vendor-registry.js';
import { categoryOfHttpStatus, retryAfterMs } from '../../../src/vendors/support/http-status-refusal.js';
import { valueAtPath } from '../../../src/vendors/support/json-answer.js';
import { redact } from '../../../src/vendors/support/redact.js';
import { TokenBucket, type BucketClock } from '../../../src/vendors/support/token-bucket.js';
import { compileJsonBodyTemplate } from '../../../src/vendors/http/json-body-template.js';
import { outgoing } from '../../support/fake-vendor-server.js';
import { loopbackEgress } from '../../support/egress.js';

/** A clock that moves only when a waiter sleeps: each sleep is recorded and advances time by its length. */
class SteppingClock implements BucketClock {
  ms = 0;
  readonly sleeps: number[] = [];
  now = () => this.ms;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
  };
}

describe('token bucket', () => {
  it('lets a burst of one second through, then spaces callers at the rate, in order', async () => {
    const clock = new SteppingClock();
    const bucket = new TokenBucket(2, clock);
    for (let i = 0; i < 5; i += 1) await bucket.take();
    // Two at once; then the 3rd waits 500 ms, the 4th 1000 ms, the 5th 1500 ms (reservations queue up).
    expect(clock.sleeps).toEqual([500, 1000, 1500]);
  });

  it('refills with time, never above the burst', async () => {
    const clock = new SteppingClock();
    const bucket = new TokenBucket(4, clock);
    for (let i = 0; i < 4; i += 1) await bucket.take();
    clock.ms += 10_000;
    for (let i = 0; i < 4; i += 1) await bucket.take();
    expect(clock.sleeps).toEqual([]);
    await bucket.take();
    expect(clock.sleeps).toEqual([250]);
  });

  it('allows rates below one a second', async () => {
    const clock = new SteppingClock();
    const bucket = new TokenBucket(0.5, clock);
    await bucket.take();
    await bucket.take();
    expect(clock.sleeps).toEqual([2000]);
  });

  it('gives up waiting when the vendor closes', async () => {
    const bucket = new TokenBucket(1);
    await bucket.take();
    const closing = new AbortController();
    const waiting = bucket.take(closing.signal);
    closing.abort();
    await expect(waiting).rejects.toThrow();
  });
});

describe('HTTP answers', () => {
  it('reads Retry-After as seconds or as a date, capped at a day', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(30_000);
    expect(retryAfterMs('999999')).toBe(86_400_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('maps statuses the vendor does not explain', () => {
    expect(
      [429, 408, 500, 503, 401, 403, 404, 301, 413, 400, 422].map((status) => categoryOfHttpStatus(status)),
    ).toEqual([
      'rate_limited',
      'network',
      'vendor_unavailable',
      'vendor_unavailable',
      'auth_or_config',
      'auth_or_config',
      'auth_or_config',
      'auth_or_config',
      'content_rejected',
      'unknown',
      'unknown',
    ]);
  });

  it('takes numbers and addresses out of vendor words', () => {
    expect(redact("The 'To' number +15005550001 is not a valid phone number.")).toBe(
      "The 'To' number [number] is not a valid phone number.",
    );
    expect(redact('recipient 44 7700 900123 and ann@example.com refused (code 21211)')).toBe(
      'recipient [number] and [address] refused (code 21211)',
    );
  });
});

describe('JSON body templates', () => {
  it('renders every string as plain text and keeps the JSON valid whatever the message holds', () => {
    const render = compileJsonBodyTemplate(
      '{"to":"{{to}}","msg":{"text":"{{text}}","n":1,"tags":["{{messageId}}",true]}}',
    );
    expect(render({ to: '+447700900123', text: 'Say "hi" <b>\n', messageId: 'm-1' })).toEqual({
      to: '+447700900123',
      msg: { text: 'Say "hi" <b>\n', n: 1, tags: ['m-1', true] },
    });
  });

  it('refuses a template with a syntax error when it is compiled', () => {
    expect(() => compileJsonBodyTemplate({ text: '{{#if}}' })).toThrow(/bodyTemplate\.text is not a valid template/);
  });

  it('finds an id at a path', () => {
    const answer = { data: { ids: ['a1', 'a2'] }, messages: [{ id: 7 }] };
    expect(valueAtPath(answer, 'data.ids[1]')).toBe('a2');
    expect(valueAtPath(answer, '$.messages[0].id')).toBe(7);
    expect(valueAtPath(answer, 'messages.0.id')).toBe(7);
    expect(valueAtPath(answer, 'nothing.here')).toBeUndefined();
  });
});

describe('the vendor registry', () => {
  const expected = [
    ['messagebird', 'sms'],
    ['twilio', 'sms'],
    ['whatsapp-cloud', 'whatsapp'],
    ['http', 'sms'],
  ] as const;

  it.each(expected)('registers %s (channel %s) with a factory and a callback handler', (kind, channel) => {
    const adapter = findVendorAdapter(kind);
    expect(adapter).toMatchObject({ kind, channel, delivery: 'single', create: expect.any(Function) as unknown });
    expect(adapter?.callbacks).toMatchObject({
      verify: expect.any(Function) as unknown,
      parse: expect.any(Function) as unknown,
    });
  });

  it.each(expected)(
    'builds a %s vendor from an unusable configuration that refuses every send with what to fix',
    async (kind) => {
      const vendor = findVendorAdapter(kind)!.create({ timeoutMs: -1 }, {}, loopbackEgress);
      expect(vendor.delivery).toBe('single');
      const outcome = vendor.delivery === 'single' ? await vendor.send(outgoing()) : undefined;
      expect(outcome).toMatchObject({ ok: false, category: 'auth_or_config', retryable: false });
      expect(outcome && !outcome.ok && outcome.detail).toMatch(/settings\.timeoutMs/);
      await vendor.close();
    },
  );
});
