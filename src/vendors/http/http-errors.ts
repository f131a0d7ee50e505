import { refusalForHttpStatus, type Refusal } from '../support/http-status-refusal.js';
import { redact } from '../support/redact.js';
import type { VendorAnswer } from '../support/vendor-http-client.js';

/**
 * A generic endpoint's refusal, from its HTTP status alone: 429 is rate_limited (honouring
 * Retry-After), 408 and 5xx are retried, 401/403 and 404/405 are configuration, any other 4xx is
 * refused for good. Its answer, shortened and without numbers or addresses, is the detail.
 */
export function translateHttpVendorAnswer(answer: VendorAnswer): Refusal {
  const words = answer.text.trim();
  const detail = redact(`The endpoint answered HTTP ${answer.status}${words ? `: ${words}` : ''}`, 300);
  return refusalForHttpStatus(answer.status, answer.headers, String(answer.status), detail);
}
