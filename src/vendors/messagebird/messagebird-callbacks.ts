import type { ErrorCategory } from '../error-categories.js';
import { headerOf, stringField } from '../support/callback-parts.js';
import { redact } from '../support/redact.js';
import type { CallbackHandler, CallbackRequest, ReportedStatus, StatusReport } from '../vendor.js';
import { verifyMessageBirdJwt } from './messagebird-signature.js';

/** MessageBird's statuses that say something Herald records; scheduled and buffered do not. */
const STATUSES: Readonly<Record<string, ReportedStatus>> = {
  sent: 'sent',
  delivered: 'delivered',
  delivery_failed: 'failed',
  expired: 'failed',
};

/** MessageBird's status reasons (https://developers.messagebird.com/api/sms-messaging/#sms-statuses). */
function categoryOf(status: string, reason: string): ErrorCategory {
  const lower = reason.toLowerCase();
  if (lower.includes('unknown subscriber') || lower.includes('incorrect network')) return 'invalid_recipient';
  if (lower.includes('unavailable subscriber') || lower.includes('expired') || status === 'expired')
    return 'mailbox_unavailable';
  if (lower.includes('opted out') || lower.includes('carrier rejected')) return 'blocked_or_spam';
  if (lower.includes('insufficient balance')) return 'auth_or_config';
  if (lower.includes('capacity limit')) return 'rate_limited';
  if (lower.includes('network error')) return 'vendor_unavailable';
  return 'unknown';
}

/**
 * The report's parameters: in the query string of a GET (MessageBird's default), or in the body of
 * a POST, form-encoded or JSON.
 */
function parametersOf(request: CallbackRequest): URLSearchParams {
  const body = request.rawBody.trim();
  if (!body) {
    try {
      return new URL(request.url).searchParams;
    } catch {
      throw new Error('The MessageBird status report URL cannot be read');
    }
  }
  if (!body.startsWith('{')) return new URLSearchParams(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new Error(`The MessageBird status report body is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('The MessageBird status report body is not an object');
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(parsed))
    if (typeof value === 'string' || typeof value === 'number') params.set(key, String(value));
  return params;
}

/**
 * MessageBird SMS status reports: `id`, `reference`, `recipient`, `status`, `statusReason`,
 * `statusErrorCode`, `statusDatetime`, signed with the `MessageBird-Signature-JWT` header (needs the
 * `signingKey` secret). `id` is what send() returned; a report has no id of its own, so the event id
 * is the message id, the status and its time.
 */
export const messageBirdCallbacks: CallbackHandler = {
  verify(request, _settings, secrets) {
    const signingKey = stringField(secrets, 'signingKey');
    const token = headerOf(request, 'MessageBird-Signature-JWT');
    if (!signingKey || !token) return false;
    return verifyMessageBirdJwt(token, request.url, request.rawBody, signingKey);
  },

  parse(request) {
    const params = parametersOf(request);
    const id = params.get('id');
    const status = params.get('status');
    if (!id) throw new Error('The MessageBird status report has no id');
    if (!status) throw new Error('The MessageBird status report has no status');
    const datetime = params.get('statusDatetime');
    const occurredAt = datetime ? new Date(datetime) : new Date();
    if (Number.isNaN(occurredAt.getTime()))
      throw new Error('The MessageBird status report has a statusDatetime that is not a date');
    const reported = STATUSES[status];
    if (!reported) return { statuses: [], replies: [] };
    const report: StatusReport = {
      externalEventId: `${id}:${status}:${datetime ?? ''}`,
      vendorMessageId: id,
      status: reported,
      occurredAt,
    };
    if (reported !== 'failed') return { statuses: [report], replies: [] };
    const reason = params.get('statusReason') ?? status;
    return {
      statuses: [
        {
          ...report,
          category: categoryOf(status, reason),
          code: params.get('statusErrorCode') ?? null,
          detail: redact(`MessageBird: ${reason}`),
        },
      ],
      replies: [],
    };
  },
};
