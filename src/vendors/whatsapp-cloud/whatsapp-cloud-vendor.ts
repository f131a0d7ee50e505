import type { EgressRules } from '../../network/egress-rules.js';
import { idInAnswer } from '../support/json-answer.js';
import { messageContext, plainTemplate } from '../support/plain-template.js';
import { trimmedBase } from '../support/transport-settings.js';
import { VendorHttpClient, type AnswerReader } from '../support/vendor-http-client.js';
import { refusal, type OutgoingMessage, type SendOutcome, type SingleSendVendor } from '../vendor.js';
import { translateWhatsAppError } from './whatsapp-cloud-errors.js';
import type { WhatsAppCloudSecrets, WhatsAppCloudSettings } from './whatsapp-cloud-settings.js';

const whatsAppAnswers: AnswerReader = {
  vendor: 'WhatsApp',
  refusalOf: translateWhatsAppError,
  acceptedId: (answer) => idInAnswer(answer.text, 'messages[0].id'),
};

/**
 * WhatsApp through Meta's Cloud API: an approved template message, `POST {baseUrl}/{apiVersion}/
 * {phoneNumberId}/messages` with a bearer token. The body parameters are rendered from the message
 * (by default the survey link alone), each quick-reply button gets its payload; Herald's message id
 * rides along as `biz_opaque_callback_data`. The answer's `messages[0].id` (wamid…) is the vendor
 * message id.
 */
export class WhatsAppCloudVendor implements SingleSendVendor {
  readonly delivery = 'single';
  readonly #http: VendorHttpClient;
  readonly #url: string;
  readonly #bodyParameters: ((context: object) => string)[];

  constructor(
    private readonly settings: WhatsAppCloudSettings,
    private readonly secrets: WhatsAppCloudSecrets,
    egress: EgressRules,
  ) {
    this.#http = new VendorHttpClient({ ...settings, egress });
    this.#url = `${trimmedBase(settings.baseUrl)}/${settings.apiVersion}/${settings.phoneNumberId}/messages`;
    this.#bodyParameters = settings.bodyParameters.map((source, index) => {
      try {
        return plainTemplate(source);
      } catch (error) {
        throw new Error(`bodyParameters.${index} is not a valid template: ${(error as Error).message}`);
      }
    });
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const context = messageContext(message);
    const texts = this.#bodyParameters.map((render) => render(context));
    if (texts.some((text) => text.trim() === ''))
      return refusal(
        'content_rejected',
        null,
        "A WhatsApp template body parameter rendered empty (is the survey link missing?): check the vendor's bodyParameters.",
      );
    const components: object[] = [];
    if (texts.length > 0) components.push({ type: 'body', parameters: texts.map((text) => ({ type: 'text', text })) });
    this.settings.quickReplyPayloads.forEach((payload, index) =>
      components.push({
        type: 'button',
        sub_type: 'quick_reply',
        index: String(index),
        parameters: [{ type: 'payload', payload }],
      }),
    );
    const request = {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.secrets.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: message.to,
        type: 'template',
        template: { name: this.settings.templateName, language: { code: this.settings.languageCode }, components },
        biz_opaque_callback_data: message.id,
      }),
    };
    return this.#http.send(this.#url, request, whatsAppAnswers);
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
