import { refusal, type SendOutcome } from '../vendor.js';
import type { Refusal } from './http-status-refusal.js';
import { TokenBucket } from './token-bucket.js';

/** A vendor's answer, read in full within the timeout. */
export interface VendorAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface VendorHttpOptions {
  /** How long one request may take, answer body included. */
  readonly timeoutMs: number;
  /** At most this many requests a second from this client; unlimited when absent. */
  readonly rateLimitPerSecond?: number;
}

/** How one vendor reads the answer to a send. */
export interface AnswerReader {
  /** The vendor's name, for people: "Twilio". */
  readonly vendor: string;
  /** What an answer outside 2xx means. */
  refusalOf(answer: VendorAnswer): Refusal;
  /** The vendor's id for what a 2xx answer accepted; undefined when the answer names none. */
  acceptedId(answer: VendorAnswer): string | undefined;
  /** A refusal a 2xx answer can still carry (SparkPost: every recipient rejected); most vendors have none. */
  refusalInAcceptance?(answer: VendorAnswer): Refusal | undefined;
}

// Connection failures worth another try; anything TLS-shaped is configuration (a wrong host or a
// bad certificate does not heal by itself).
const TLS_CODES = /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/i;

interface ErrorWithCause {
  name?: string;
  message?: string;
  code?: string;
  cause?: ErrorWithCause;
}

/**
 * The HTTP side shared by every REST vendor: global fetch, a timeout on each request, a rate limit
 * per vendor instance, and failures to reach the vendor translated into refusals (never thrown).
 * Requests never follow redirects: credentials stay with the host they were configured for.
 */
export class VendorHttpClient {
  readonly #timeoutMs: number;
  readonly #bucket: TokenBucket | undefined;
  readonly #closing = new AbortController();

  constructor(options: VendorHttpOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#bucket = options.rateLimitPerSecond ? new TokenBucket(options.rateLimitPerSecond) : undefined;
  }

  /** Sends one request when the rate limit allows; an answer of any status, or a refusal when there is none. */
  async request(url: string, init: { method: string; headers: Record<string, string>; body?: string }) {
    try {
      await this.#bucket?.take(this.#closing.signal);
    } catch {
      return refusal('network', 'closed', 'The vendor client was closed before the message could be sent.', true);
    }
    const signal = AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#closing.signal]);
    try {
      const response = await fetch(url, { ...init, signal, redirect: 'manual' });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text } satisfies VendorAnswer;
    } catch (error) {
      return this.#unreachable(error as ErrorWithCause);
    }
  }

  /**
   * Sends one request and reads its answer as every HTTP vendor does: no answer is the client's
   * refusal; an answer outside 2xx is the vendor's refusal; a 2xx answer is accepted under the id it
   * names — or `idWhenNone` — and refused when it names none (not retried: the vendor probably took it).
   */
  async send(
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
    reader: AnswerReader,
    idWhenNone?: string,
  ): Promise<SendOutcome> {
    const answer = await this.request(url, init);
    if (!isAnswer(answer)) return answer;
    if (answer.status < 200 || answer.status >= 300) return reader.refusalOf(answer);
    const id = reader.acceptedId(answer) ?? idWhenNone;
    if (!id)
      return refusal(
        'unknown',
        String(answer.status),
        `${reader.vendor} accepted the message but answered without its id.`,
      );
    return reader.refusalInAcceptance?.(answer) ?? { ok: true, vendorMessageId: id };
  }

  /** Stops waiting sends and requests in flight; they end as retryable refusals. */
  close(): void {
    this.#closing.abort();
  }

  #unreachable(error: ErrorWithCause): Refusal {
    if (this.#closing.signal.aborted)
      return refusal('network', 'closed', 'The vendor client was closed before the vendor answered.', true);
    if (error.name === 'TimeoutError')
      return refusal('network', 'timeout', `The vendor did not answer within ${this.#timeoutMs} ms.`, true);
    const cause = error.cause;
    const code = cause?.code ?? cause?.name ?? null;
    if (code && TLS_CODES.test(code))
      return refusal('auth_or_config', code, `The vendor's TLS certificate was refused: ${cause?.message ?? code}.`);
    if (!cause && error.name === 'TypeError')
      return refusal(
        'auth_or_config',
        null,
        `The request to the vendor cannot be made: ${error.message ?? 'bad URL'}.`,
      );
    return refusal('network', code, `Herald could not reach the vendor: ${cause?.message ?? error.message ?? code}.`);
  }
}

/** Type guard: the client answered (rather than refusing for want of an answer). */
function isAnswer(result: VendorAnswer | Refusal): result is VendorAnswer {
  return 'status' in result;
}
