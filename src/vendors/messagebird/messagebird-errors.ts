import type { ErrorCategory } from '../error-categories.js';
import { refusal } from '../vendor.js';
import { refusalForHttpStatus, withRetryAfter, type Refusal } from '../support/http-status-refusal.js';
import { answerSummary, redact } from '../support/redact.js';
import type { VendorAnswer } from '../support/vendor-http-client.js';

interface MessageBirdError {
  code?: unknown;
  description?: unknown;
  parameter?: unknown;
}

/** MessageBird's error codes (https://developers.messagebird.com/api/#errors) and what they mean to Herald. */
function categoryOf(code: number, parameter: string | null): ErrorCategory | undefined {
  switch (code) {
    case 2: // Request not allowed (incorrect access_key)
    case 20: // Not found
    case 25: // Not enough balance
    case 98: // API not found
      return 'auth_or_config';
    case 9: // Missing params
    case 10: // Invalid params
    case 21: // Bad request
      if (parameter === 'recipient' || parameter === 'recipients') return 'invalid_recipient';
      if (parameter === 'body') return 'content_rejected';
      return parameter ? 'auth_or_config' : 'unknown';
    case 99: // Internal error
      return 'vendor_unavailable';
    default:
      return undefined;
  }
}

/**
 * Translates a MessageBird error answer, `{"errors":[{"code":2,"description":"Request not allowed
 * (incorrect access_key)","parameter":"access_key"}]}`. Throttling and server errors are retried
 * whatever the code says; the first error's code decides otherwise, then the HTTP status.
 */
export function translateMessageBirdError(answer: VendorAnswer): Refusal {
  let first: MessageBirdError | undefined;
  try {
    const body = JSON.parse(answer.text) as { errors?: MessageBirdError[] };
    first = Array.isArray(body.errors) ? body.errors[0] : undefined;
  } catch {
    first = undefined;
  }
  const code = typeof first?.code === 'number' ? first.code : undefined;
  const parameter = typeof first?.parameter === 'string' ? first.parameter : null;
  const description =
    typeof first?.description === 'string'
      ? `MessageBird: ${first.description}${parameter ? ` (parameter: ${parameter})` : ''}`
      : answerSummary('MessageBird', answer);
  const detail = redact(description);
  const category = code === undefined ? undefined : categoryOf(code, parameter);
  if (answer.status === 429 || answer.status >= 500 || category === undefined)
    return refusalForHttpStatus(answer.status, answer.headers, code === undefined ? null : String(code), detail);
  return withRetryAfter(refusal(category, String(code), detail), answer.headers);
}
