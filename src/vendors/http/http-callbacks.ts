import { createHmac } from 'node:crypto';
import { errorCategories, type ErrorCategory } from '../error-categories.js';
import { headerOf, objectAt, parseJsonBody, safeEqual, stringField, textAt } from '../support/callback-parts.js';
import { redact } from '../support/redact.js';
import type { CallbackHandler, ReportedStatus, StatusReport } from '../vendor.js';

const STATUSES: readonly ReportedStatus[] = ['sent', 'delivered', 'read', 'bounced', 'failed'];

function statusReport(raw: unknown, at: string): StatusReport {
  const event = objectAt(raw, at);
  const status = textAt(event.status, `${at}.status`);
  if (!STATUSES.includes(status as ReportedStatus))
    throw new Error(`${at}.status must be one of: ${STATUSES.join(', ')}`);
  const occurredAt =
    event.occurredAt === undefined ? new Date() : new Date(textAt(event.occurredAt, `${at}.occurredAt`));
  if (Number.isNaN(occurredAt.getTime())) throw new Error(`${at}.occurredAt is not an ISO 8601 date`);
  const category = event.category;
  if (category !== undefined && !(typeof category === 'string' && category in errorCategories))
    throw new Error(`${at}.category must be one of: ${Object.keys(errorCategories).join(', ')}`);
  return {
    externalEventId: textAt(event.eventId, `${at}.eventId`),
    vendorMessageId: textAt(event.messageId, `${at}.messageId`),
    status: status as ReportedStatus,
    occurredAt,
    ...(category !== undefined && { category: category as ErrorCategory }),
    ...(typeof event.code === 'string' && { code: event.code }),
    ...(typeof event.detail === 'string' && { detail: redact(event.detail) }),
  };
}

/**
 * Callbacks of a generic HTTP vendor (optional): a JSON event `{"messageId","status","eventId",
 * "occurredAt"?, "category"?, "code"?, "detail"?}` or an array of them, signed with the hex
 * HMAC-SHA256 of the raw body under the `callbackSecret` secret, in the header the settings name
 * (`X-Signature` by default; a `sha256=` prefix is allowed). `messageId` is what send() returned.
 */
export const httpVendorCallbacks: CallbackHandler = {
  verify(request, settings, secrets) {
    const secret = stringField(secrets, 'callbackSecret');
    const header = headerOf(request, stringField(settings, 'callbackSignatureHeader') ?? 'X-Signature');
    if (!secret || !header) return false;
    const expected = createHmac('sha256', secret).update(request.rawBody, 'utf8').digest('hex');
    return safeEqual(expected, header.replace(/^sha256=/, '').toLowerCase());
  },

  parse(request) {
    const body = parseJsonBody(request, 'HTTP vendor');
    const events = Array.isArray(body) ? body : [body];
    return {
      statuses: events.map((event, index) => statusReport(event, Array.isArray(body) ? `events.${index}` : 'event')),
      replies: [],
    };
  },
};
