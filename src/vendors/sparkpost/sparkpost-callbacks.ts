import { createHash, timingSafeEqual } from 'node:crypto';
import type { ErrorCategory } from '../error-categories.js';
import { headerOf } from '../support/callback-parts.js';
import type { CallbackHandler, ReportedStatus, StatusReport } from '../vendor.js';
import { MESSAGE_ID_METADATA, vendorMessageIdOf } from './sparkpost-vendor.js';

/** The header that carries `secrets.webhookToken` unless the vendor names another (`settings.webhookTokenHeader`). */
export const DEFAULT_WEBHOOK_TOKEN_HEADER = 'x-herald-webhook-token';

/** Equal strings, compared in time that depends on neither their contents nor their lengths. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** `Authorization: Basic …` as user and password; undefined when it is not Basic. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const encoded = /^basic\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * SparkPost bounce classes (support.sparkpost.com, "Bounce Classification Codes") as Herald's
 * categories. 60 (auto-reply), 80 (subscribe), 90 (unsubscribe) and 100 (challenge-response) are
 * replies, not failures to deliver: they are not reported.
 */
const bounceCategories: Readonly<Record<string, ErrorCategory>> = {
  '1': 'unknown',
  '10': 'invalid_recipient',
  '20': 'mailbox_unavailable',
  '21': 'mailbox_unavailable',
  '22': 'mailbox_unavailable',
  '23': 'content_rejected',
  '24': 'mailbox_unavailable',
  '25': 'blocked_or_spam',
  '26': 'blocked_or_spam',
  '30': 'invalid_recipient',
  '40': 'unknown',
  '50': 'blocked_or_spam',
  '51': 'blocked_or_spam',
  '52': 'blocked_or_spam',
  '53': 'content_rejected',
  '54': 'blocked_or_spam',
  '70': 'mailbox_unavailable',
};
const notFailures = new Set(['60', '80', '90', '100']);

/** The event types Herald records, and the status each means. Others (injection, delay, click, …) are ignored. */
const statusOfType: Readonly<Record<string, ReportedStatus>> = {
  delivery: 'delivered',
  bounce: 'bounced',
  out_of_band: 'bounced',
  policy_rejection: 'failed',
  generation_rejection: 'failed',
  generation_failure: 'failed',
  open: 'read',
  initial_open: 'read',
  amp_open: 'read',
  amp_initial_open: 'read',
};

/** Webhook timestamps are Unix seconds as a string; the Events API's are ISO 8601. Both are read. */
function timeOf(value: unknown): Date | undefined {
  const raw = typeof value === 'number' ? String(value) : text(value);
  if (raw === undefined) return undefined;
  const at = /^\d+(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

function reportOf(event: Record<string, unknown>): StatusReport | undefined {
  const type = text(event.type);
  const status = type ? statusOfType[type] : undefined;
  const eventId = text(event.event_id);
  const transmissionId =
    typeof event.transmission_id === 'number' ? String(event.transmission_id) : text(event.transmission_id);
  const meta = event.rcpt_meta as Record<string, unknown> | undefined;
  const messageId = text(meta?.[MESSAGE_ID_METADATA]);
  const occurredAt = timeOf(event.timestamp);
  // Not Herald's (no metadata), or not a status Herald records.
  if (!status || !eventId || !transmissionId || !messageId || !occurredAt) return undefined;
  const report = {
    externalEventId: eventId,
    vendorMessageId: vendorMessageIdOf(transmissionId, messageId),
    status,
    occurredAt,
  };
  if (status === 'delivered' || status === 'read') return report;

  // A number in SparkPost's payloads, a string in some older ones.
  const bounceClass = typeof event.bounce_class === 'number' ? String(event.bounce_class) : text(event.bounce_class);
  if (bounceClass !== undefined && notFailures.has(bounceClass)) return undefined;
  const category: ErrorCategory =
    type === 'generation_failure'
      ? 'content_rejected'
      : ((bounceClass === undefined ? undefined : bounceCategories[bounceClass]) ??
        (status === 'failed' ? 'blocked_or_spam' : 'unknown'));
  const reason = text(event.raw_reason) ?? text(event.reason) ?? type ?? 'bounce';
  return {
    ...report,
    category,
    code: text(event.error_code) ?? bounceClass ?? null,
    detail: bounceClass === undefined ? reason : `${reason} (bounce class ${bounceClass})`,
  };
}

/**
 * SparkPost webhooks: a POST of a JSON array of `{"msys": {"message_event": {...}}}` (or
 * `track_event`, …) objects. A webhook is authenticated with Basic credentials or with a custom
 * header, both configured on the webhook at SparkPost and stored as the vendor's secrets
 * (`webhookUsername` + `webhookPassword`, `webhookToken`); every credential configured must match.
 * A vendor with neither accepts no callbacks.
 *
 * Each event names its recipient by `transmission_id` and the `herald_message_id` metadata Herald
 * sent, which together are the message's vendor message id.
 */
export const sparkPostCallbacks: CallbackHandler = {
  verify(request, settings, secrets) {
    const checks: boolean[] = [];
    const user = text(secrets.webhookUsername);
    const password = text(secrets.webhookPassword);
    if (user !== undefined || password !== undefined) {
      const given = basicCredentials(headerOf(request, 'authorization'));
      // Both comparisons always run, so the time taken does not tell which one failed.
      const userMatches = sameSecret(given?.user ?? '', user ?? '');
      const passwordMatches = sameSecret(given?.password ?? '', password ?? '');
      checks.push(given !== undefined && userMatches && passwordMatches);
    }
    const token = text(secrets.webhookToken);
    if (token !== undefined) {
      const header = text(settings.webhookTokenHeader) ?? DEFAULT_WEBHOOK_TOKEN_HEADER;
      const given = headerOf(request, header);
      checks.push(given !== undefined && sameSecret(given, token));
    }
    return checks.length > 0 && checks.every(Boolean);
  },

  parse(request) {
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody);
    } catch {
      throw new Error('The SparkPost webhook body is not JSON.');
    }
    if (!Array.isArray(body)) throw new Error('A SparkPost webhook body is a JSON array of events.');
    const statuses: StatusReport[] = [];
    for (const item of body as unknown[]) {
      const msys = (item as { msys?: Record<string, unknown> } | null)?.msys;
      // SparkPost's test ping is `[{"msys": {}}]`: nothing to record.
      const event = msys && Object.values(msys).find((value) => value !== null && typeof value === 'object');
      const report = event ? reportOf(event as Record<string, unknown>) : undefined;
      if (report) statuses.push(report);
    }
    return { statuses, replies: [] };
  },
};
