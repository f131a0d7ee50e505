import type { ErrorCategory } from '../error-categories.js';
import { refusal, type SendOutcome } from '../vendor.js';

export type Refusal = Extract<SendOutcome, { ok: false }>;

/** The longest wait Herald takes from a vendor's Retry-After (a day, as the dispatcher's backoff). */
const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * A Retry-After header in milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 *
 * @example
 * retryAfterMs('120') // 120000
 */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** The refusal with the vendor's Retry-After, when it gave one and the refusal is retried. */
export function withRetryAfter(outcome: Refusal, headers: Headers): Refusal {
  const wait = outcome.retryable ? retryAfterMs(headers.get('retry-after')) : undefined;
  return wait === undefined ? outcome : { ...outcome, retryAfterMs: wait };
}

/**
 * What an HTTP status alone says, for answers a vendor's own error codes do not explain: 429 slow
 * down; 408 and 5xx try again; 401/403 credentials; 404/405 and redirects a wrong base URL; 413
 * content; any other 4xx a refusal that sending again will not change.
 */
export function categoryOfHttpStatus(status: number): ErrorCategory {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'network';
  if (status >= 500) return 'vendor_unavailable';
  if (status === 401 || status === 403 || status === 404 || status === 405 || (status >= 300 && status < 400))
    return 'auth_or_config';
  if (status === 413) return 'content_rejected';
  return 'unknown';
}

/** A refusal from the HTTP status alone, honouring Retry-After. */
export function refusalForHttpStatus(status: number, headers: Headers, code: string | null, detail: string): Refusal {
  return withRetryAfter(refusal(categoryOfHttpStatus(status), code ?? String(status), detail), headers);
}
