import { EGRESS_REFUSED } from '../../network/egress-guard.js';
import type { EgressRules } from '../../network/egress-rules.js';
import { GuardedHttpClient } from '../../network/guarded-http.js';
import { refusal, type SendOutcome } from '../vendor.js';
import type { Refusal } from './http-status-refusal.js';
import { TokenBucket } from './token-bucket.js';

/** A vendor's answer, read within the timeout (its first MAX_ANSWER_BYTES). */
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
  /** What the operator lets vendors reach beyond public addresses and standard ports. */
  readonly egress: EgressRules;
}

/** More than any vendor's answer to one send: the rest of a larger answer is not read. */
const MAX_ANSWER_BYTES = 256 * 1024;

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

interface ConnectionError {
  name?: string;
  message?: string;
  code?: string;
}

/**
 * The HTTP side shared by every REST vendor: requests through the egress guard, a timeout on each
 * request, a rate limit per vendor instance, and failures to reach the vendor translated into
 * refusals (never thrown). Requests never follow redirects: credentials stay with the host they
 * were configured for.
 */
export class VendorHttpClient {
  readonly #timeoutMs: number;
  readonly #bucket: TokenBucket | undefined;
  readonly #closing = new AbortController();
  readonly #http: GuardedHttpClient;

  constructor(options: VendorHttpOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#http = new GuardedHttpClient(options.egress, MAX_ANSWER_BYTES);
    this.#bucket = options.rateLimitPerSecond ? new TokenBucket(options.rateLimitPerSecond) : undefined;
  }

  /** Sends one request when the rate limit allows; an answer of any status, or a refusal when there is none. */
  async request(url: string, init: { method: string; headers: Record<string, string>; body?: string }) {
    try {
      await this.#bucket?.take(this.#closing.signal);
    } catch {
      return refusal('network', 'closed', 'The vendor client was closed before the message could be sent.', true);
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([timeout, this.#closing.signal]);
    try {
      return (await this.#http.request(url, { ...init, signal })) satisfies VendorAnswer;
    } catch (error) {
      return this.#unreachable(error as ConnectionError, timeout.aborted);
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
    this.#http.close();
  }

  #unreachable(error: ConnectionError, timedOut: boolean): Refusal {
    if (this.#closing.signal.aborted)
      return refusal('network', 'closed', 'The vendor client was closed before the vendor answered.', true);
    if (timedOut) return refusal('network', 'timeout', `The vendor did not answer within ${this.#timeoutMs} ms.`, true);
    const code = error.code ?? null;
    if (code === EGRESS_REFUSED)
      return refusal('auth_or_config', code, `The vendor's address is refused: ${error.message ?? code}.`);
    if (code && TLS_CODES.test(code))
      return refusal('auth_or_config', code, `The vendor's TLS certificate was refused: ${error.message ?? code}.`);
    if (error.name === 'TypeError')
      return refusal(
        'auth_or_config',
        null,
        `The request to the vendor cannot be made: ${error.message ?? 'bad URL'}.`,
      );
    return refusal('network', code, `Herald could not reach the vendor: ${error.message ?? code}.`);
  }
}

/** Type guard: the client answered (rather than refusing for want of an answer). */
function isAnswer(result: VendorAnswer | Refusal): result is VendorAnswer {
  return 'status' in result;
}
