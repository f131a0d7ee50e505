import { errorCategories, type ErrorCategory } from './error-categories.js';

/** A rendered message, ready for a vendor. */
export interface OutgoingMessage {
  /** Herald's message id: echoed back by vendors where they allow, to match callbacks and bounces. */
  readonly id: string;
  readonly to: string;
  readonly subject?: string;
  readonly html?: string;
  readonly text: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The recipient's survey and unsubscribe links, for vendors that place them outside the text (WhatsApp template parameters). */
  readonly links?: { readonly survey: string; readonly unsubscribe: string };
}

/** What became of one send: accepted, or refused with a translated cause. */
export type SendOutcome =
  | { readonly ok: true; readonly vendorMessageId: string }
  | {
      readonly ok: false;
      readonly category: ErrorCategory;
      /** Whether sending again later may succeed (4xx, network) or not (5xx, bad credentials). */
      readonly retryable: boolean;
      /** The vendor's own code (an SMTP reply code, an HTTP status, an API error code). */
      readonly code: string | null;
      /** The vendor's own words, for a person to read. */
      readonly detail: string;
      /** When the vendor said how long to wait. */
      readonly retryAfterMs?: number;
    };

/** A vendor that takes one message a call (SMTP, Twilio, …). */
export interface SingleSendVendor {
  readonly delivery: 'single';
  send(message: OutgoingMessage): Promise<SendOutcome>;
  /** Releases connections; the vendor is not used again. */
  close(): Promise<void>;
}

/** A vendor that takes many recipients a call (SparkPost transmissions, …), answering per recipient. */
export interface BulkSendVendor {
  readonly delivery: 'bulk';
  /** One outcome per message, in the same order. */
  sendBatch(messages: readonly OutgoingMessage[]): Promise<SendOutcome[]>;
  close(): Promise<void>;
}

export type Vendor = SingleSendVendor | BulkSendVendor;

/** A delivery status a vendor reports in a callback. */
export type ReportedStatus = 'sent' | 'delivered' | 'read' | 'bounced' | 'failed';

export interface StatusReport {
  /** The vendor's id for this callback event, so a repeated callback is applied once. */
  readonly externalEventId: string;
  /** The vendor's id of the message (what send() returned as vendorMessageId). */
  readonly vendorMessageId: string;
  readonly status: ReportedStatus;
  readonly occurredAt: Date;
  readonly category?: ErrorCategory;
  readonly code?: string | null;
  readonly detail?: string;
}

/** A customer's reply or button press (WhatsApp), recorded as Replied with the action. */
export interface ReplyReport {
  readonly externalEventId: string;
  /** The message replied to, when the vendor says. */
  readonly vendorMessageId: string | null;
  readonly text?: string;
  /** A quick-reply button's payload. */
  readonly action?: string;
  /**
   * The sender's number as the vendor gives it (e.g. "447700900123" or "+447700900123"): used only
   * to find the invitation by its hashed number when the reply names no message; never stored.
   */
  readonly from?: string;
  readonly occurredAt: Date;
}

/** A vendor callback as it arrived: the raw body is what signatures are computed over. */
export interface CallbackRequest {
  /** The full public URL the vendor called (Twilio signs it). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly rawBody: string;
}

/** Reads one vendor kind's callbacks. */
export interface CallbackHandler {
  /** True only when the request provably comes from the vendor (signature, token or credentials). */
  verify(request: CallbackRequest, settings: Record<string, unknown>, secrets: Record<string, unknown>): boolean;
  /** The reports in the body; throws an Error with a readable message for a body it cannot read (→ 400). */
  parse(request: CallbackRequest): { statuses: StatusReport[]; replies: ReplyReport[] };
  /**
   * A subscription handshake (GET on the callback URL), for vendors that verify the URL before
   * calling it: the text to answer with 200, or null to refuse (403). WhatsApp Cloud:
   * `?hub.mode=subscribe&hub.verify_token=…&hub.challenge=123` → "123" when the token matches.
   */
  handshake?(
    query: Readonly<Record<string, string | undefined>>,
    settings: Record<string, unknown>,
    secrets: Record<string, unknown>,
  ): string | null;
}

const MAX_CODE_LENGTH = 64;
const MAX_DETAIL_LENGTH = 1000;

/** A refusal, retryable as its category usually is unless the vendor said otherwise. */
export function refusal(
  category: ErrorCategory,
  code: string | null,
  detail: string,
  retryable: boolean = errorCategories[category].retryable,
): Extract<SendOutcome, { ok: false }> {
  // Bounded whatever a vendor sends: both are stored with the message and shown through the API.
  const boundedCode = code === null ? null : code.slice(0, MAX_CODE_LENGTH);
  const boundedDetail = detail.length > MAX_DETAIL_LENGTH ? `${detail.slice(0, MAX_DETAIL_LENGTH)}…` : detail;
  return { ok: false, category, retryable, code: boundedCode, detail: boundedDetail };
}
