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

/** Builds a vendor from its stored settings and opened secrets (validated when they were saved). */
export type VendorFactory = (settings: Record<string, unknown>, secrets: Record<string, unknown>) => SingleSendVendor;

/** A refusal, retryable as its category usually is unless the vendor said otherwise. */
export function refusal(
  category: ErrorCategory,
  code: string | null,
  detail: string,
  retryable: boolean = errorCategories[category].retryable,
): Extract<SendOutcome, { ok: false }> {
  return { ok: false, category, retryable, code, detail };
}
