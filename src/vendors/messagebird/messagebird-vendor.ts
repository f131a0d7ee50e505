import { configuredVendor } from '../support/configured-vendor.js';
import { trimmedBase } from '../support/transport-settings.js';
import { isAnswer, VendorHttpClient } from '../support/vendor-http-client.js';
import {
  refusal,
  type OutgoingMessage,
  type SendOutcome,
  type SingleSendVendor,
  type VendorFactory,
} from '../vendor.js';
import { messageBirdKind, type MessageBirdSecrets, type MessageBirdSettings } from './messagebird-kind.js';
import { translateMessageBirdError } from './messagebird-errors.js';

/**
 * SMS through MessageBird: `POST {baseUrl}/messages` with `Authorization: AccessKey …` and
 * `{originator, recipients, body, reference, reportUrl}`. The reference is Herald's message id, so
 * status reports can be matched by either id; the answer's `id` is the vendor message id.
 */
export class MessageBirdVendor implements SingleSendVendor {
  readonly delivery = 'single';
  readonly #http: VendorHttpClient;
  readonly #url: string;

  constructor(
    private readonly settings: MessageBirdSettings,
    private readonly secrets: MessageBirdSecrets,
  ) {
    this.#http = new VendorHttpClient(settings);
    this.#url = `${trimmedBase(settings.baseUrl)}/messages`;
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const result = await this.#http.request(this.#url, {
      method: 'POST',
      headers: {
        authorization: `AccessKey ${this.secrets.accessKey}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({
        originator: this.settings.originator,
        // MSISDNs: the E.164 number without its plus.
        recipients: [message.to.replace(/^\+/, '')],
        body: message.text,
        reference: message.id,
        ...(this.settings.reportUrl && { reportUrl: this.settings.reportUrl }),
      }),
    });
    if (!isAnswer(result)) return result;
    if (result.status < 200 || result.status >= 300) return translateMessageBirdError(result);
    const id = idOf(result.text);
    return id
      ? { ok: true, vendorMessageId: id }
      : refusal('unknown', String(result.status), 'MessageBird accepted the message but answered without its id.');
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}

function idOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === 'string' && id ? id : undefined;
  } catch {
    return undefined;
  }
}

export const createMessageBirdVendor: VendorFactory = (settings, secrets) =>
  configuredVendor<MessageBirdSettings, MessageBirdSecrets>(
    messageBirdKind,
    settings,
    secrets,
    (s, t) => new MessageBirdVendor(s, t),
  );
