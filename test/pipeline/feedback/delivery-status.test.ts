import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { nextStatus } from '../../../src/pipeline/feedback/delivery-status.js';
import { truncateError } from '../../../src/reporting/messages.js';
import type { MessageStatus } from '../../../src/storage/schema.js';
import type { ReportedStatus } from '../../../src/vendors/vendor.js';

describe('the order of delivery statuses', () => {
  const reported: ReportedStatus[] = ['sent', 'delivered', 'read', 'bounced', 'failed'];
  // Rows: the message's status; columns: what a report says, in the order above.
  const table: [MessageStatus, (MessageStatus | null)[]][] = [
    ['sent', [null, 'delivered', 'read', 'bounced', 'error']],
    ['delivered', [null, null, 'read', 'bounced', 'error']],
    ['read', [null, null, null, null, null]],
    ['bounced', [null, null, null, null, null]],
    ['error', [null, null, null, null, null]],
    // Not out yet, or never going out: reports wait for nothing and change nothing.
    ['scheduled', [null, null, null, null, null]],
    ['sending', [null, null, null, null, null]],
    ['manual_retry', [null, null, null, null, null]],
    ['cancelled', [null, null, null, null, null]],
  ];
  it.each(table)('from %s', (current, expected) => {
    expect(reported.map((r) => nextStatus(current, r))).toEqual(expected);
  });
});

describe('the truncated error message', () => {
  it('keeps short messages and cuts long ones to 100 characters, marked', () => {
    expect(truncateError(null)).toBeNull();
    expect(truncateError('x'.repeat(100))).toBe('x'.repeat(100));
    expect(truncateError('x'.repeat(101))).toBe(`${'x'.repeat(99)}…`);
  });
});

describe('feedback settings', () => {
  it('has the documented defaults: no bounce endpoint, callbacks up to 2 MiB', () => {
    expect(loadConfig({})).toMatchObject({
      callbackBodyLimitBytes: 2 * 1024 * 1024,
      bounceSmtpPort: undefined,
      bounceSmtpHost: '127.0.0.1',
    });
    expect(
      loadConfig({
        HERALD_BOUNCE_SMTP_PORT: '2525',
        HERALD_BOUNCE_SMTP_HOST: '0.0.0.0',
        HERALD_CALLBACK_BODY_LIMIT_BYTES: '1024',
      }),
    ).toMatchObject({ bounceSmtpPort: 2525, bounceSmtpHost: '0.0.0.0', callbackBodyLimitBytes: 1024 });
  });

  it('names a bad bounce port or callback limit', () => {
    let error: unknown;
    try {
      loadConfig({ HERALD_BOUNCE_SMTP_PORT: '70000', HERALD_CALLBACK_BODY_LIMIT_BYTES: '0' });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('HERALD_BOUNCE_SMTP_PORT');
    expect((error as ConfigError).message).toContain('HERALD_CALLBACK_BODY_LIMIT_BYTES');
  });
});
