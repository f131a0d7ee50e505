import type { ErrorCategory } from '../error-categories.js';
import { refusal } from '../vendor.js';
import { refusalForHttpStatus, withRetryAfter, type Refusal } from '../support/http-status-refusal.js';
import { answerSummary, redact } from '../support/redact.js';
import type { VendorAnswer } from '../support/vendor-http-client.js';

const group = (category: ErrorCategory, codes: number[]) =>
  codes.map((code): [number, ErrorCategory] => [code, category]);

/**
 * Cloud API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes),
 * for send answers and for `errors` of failed-status webhooks alike.
 */
const CATEGORIES: ReadonlyMap<number, ErrorCategory> = new Map<number, ErrorCategory>([
  // Token, permissions, account, phone number and template settings: the vendor's configuration.
  ...group(
    'auth_or_config',
    [
      0, 3, 10, 33, 100, 190, 130497, 131005, 131008, 131030, 131031, 131042, 131045, 132000, 132001, 132015, 132016,
      133010,
    ],
  ),
  ...group('rate_limited', [4, 80007, 130429, 131048, 131056]),
  // The number is not on WhatsApp, or cannot take this message.
  ...group('invalid_recipient', [131021, 131026]),
  // Meta's or the user's choice not to receive it.
  ...group('blocked_or_spam', [368, 130472, 131049, 131050]),
  // The content: a free-form message outside the 24-hour window, a parameter or media Meta refused.
  ...group('content_rejected', [131009, 131047, 131051, 131052, 131053, 132005, 132007, 132012]),
  ...group('vendor_unavailable', [1, 2, 131000, 131016, 131057, 133004]),
]);

/** Permission errors come as a range: 200–299. */
export function categoryOfWhatsAppCode(code: number): ErrorCategory | undefined {
  if (code >= 200 && code <= 299) return 'auth_or_config';
  return CATEGORIES.get(code);
}

interface GraphError {
  message?: unknown;
  type?: unknown;
  code?: unknown;
  error_subcode?: unknown;
  error_data?: { details?: unknown };
  fbtrace_id?: unknown;
}

/**
 * Translates a Graph API error answer, `{"error":{"message":"…","type":"OAuthException","code":190,
 * "error_subcode":463,"error_data":{"details":"…"},"fbtrace_id":"…"}}`. HTTP 429 and 5xx are
 * retried whatever the code; otherwise the code decides, then the HTTP status.
 */
export function translateWhatsAppError(answer: VendorAnswer): Refusal {
  let error: GraphError = {};
  try {
    error = (JSON.parse(answer.text) as { error?: GraphError }).error ?? {};
  } catch {
    error = {};
  }
  const code = typeof error.code === 'number' ? error.code : undefined;
  const details = typeof error.error_data?.details === 'string' ? `: ${error.error_data.details}` : '';
  const subcode = typeof error.error_subcode === 'number' ? `, subcode ${error.error_subcode}` : '';
  const trace = typeof error.fbtrace_id === 'string' ? ` (fbtrace_id ${error.fbtrace_id}${subcode})` : '';
  const detail =
    typeof error.message === 'string'
      ? `WhatsApp: ${redact(`${error.message}${details}`)}${trace}`
      : answerSummary('WhatsApp', answer);
  const category = code === undefined ? undefined : categoryOfWhatsAppCode(code);
  if (answer.status === 429 || answer.status >= 500 || category === undefined)
    return refusalForHttpStatus(answer.status, answer.headers, code === undefined ? null : String(code), detail);
  return withRetryAfter(refusal(category, String(code), detail), answer.headers);
}
