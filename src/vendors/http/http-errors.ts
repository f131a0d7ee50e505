import { refusalForHttpStatus, type Refusal } from '../support/http-status-refusal.js';
import { answerSummary } from '../support/redact.js';
import type { VendorAnswer } from '../support/vendor-http-client.js';

/**
 * A generic endpoint's refusal, from its HTTP status alone: 429 is rate_limited (honouring
 * Retry-After), 408 and 5xx are retried, 401/403 and 404/405 are configuration, any other 4xx is
 * refused for good. Its body is not kept: the endpoint is anything an admin typed, so what it
 * answers may be what no one should read back through Herald.
 */
export function translateHttpVendorAnswer(answer: VendorAnswer): Refusal {
  const detail = answerSummary('The endpoint', answer);
  return refusalForHttpStatus(answer.status, answer.headers, String(answer.status), detail);
}
