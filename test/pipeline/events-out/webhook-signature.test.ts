import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { changesOf } from '../../../src/pipeline/events-out/campaign-statistics.js';
import { maskContacts } from '../../../src/pipeline/events-out/envelope.js';
import { nextAttemptAt } from '../../../src/pipeline/events-out/retry-schedule.js';
import {
  newWebhookSecret,
  signWebhook,
  verifyWebhookSignature,
} from '../../../src/pipeline/events-out/webhook-signature.js';

describe('webhook signatures', () => {
  const body = '{"id":"e1","eventSubType":"Sent"}';
  const at = new Date('2024-06-10T09:00:00Z');
  const t = Math.floor(at.getTime() / 1000);

  it('is an HMAC-SHA256 of "<timestamp>.<body>" a receiver can compute with any library', () => {
    const secret = newWebhookSecret();
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signWebhook(body, [secret], t)).toBe(`t=${t},v1=${expected}`);
    expect(verifyWebhookSignature(`t=${t},v1=${expected}`, body, secret, { now: at })).toEqual({
      ok: true,
      timestamp: t,
    });
  });

  it('refuses a changed body, another secret, a missing header and an old timestamp (a replay)', () => {
    const secret = newWebhookSecret();
    const header = signWebhook(body, [secret], t);
    expect(verifyWebhookSignature(header, body.replace('Sent', 'Read'), secret, { now: at }).ok).toBe(false);
    expect(verifyWebhookSignature(header, body, newWebhookSecret(), { now: at }).ok).toBe(false);
    expect(verifyWebhookSignature(undefined, body, secret, { now: at }).ok).toBe(false);
    expect(verifyWebhookSignature(`v1=${'0'.repeat(64)}`, body, secret, { now: at }).ok).toBe(false);
    const later = new Date(at.getTime() + 301_000);
    expect(verifyWebhookSignature(header, body, secret, { now: later })).toEqual({
      ok: false,
      reason: 'the timestamp is outside the tolerance (a replay, or a clock far off)',
    });
    // A signature lifted onto another timestamp does not verify either.
    expect(verifyWebhookSignature(header.replace(`t=${t}`, `t=${t + 1}`), body, secret, { now: at }).ok).toBe(false);
  });

  it('carries one v1 per secret during a rotation overlap; either secret verifies', () => {
    const [older, newer] = [newWebhookSecret(), newWebhookSecret()];
    const header = signWebhook(body, [newer, older], t);
    expect(header.split(',').filter((p) => p.startsWith('v1='))).toHaveLength(2);
    expect(verifyWebhookSignature(header, body, older, { now: at }).ok).toBe(true);
    expect(verifyWebhookSignature(header, body, newer, { now: at }).ok).toBe(true);
  });
});

describe('the retry schedule', () => {
  const since = new Date('2024-06-10T09:00:00Z');
  const hour = 3_600_000;

  it('backs off exponentially with jitter, never past the horizon, then gives up', () => {
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const now = new Date(since.getTime() + 1000);
      const next = nextAttemptAt(now, since, attempt, 1000, 24 * hour)!;
      const delay = next.getTime() - now.getTime();
      expect(delay).toBeGreaterThanOrEqual(500 * 2 ** (attempt - 1));
      expect(delay).toBeLessThanOrEqual(1000 * 2 ** (attempt - 1));
    }
    // Capped at an hour between attempts, and the last one lands on the horizon itself.
    const late = new Date(since.getTime() + 23.9 * hour);
    expect(nextAttemptAt(late, since, 30, 1000, 24 * hour)!.getTime()).toBeLessThanOrEqual(since.getTime() + 24 * hour);
    expect(nextAttemptAt(new Date(since.getTime() + 24 * hour), since, 31, 1000, 24 * hour)).toBeNull();
  });
});

describe('dispatch state changes', () => {
  it('names each change the reporter posts', () => {
    expect(changesOf(null, 'live')).toEqual(['live']);
    expect(changesOf(null, 'sending')).toEqual(['live', 'sending_started']);
    expect(changesOf(null, 'paused')).toEqual(['paused']);
    expect(changesOf('live', 'sending')).toEqual(['sending_started']);
    expect(changesOf('sending', 'live')).toEqual(['drained']);
    expect(changesOf('sending', 'paused')).toEqual(['paused']);
    expect(changesOf('paused', 'live')).toEqual(['resumed']);
    expect(changesOf('paused', 'sending')).toEqual(['resumed', 'sending_started']);
    expect(changesOf('sending', 'sending')).toEqual([]);
  });
});

describe('error texts in events', () => {
  it('masks addresses and phone numbers but keeps timestamps and codes', () => {
    expect(maskContacts('550 5.1.1 <ann.lee@example.com>: user unknown; retry at 2024-06-10T09:00:00.000Z')).toBe(
      '550 5.1.1 <[address]>: user unknown; retry at 2024-06-10T09:00:00.000Z',
    );
    expect(maskContacts('Number +44 7700 900123 is not reachable (21614)')).toBe(
      'Number [number] is not reachable (21614)',
    );
  });
});
