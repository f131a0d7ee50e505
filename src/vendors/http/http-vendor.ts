import { configuredVendor } from '../support/configured-vendor.js';
import { messageContext } from '../support/plain-template.js';
import { isAnswer, VendorHttpClient } from '../support/vendor-http-client.js';
import type { OutgoingMessage, SendOutcome, SingleSendVendor, VendorFactory } from '../vendor.js';
import { translateHttpVendorAnswer } from './http-errors.js';
import { httpVendorKind, type HttpVendorSecrets, type HttpVendorSettings } from './http-kind.js';
import { compileJsonBodyTemplate, valueAtPath } from './json-body-template.js';

/**
 * One message a request to any HTTP endpoint: the body template rendered over the message, the
 * settings' headers plus the secret ones, JSON unless a Content-Type header says otherwise. A 2xx
 * answer accepts the message; its id is read at `messageIdPath`, and is Herald's message id when
 * there is no path or nothing there (callbacks then name Herald's id).
 */
export class HttpVendor implements SingleSendVendor {
  readonly delivery = 'single';
  readonly #http: VendorHttpClient;
  readonly #body: (context: object) => unknown;
  readonly #headers: Record<string, string>;

  constructor(
    private readonly settings: HttpVendorSettings,
    secrets: HttpVendorSecrets,
  ) {
    this.#http = new VendorHttpClient(settings);
    this.#body = compileJsonBodyTemplate(settings.bodyTemplate);
    const merged = { ...settings.headers, ...secrets.headers };
    const hasContentType = Object.keys(merged).some((name) => name.toLowerCase() === 'content-type');
    this.#headers = { ...(!hasContentType && { 'content-type': 'application/json' }), ...merged };
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const result = await this.#http.request(this.settings.url, {
      method: this.settings.method,
      headers: this.#headers,
      body: JSON.stringify(this.#body(messageContext(message))),
    });
    if (!isAnswer(result)) return result;
    if (result.status < 200 || result.status >= 300) return translateHttpVendorAnswer(result);
    return { ok: true, vendorMessageId: this.#idIn(result.text) ?? message.id };
  }

  async close(): Promise<void> {
    this.#http.close();
  }

  #idIn(text: string): string | undefined {
    if (!this.settings.messageIdPath) return undefined;
    try {
      const id = valueAtPath(JSON.parse(text), this.settings.messageIdPath);
      return (typeof id === 'string' && id) || (typeof id === 'number' && String(id)) || undefined;
    } catch {
      return undefined;
    }
  }
}

export const createHttpVendor: VendorFactory = (settings, secrets) =>
  configuredVendor<HttpVendorSettings, HttpVendorSecrets>(
    httpVendorKind,
    settings,
    secrets,
    (s, t) => new HttpVendor(s, t),
  );
