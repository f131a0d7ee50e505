import type { BulkSendVendor, OutgoingMessage, SendOutcome } from '../vendor.js';
import { refusal } from '../vendor.js';
import { networkRefusal, translateSparkPostError, type SparkPostError } from './sparkpost-errors.js';

/** The settings a `sparkpost` vendor is saved with (validated by vendor-kinds.ts). */
export interface SparkPostSettings {
  /** `https://api.sparkpost.com`, `https://api.eu.sparkpost.com` or an enterprise endpoint, without `/api/v1`. */
  baseUrl: string;
  fromAddress: string;
  fromName?: string;
  campaignId?: string;
  transactional: boolean;
  openTracking: boolean;
  clickTracking: boolean;
  requestTimeoutMs: number;
}

export interface SparkPostSecrets {
  apiKey: string;
}

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

/** What a successful transmission answers. */
interface TransmissionResults {
  total_rejected_recipients?: number;
  total_accepted_recipients?: number;
  id?: string | number;
}

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
  readonly #endpoint: string;

  constructor(
    private readonly settings: SparkPostSettings,
    private readonly secrets: SparkPostSecrets,
  ) {
    this.#endpoint = `${settings.baseUrl.replace(/\/+$/, '')}/api/v1/transmissions`;
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
    const everyone = (outcome: SendOutcome) => messages.map(() => outcome);
    let response: Response;
    let body: unknown;
    try {
      response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: {
          authorization: this.secrets.apiKey,
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'Herald',
        },
        body: JSON.stringify(this.transmissionOf(messages)),
        // The API key must not follow a redirect to wherever it points.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.requestTimeoutMs),
      });
      body = await response.json().catch(() => undefined);
    } catch (error) {
      return everyone(networkRefusal(error, this.settings.requestTimeoutMs));
    }

    if (response.status >= 200 && response.status < 300) {
      const results = (body as { results?: TransmissionResults } | undefined)?.results;
      const id = results?.id;
      if (id === undefined || id === null || String(id) === '') {
        // It was probably accepted: sending again could deliver twice, so it is not retried.
        return everyone(
          refusal('unknown', String(response.status), 'SparkPost accepted the transmission without an id', false),
        );
      }
      if ((results?.total_accepted_recipients ?? 0) === 0 && (results?.total_rejected_recipients ?? 0) > 0) {
        return everyone(
          refusal('blocked_or_spam', '1902', 'SparkPost rejected every recipient of the transmission', false),
        );
      }
      return messages.map((m) => ({ ok: true, vendorMessageId: vendorMessageIdOf(String(id), m.id) }));
    }
    if (response.status >= 300 && response.status < 400) {
      return everyone(
        refusal(
          'auth_or_config',
          String(response.status),
          'The SparkPost base URL redirects elsewhere: set the API endpoint itself',
        ),
      );
    }
    const errors = (body as { errors?: unknown } | undefined)?.errors;
    return everyone(
      translateSparkPostError(
        response.status,
        Array.isArray(errors) ? (errors as SparkPostError[]) : [],
        response.headers.get('retry-after'),
      ),
    );
  }

  async close(): Promise<void> {
    // fetch keeps no connection pool of the vendor's own.
  }
}
