import type { EgressRules } from '../../network/egress-rules.js';
import { idInAnswer } from '../support/json-answer.js';
import { trimmedBase } from '../support/transport-settings.js';
import { VendorHttpClient, type AnswerReader } from '../support/vendor-http-client.js';
import type { OutgoingMessage, SendOutcome, SingleSendVendor } from '../vendor.js';
import { translateMessageBirdError } from './messagebird-errors.js';
import type { MessageBirdSecrets, MessageBirdSettings } from './messagebird-settings.js';

const messageBirdAnswers: AnswerReader = {
  vendor: 'MessageBird',
  refusalOf: translateMessageBirdError,
  acceptedId: (answer) => idInAnswer(answer.text, 'id'),
};

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
    egress: EgressRules,
  ) {
    this.#http = new VendorHttpClient({ ...settings, egress });
    this.#url = `${trimmedBase(settings.baseUrl)}/messages`;
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const request = {
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
    };
    return this.#http.send(this.#url, request, messageBirdAnswers);
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
