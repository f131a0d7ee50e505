import { configuredVendor } from '../support/configured-vendor.js';
import { messageContext, plainTemplate } from '../support/plain-template.js';
import { trimmedBase } from '../support/transport-settings.js';
import { isAnswer, VendorHttpClient } from '../support/vendor-http-client.js';
import {
  refusal,
  type OutgoingMessage,
  type SendOutcome,
  type SingleSendVendor,
  type VendorFactory,
} from '../vendor.js';
import { translateWhatsAppError } from './whatsapp-cloud-errors.js';
import { whatsAppCloudKind, type WhatsAppCloudSecrets, type WhatsAppCloudSettings } from './whatsapp-cloud-kind.js';

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
  ) {
    this.#http = new VendorHttpClient(settings);
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
    const result = await this.#http.request(this.#url, {
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
    });
    if (!isAnswer(result)) return result;
    if (result.status < 200 || result.status >= 300) return translateWhatsAppError(result);
    const id = wamidOf(result.text);
    return id
      ? { ok: true, vendorMessageId: id }
      : refusal('unknown', String(result.status), 'WhatsApp accepted the message but answered without its id.');
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}

function wamidOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { messages?: { id?: unknown }[] }).messages?.[0]?.id;
    return typeof id === 'string' && id ? id : undefined;
  } catch {
    return undefined;
  }
}

export const createWhatsAppCloudVendor: VendorFactory = (settings, secrets) =>
  configuredVendor<WhatsAppCloudSettings, WhatsAppCloudSecrets>(
    whatsAppCloudKind,
    settings,
    secrets,
    (s, t) => new WhatsAppCloudVendor(s, t),
  );
