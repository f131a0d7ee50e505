import { createHmac } from 'node:crypto';
import {
  arrayAt,
  epochSeconds,
  headerOf,
  objectAt,
  parseJsonBody,
  safeEqual,
  stringField,
  textAt,
} from '../support/callback-parts.js';
import { redact } from '../support/redact.js';
import type { CallbackHandler, ReplyReport, ReportedStatus, StatusReport } from '../vendor.js';
import { categoryOfWhatsAppCode } from './whatsapp-cloud-errors.js';

const STATUSES: Readonly<Record<string, ReportedStatus>> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
};

function statusReport(raw: unknown, at: string): StatusReport | undefined {
  const status = objectAt(raw, at);
  const id = textAt(status.id, `${at}.id`);
  const name = textAt(status.status, `${at}.status`);
  const occurredAt = epochSeconds(status.timestamp, `${at}.timestamp`);
  const reported = STATUSES[name];
  if (!reported) return undefined;
  const report: StatusReport = { externalEventId: `${id}:${name}`, vendorMessageId: id, status: reported, occurredAt };
  if (reported !== 'failed') return report;
  const error = objectAt(arrayAt(status.errors, `${at}.errors`)[0] ?? {}, `${at}.errors.0`);
  const code = typeof error.code === 'number' ? error.code : undefined;
  const words = [error.title, error.message, objectAt(error.error_data ?? {}, `${at}.errors.0.error_data`).details]
    .filter((w): w is string => typeof w === 'string' && w.length > 0)
    .filter((w, i, all) => all.indexOf(w) === i);
  return {
    ...report,
    category: (code !== undefined && categoryOfWhatsAppCode(code)) || 'unknown',
    code: code === undefined ? null : String(code),
    detail: redact(`WhatsApp: ${words.join(': ') || 'the message failed'}`),
  };
}

function replyReport(raw: unknown, at: string): ReplyReport {
  const message = objectAt(raw, at);
  const id = textAt(message.id, `${at}.id`);
  const occurredAt = epochSeconds(message.timestamp, `${at}.timestamp`);
  const context = message.context === undefined ? undefined : objectAt(message.context, `${at}.context`);
  const repliedTo = typeof context?.id === 'string' ? context.id : null;
  const from = typeof message.from === 'string' && message.from ? message.from : undefined;
  const reply = { externalEventId: id, vendorMessageId: repliedTo, ...(from && { from }), occurredAt };
  switch (message.type) {
    case 'text': {
      const text = objectAt(message.text, `${at}.text`).body;
      return { ...reply, ...(typeof text === 'string' && { text }) };
    }
    case 'button': {
      // A quick-reply button of a template: its payload is what the button means, its text what it said.
      const button = objectAt(message.button, `${at}.button`);
      return {
        ...reply,
        ...(typeof button.payload === 'string' && { action: button.payload }),
        ...(typeof button.text === 'string' && { text: button.text }),
      };
    }
    case 'interactive': {
      const interactive = objectAt(message.interactive, `${at}.interactive`);
      const choice = interactive.button_reply ?? interactive.list_reply;
      const picked = choice === undefined ? {} : objectAt(choice, `${at}.interactive.${String(interactive.type)}`);
      return {
        ...reply,
        ...(typeof picked.id === 'string' && { action: picked.id }),
        ...(typeof picked.title === 'string' && { text: picked.title }),
      };
    }
    default:
      return reply;
  }
}

/**
 * Cloud API webhooks: `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",
 * "value":{"statuses":[…],"messages":[…]}}]}]}`, signed with `X-Hub-Signature-256: sha256=<HMAC-SHA256
 * of the raw body with the app secret>`. Statuses (sent, delivered, read, failed with `errors`)
 * become status reports by wamid; customers' messages become replies to the wamid in `context.id`,
 * a quick-reply button's payload as the action, with the sender's number as `from` (for a reply
 * that quotes no message). The GET subscription handshake is `handshake` (verifySubscription).
 */
export const whatsAppCloudCallbacks: CallbackHandler = {
  verify(request, _settings, secrets) {
    const appSecret = stringField(secrets, 'appSecret');
    const header = headerOf(request, 'X-Hub-Signature-256');
    if (!appSecret || !header?.startsWith('sha256=')) return false;
    const expected = createHmac('sha256', appSecret).update(request.rawBody, 'utf8').digest('hex');
    return safeEqual(expected, header.slice('sha256='.length).toLowerCase());
  },

  parse(request) {
    const body = objectAt(parseJsonBody(request, 'WhatsApp'), 'The WhatsApp webhook body');
    if (body.object !== 'whatsapp_business_account')
      throw new Error(`The WhatsApp webhook is for "${String(body.object)}", not whatsapp_business_account`);
    const statuses: StatusReport[] = [];
    const replies: ReplyReport[] = [];
    arrayAt(body.entry, 'entry').forEach((entry, e) => {
      arrayAt(objectAt(entry, `entry.${e}`).changes, `entry.${e}.changes`).forEach((change, c) => {
        const at = `entry.${e}.changes.${c}`;
        const { field, value } = objectAt(change, at);
        if (field !== 'messages') return;
        const fields = objectAt(value, `${at}.value`);
        arrayAt(fields.statuses, `${at}.value.statuses`).forEach((status, s) => {
          const report = statusReport(status, `${at}.value.statuses.${s}`);
          if (report) statuses.push(report);
        });
        arrayAt(fields.messages, `${at}.value.messages`).forEach((message, m) =>
          replies.push(replyReport(message, `${at}.value.messages.${m}`)),
        );
      });
    });
    return { statuses, replies };
  },

  handshake: (query, settings, secrets) => verifySubscription(query, settings, secrets),
};

/**
 * The webhook subscription handshake (`GET …?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`):
 * the challenge to answer with (200, as plain text) when the verify token is this vendor's, or null
 * (answer 403).
 *
 * @example
 * verifySubscription(new URL(request.url).searchParams, vendor.settings, secrets) // '1158201444' or null
 */
export function verifySubscription(
  query: URLSearchParams | Readonly<Record<string, string | string[] | undefined>>,
  _settings: Record<string, unknown>,
  secrets: Record<string, unknown>,
): string | null {
  const get = (name: string): string | undefined => {
    if (query instanceof URLSearchParams) return query.get(name) ?? undefined;
    const value = query[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const verifyToken = stringField(secrets, 'verifyToken');
  const token = get('hub.verify_token');
  const challenge = get('hub.challenge');
  if (get('hub.mode') !== 'subscribe' || !verifyToken || !token || !challenge) return null;
  return safeEqual(token, verifyToken) ? challenge : null;
}
