import type { ErrorCategory } from '../error-categories.js';
import { refusal } from '../vendor.js';
import { refusalForHttpStatus, withRetryAfter, type Refusal } from '../support/http-status-refusal.js';
import { answerSummary, redact } from '../support/redact.js';
import type { VendorAnswer } from '../support/vendor-http-client.js';

/**
 * Twilio error codes (https://www.twilio.com/docs/api/errors), from the REST API and from status
 * callbacks' ErrorCode, by what Herald can do about them.
 */
const CATEGORIES: ReadonlyMap<number, ErrorCategory> = new Map<number, ErrorCategory>([
  // Credentials, account and sender configuration.
  ...[
    10001, 20003, 20005, 20008, 20404, 21212, 21219, 21266, 21408, 21603, 21606, 21608, 21659, 21660, 21703, 21705,
    30002, 30010, 30032, 30034,
  ].map((code): [number, ErrorCategory] => [code, 'auth_or_config']),
  // The number is not one that can take an SMS.
  ...[21211, 21214, 21217, 21401, 21421, 21604, 21612, 21614, 30005, 30006].map((code): [number, ErrorCategory] => [
    code,
    'invalid_recipient',
  ]),
  [30003, 'mailbox_unavailable'], // Unreachable destination handset
  // The recipient opted out (replied STOP), or a carrier filtered the message.
  ...[21610, 30004, 30007].map((code): [number, ErrorCategory] => [code, 'blocked_or_spam']),
  ...[21602, 21617, 21619, 30019].map((code): [number, ErrorCategory] => [code, 'content_rejected']),
  // Too Many Requests, the send rate, a full queue.
  ...[20429, 14107, 21611, 30001, 30022].map((code): [number, ErrorCategory] => [code, 'rate_limited']),
  ...[20500, 20503].map((code): [number, ErrorCategory] => [code, 'vendor_unavailable']),
]);

/** What a Twilio error code means to Herald, when Herald knows the code. */
export function categoryOfTwilioCode(code: number): ErrorCategory | undefined {
  return CATEGORIES.get(code);
}

/**
 * Translates a Twilio error answer, `{"code":21211,"message":"Invalid 'To' Phone Number: …",
 * "more_info":"https://www.twilio.com/docs/errors/21211","status":400}`. HTTP 429 and 5xx are
 * retried whatever the code; otherwise the code decides, then the HTTP status.
 */
export function translateTwilioError(answer: VendorAnswer): Refusal {
  let body: { code?: unknown; message?: unknown; more_info?: unknown } = {};
  try {
    body = (JSON.parse(answer.text) as typeof body | null) ?? {};
  } catch {
    body = {};
  }
  const code = typeof body.code === 'number' ? body.code : undefined;
  const message = typeof body.message === 'string' ? `Twilio: ${body.message}` : answerSummary('Twilio', answer);
  const moreInfo = typeof body.more_info === 'string' ? ` (${body.more_info})` : '';
  const detail = `${redact(message)}${moreInfo}`;
  const category = code === undefined ? undefined : categoryOfTwilioCode(code);
  if (answer.status === 429 || answer.status >= 500 || category === undefined)
    return refusalForHttpStatus(answer.status, answer.headers, code === undefined ? null : String(code), detail);
  return withRetryAfter(refusal(category, String(code), detail), answer.headers);
}
