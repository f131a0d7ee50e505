import { headerOf, stringField } from '../support/callback-parts.js';
import type { CallbackHandler, ReportedStatus, StatusReport } from '../vendor.js';
import { categoryOfTwilioCode } from './twilio-errors.js';
import { isTwilioSignatureValid } from './twilio-signature.js';

/** Twilio's message statuses that Herald records; queued, accepted, sending and the like do not change anything. */
const STATUSES: Readonly<Record<string, ReportedStatus>> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  // The carrier could not deliver it (the handset's side), versus Twilio could not send it at all.
  undelivered: 'bounced',
  failed: 'failed',
};

/**
 * Twilio status callbacks: form-encoded `MessageSid`, `MessageStatus`, `ErrorCode` (and `SmsSid`,
 * `SmsStatus`, `AccountSid`, `From`, `To`…), signed with `X-Twilio-Signature` (the `authToken`
 * secret) over the URL Twilio called. A callback carries no event id or time: the event id is the
 * sid and the status, the time is when it arrived. An incoming SMS (status `received`, posted to a
 * number's messaging webhook) is read as a reply.
 */
export const twilioCallbacks: CallbackHandler = {
  verify(request, _settings, secrets) {
    const authToken = stringField(secrets, 'authToken');
    const signature = headerOf(request, 'X-Twilio-Signature');
    if (!authToken || !signature) return false;
    return isTwilioSignatureValid(authToken, signature, request.url, request.rawBody);
  },

  parse(request) {
    const body = request.rawBody.trim();
    if (body.startsWith('{') || body.startsWith('['))
      throw new Error('The Twilio callback body is JSON; Twilio posts status callbacks form-encoded');
    const params = new URLSearchParams(body);
    const sid = params.get('MessageSid') ?? params.get('SmsSid');
    const status = params.get('MessageStatus') ?? params.get('SmsStatus');
    if (!sid) throw new Error('The Twilio callback has no MessageSid');
    if (!status) throw new Error('The Twilio callback has no MessageStatus');
    const occurredAt = new Date();
    if (status === 'received') {
      const text = params.get('Body');
      const from = params.get('From');
      return {
        statuses: [],
        replies: [
          {
            externalEventId: sid,
            vendorMessageId: null,
            ...(text !== null && { text }),
            ...(from && { from }),
            occurredAt,
          },
        ],
      };
    }
    const reported = STATUSES[status];
    if (!reported) return { statuses: [], replies: [] };
    const report: StatusReport = {
      externalEventId: `${sid}:${status}`,
      vendorMessageId: sid,
      status: reported,
      occurredAt,
    };
    const errorCode = params.get('ErrorCode');
    if (reported !== 'failed' && reported !== 'bounced') return { statuses: [report], replies: [] };
    const code = errorCode && /^\d+$/.test(errorCode) ? Number(errorCode) : undefined;
    return {
      statuses: [
        {
          ...report,
          category: (code !== undefined && categoryOfTwilioCode(code)) || 'unknown',
          code: errorCode || null,
          detail: errorCode
            ? `Twilio error ${errorCode} (https://www.twilio.com/docs/errors/${errorCode})`
            : `Twilio reported the message ${status}`,
        },
      ],
      replies: [],
    };
  },
};
