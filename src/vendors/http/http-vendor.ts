import type { EgressRules } from '../../network/egress-rules.js';
import { idInAnswer } from '../support/json-answer.js';
import { messageContext } from '../support/plain-template.js';
import { VendorHttpClient, type AnswerReader } from '../support/vendor-http-client.js';
import type { OutgoingMessage, SendOutcome, SingleSendVendor } from '../vendor.js';
import { translateHttpVendorAnswer } from './http-errors.js';
import type { HttpVendorSecrets, HttpVendorSettings } from './http-settings.js';
import { compileJsonBodyTemplate } from './json-body-template.js';

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
  readonly #answers: AnswerReader;

  constructor(
    private readonly settings: HttpVendorSettings,
    secrets: HttpVendorSecrets,
    egress: EgressRules,
  ) {
    this.#http = new VendorHttpClient({ ...settings, egress });
    this.#body = compileJsonBodyTemplate(settings.bodyTemplate);
    const merged = { ...settings.headers, ...secrets.headers };
    const hasContentType = Object.keys(merged).some((name) => name.toLowerCase() === 'content-type');
    this.#headers = { ...(!hasContentType && { 'content-type': 'application/json' }), ...merged };
    const idPath = settings.messageIdPath;
    this.#answers = {
      vendor: 'The endpoint',
      refusalOf: translateHttpVendorAnswer,
      acceptedId: (answer) => (idPath ? idInAnswer(answer.text, idPath) : undefined),
    };
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const request = {
      method: this.settings.method,
      headers: this.#headers,
      body: JSON.stringify(this.#body(messageContext(message))),
    };
    return this.#http.send(this.settings.url, request, this.#answers, message.id);
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
