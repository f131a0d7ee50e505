import type { ErrorCategory } from '../error-categories.js';
import { categoryOfHttpStatus, withRetryAfter, type Refusal } from '../support/http-status-refusal.js';
import type { VendorAnswer } from '../support/vendor-http-client.js';
import { refusal } from '../vendor.js';

/** One entry of SparkPost's `{"errors": [...]}` answer. */
interface SparkPostError {
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

function categoryOf(status: number, code: string | undefined): ErrorCategory {
  if (code !== undefined) {
    const known = categoryOfCode[code];
    if (known) return known;
    // 3000–3999: template language and MIME errors.
    if (/^3\d{3}$/.test(code)) return 'content_rejected';
  }
  // 420: SparkPost's own "slow down", besides 429.
  return status === 420 ? 'rate_limited' : categoryOfHttpStatus(status);
}

const describeErrors = (errors: readonly SparkPostError[]): string =>
  errors
    .slice(0, 3)
    .map((e) => [e.message, e.description].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');

/** The `errors` of an answer's JSON body; none when it has none or is not JSON. */
function errorsIn(text: string): SparkPostError[] {
  try {
    const errors = (JSON.parse(text) as { errors?: unknown } | null)?.errors;
    return Array.isArray(errors) ? (errors as SparkPostError[]) : [];
  } catch {
    return [];
  }
}

/**
 * What a refused transmission means. SparkPost refuses a transmission as a whole: nothing was sent
 * to any of its recipients, so the same refusal holds for each of them.
 *
 * @example translateSparkPostAnswer({ status: 429, headers: new Headers({ 'retry-after': '2' }),
 *   text: '{"errors":[{"message":"Too many requests"}]}' })
 * // { ok: false, category: 'rate_limited', retryable: true, code: '429', detail: 'Too many requests', retryAfterMs: 2000 }
 */
export function translateSparkPostAnswer(answer: VendorAnswer): Refusal {
  const { status } = answer;
  if (status >= 300 && status < 400)
    return refusal(
      'auth_or_config',
      String(status),
      'The SparkPost base URL redirects elsewhere: set the API endpoint itself',
    );
  const errors = errorsIn(answer.text);
  const first = errors[0];
  const code = first?.code !== undefined && first.code !== '' ? String(first.code) : undefined;
  const detail = describeErrors(errors) || `HTTP ${status}`;
  return withRetryAfter(refusal(categoryOf(status, code), code ?? String(status), detail), answer.headers);
}
