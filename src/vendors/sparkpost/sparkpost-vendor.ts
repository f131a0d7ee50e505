import type { EgressRules } from '../../network/egress-rules.js';
import type { Refusal } from '../support/http-status-refusal.js';
import { idInAnswer } from '../support/json-answer.js';
import { trimmedBase } from '../support/transport-settings.js';
import { VendorHttpClient, type AnswerReader, type VendorAnswer } from '../support/vendor-http-client.js';
import { refusal, type BulkSendVendor, type OutgoingMessage, type SendOutcome } from '../vendor.js';
import { translateSparkPostAnswer } from './sparkpost-errors.js';
import type { SparkPostSecrets, SparkPostSettings } from './sparkpost-settings.js';

/** The recipient metadata key that carries Herald's message id into every SparkPost event. */
export const MESSAGE_ID_METADATA = 'herald_message_id';

/**
 * How Herald names a recipient of a transmission, in its records and in callbacks: SparkPost's
 * transmission id and Herald's message id, which every webhook event carries back
 * (`transmission_id`, `rcpt_meta.herald_message_id`).
 *
 * @example vendorMessageIdOf('7259384762', '0b6d…') // '7259384762:0b6d…'
 */
export const vendorMessageIdOf = (transmissionId: string, messageId: string): string =>
  `${transmissionId}:${messageId}`;

interface TransmissionRecipient {
  address: { email: string };
  substitution_data: Record<string, string>;
  metadata: Record<string, string>;
}

/** What a successful transmission answers: `{"results": {"id", "total_accepted_recipients", …}}`. */
interface TransmissionResults {
  total_rejected_recipients?: number;
  total_accepted_recipients?: number;
}

/** A transmission SparkPost took but in which it rejected every recipient: nobody's message went. */
function everyoneRejected(answer: VendorAnswer): Refusal | undefined {
  let results: TransmissionResults | undefined;
  try {
    results = (JSON.parse(answer.text) as { results?: TransmissionResults } | null)?.results;
  } catch {
    return undefined;
  }
  if ((results?.total_accepted_recipients ?? 0) > 0 || (results?.total_rejected_recipients ?? 0) === 0)
    return undefined;
  return refusal('blocked_or_spam', '1902', 'SparkPost rejected every recipient of the transmission', false);
}

/** The transmission's id is every recipient's vendor message id, with Herald's message id after it. */
const transmissionAnswers: AnswerReader = {
  vendor: 'SparkPost',
  refusalOf: translateSparkPostAnswer,
  acceptedId: (answer) => idInAnswer(answer.text, 'results.id'),
  refusalInAcceptance: everyoneRejected,
};

// Substitution keys: SparkPost allows letters, digits and underscores; `herald_` keeps clear of its keywords.
const SUBJECT = 'herald_subject';
const HTML = 'herald_html';
const TEXT = 'herald_text';
const headerKey = (index: number) => `herald_header_${index}`;
/** Triple braces: the values are Herald's finished rendering, inserted as they are (not HTML-escaped again). */
const slot = (key: string) => `{{{${key}}}}`;

/**
 * Messages that can share one transmission's content: the same parts and the same header names.
 * Herald's rendering gives every message of a dispatch the same shape, so a batch is one group.
 */
function shapeOf(message: OutgoingMessage): string {
  return JSON.stringify([message.html !== undefined, Object.keys(message.headers).sort()]);
}

/**
 * SparkPost, a bulk-send email vendor: one Transmissions API call (`POST /api/v1/transmissions`)
 * carries a whole batch.
 *
 * Every recipient's message is different (its links carry the recipient's token), so the
 * transmission's content is a template of SparkPost substitutions — `{{{herald_subject}}}`,
 * `{{{herald_html}}}`, `{{{herald_text}}}` and one per header — and each recipient carries its own
 * rendering as `substitution_data`, with Herald's message id as recipient `metadata`. The
 * recipient receives exactly what Herald rendered; values are never parsed as template, so
 * braces in a customer's name cannot break the send.
 *
 * Per-recipient results: SparkPost accepts or refuses a transmission as a whole. A refusal (4xx,
 * 5xx, no answer) means nothing was sent, and that refusal is every recipient's outcome. An
 * acceptance is every recipient's `Sent`, under `<transmission id>:<message id>`. When an accepted
 * transmission counts rejected recipients (suppressed, generation failed) SparkPost does not say
 * which: it reports each as a `generation_rejection` / `policy_rejection` / `bounce` webhook event
 * carrying the recipient's metadata, which the callback handler turns into that message's failure.
 * Only when every recipient was rejected is the rejection everyone's outcome at once.
 */
export class SparkPostVendor implements BulkSendVendor {
  readonly delivery = 'bulk';
  readonly #http: VendorHttpClient;
  readonly #endpoint: string;

  constructor(
    private readonly settings: SparkPostSettings,
    private readonly secrets: SparkPostSecrets,
    egress: EgressRules,
  ) {
    this.#http = new VendorHttpClient({ timeoutMs: settings.requestTimeoutMs, egress });
    this.#endpoint = `${trimmedBase(settings.baseUrl)}/api/v1/transmissions`;
  }

  async sendBatch(messages: readonly OutgoingMessage[]): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = new Array<SendOutcome>(messages.length);
    const groups = new Map<string, number[]>();
    messages.forEach((message, index) => {
      const shape = shapeOf(message);
      groups.set(shape, [...(groups.get(shape) ?? []), index]);
    });
    for (const indexes of groups.values()) {
      const group = indexes.map((i) => messages[i]!);
      const results = await this.#transmit(group);
      indexes.forEach((messageIndex, i) => (outcomes[messageIndex] = results[i]!));
    }
    return outcomes;
  }

  /** The body of one transmission for messages of one shape. */
  transmissionOf(messages: readonly OutgoingMessage[]): Record<string, unknown> {
    const first = messages[0];
    if (!first) throw new Error('a transmission needs at least one recipient');
    const headerNames = Object.keys(first.headers).sort();
    const recipients: TransmissionRecipient[] = messages.map((m) => ({
      address: { email: m.to },
      substitution_data: {
        [SUBJECT]: m.subject ?? '',
        [TEXT]: m.text,
        ...(m.html !== undefined && { [HTML]: m.html }),
        ...Object.fromEntries(headerNames.map((name, i) => [headerKey(i), m.headers[name] ?? ''])),
      },
      metadata: { [MESSAGE_ID_METADATA]: m.id },
    }));
    const { settings } = this;
    return {
      options: {
        open_tracking: settings.openTracking,
        click_tracking: settings.clickTracking,
        transactional: settings.transactional,
      },
      ...(settings.campaignId && { campaign_id: settings.campaignId }),
      recipients,
      content: {
        from: { email: settings.fromAddress, ...(settings.fromName && { name: settings.fromName }) },
        subject: slot(SUBJECT),
        ...(first.html !== undefined && { html: slot(HTML) }),
        text: slot(TEXT),
        headers: Object.fromEntries(headerNames.map((name, i) => [name, slot(headerKey(i))])),
      },
    };
  }

  async #transmit(messages: readonly OutgoingMessage[]): Promise<SendOutcome[]> {
    const request = {
      method: 'POST',
      headers: {
        authorization: this.secrets.apiKey,
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': 'Herald',
      },
      body: JSON.stringify(this.transmissionOf(messages)),
    };
    const outcome = await this.#http.send(this.#endpoint, request, transmissionAnswers);
    if (!outcome.ok) return messages.map(() => outcome);
    return messages.map((m) => ({ ok: true, vendorMessageId: vendorMessageIdOf(outcome.vendorMessageId, m.id) }));
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
