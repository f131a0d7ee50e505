import type { ErrorCategory } from '../error-categories.js';
import { refusal, type SendOutcome } from '../vendor.js';

type Refusal = Extract<SendOutcome, { ok: false }>;

/** One entry of SparkPost's `{"errors": [...]}` answer. */
export interface SparkPostError {
  message?: string;
  code?: string;
  description?: string;
}

/**
 * SparkPost's extended error codes (support.sparkpost.com, "Extended Error Codes") that say more
 * than their HTTP status. The rest are read from the status.
 */
const categoryOfCode: Readonly<Record<string, ErrorCategory>> = {
  '1100': 'auth_or_config', // permission denied: the API key lacks the Transmissions: Read/Write grant
  '1303': 'auth_or_config',
  '1304': 'auth_or_config',
  '1500': 'vendor_unavailable',
  '1501': 'vendor_unavailable',
  '1502': 'vendor_unavailable',
  '1601': 'auth_or_config', // no license
  '1900': 'vendor_unavailable', // message generation module not available
  '1901': 'content_rejected', // message failed to generate
  '1902': 'blocked_or_spam', // message generation rejected (suppressed recipients, policy)
  '1910': 'auth_or_config',
  '2002': 'content_rejected', // substitution data too large
  '2007': 'content_rejected', // metadata too large
  '2008': 'auth_or_config', // sender address without a local part
  '2101': 'rate_limited', // hourly sending limit
  '2102': 'rate_limited', // daily sending limit
  '2103': 'auth_or_config', // sandbox limit: a sending domain is needed
  '2106': 'auth_or_config',
  '5002': 'invalid_recipient', // no valid recipients
  '7000': 'blocked_or_spam', // sending domain blacklisted
  '7001': 'auth_or_config', // invalid sending or tracking domain
};

function categoryOfStatus(status: number): ErrorCategory {
  if (status === 429 || status === 420) return 'rate_limited';
  if (status >= 500) return 'vendor_unavailable';
  if (status === 401 || status === 403 || status === 404 || status === 405) return 'auth_or_config';
  if (status === 413) return 'content_rejected';
  return 'unknown';
}

function categoryOf(status: number, code: string | undefined): ErrorCategory {
  if (code !== undefined) {
    const known = categoryOfCode[code];
    if (known) return known;
    // 3000–3999: template language and MIME errors.
    if (/^3\d{3}$/.test(code)) return 'content_rejected';
  }
  return categoryOfStatus(status);
}

/** Retry-After as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const describeErrors = (errors: readonly SparkPostError[]): string =>
  errors
    .slice(0, 3)
    .map((e) => [e.message, e.description].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');

/**
 * What a refused transmission means. SparkPost refuses a transmission as a whole: nothing was sent
 * to any of its recipients, so the same refusal holds for each of them.
 *
 * @example translateSparkPostError(429, [{ message: 'Too many requests' }], '2')
 * // { ok: false, category: 'rate_limited', retryable: true, code: '429', detail: 'Too many requests', retryAfterMs: 2000 }
 */
export function translateSparkPostError(
  status: number,
  errors: readonly SparkPostError[],
  retryAfter: string | null,
): Refusal {
  const first = errors[0];
  const code = first?.code !== undefined && first.code !== '' ? String(first.code) : undefined;
  const category = categoryOf(status, code);
  const detail = describeErrors(errors) || `HTTP ${status}`;
  const result = refusal(category, code ?? String(status), detail);
  const wait = retryAfterMs(retryAfter);
  return wait === undefined ? result : { ...result, retryAfterMs: wait };
}

/** A transmission that got no answer: it may be retried (SparkPost did not say it was accepted). */
export function networkRefusal(error: unknown, timeoutMs: number): Refusal {
  if (error instanceof Error && error.name === 'TimeoutError')
    return refusal('network', null, `SparkPost did not answer within ${timeoutMs} ms`);
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const said = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return refusal('network', null, `Could not reach SparkPost: ${said}`);
}
