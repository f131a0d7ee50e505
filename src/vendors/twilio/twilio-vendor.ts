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
import { MESSAGING_SERVICE_SID, twilioKind, type TwilioSecrets, type TwilioSettings } from './twilio-kind.js';
import { translateTwilioError } from './twilio-errors.js';

/**
 * SMS through Twilio: `POST {baseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded
 * `To`, `From` (or `MessagingServiceSid`), `Body` and `StatusCallback`, with basic auth
 * AccountSid:AuthToken. The answer's `sid` (SM…) is the vendor message id.
 */
export class TwilioVendor implements SingleSendVendor {
  readonly delivery = 'single';
  readonly #http: VendorHttpClient;
  readonly #url: string;
  readonly #authorization: string;

  constructor(
    private readonly settings: TwilioSettings,
    secrets: TwilioSecrets,
  ) {
    this.#http = new VendorHttpClient(settings);
    this.#url = `${trimmedBase(settings.baseUrl)}/2010-04-01/Accounts/${settings.accountSid}/Messages.json`;
    this.#authorization = `Basic ${Buffer.from(`${settings.accountSid}:${secrets.authToken}`).toString('base64')}`;
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const form = new URLSearchParams({ To: message.to });
    const sender = this.settings.from;
    form.set(MESSAGING_SERVICE_SID.test(sender) ? 'MessagingServiceSid' : 'From', sender);
    form.set('Body', message.text);
    if (this.settings.statusCallback) form.set('StatusCallback', this.settings.statusCallback);
    const result = await this.#http.request(this.#url, {
      method: 'POST',
      headers: {
        authorization: this.#authorization,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
    });
    if (!isAnswer(result)) return result;
    if (result.status < 200 || result.status >= 300) return translateTwilioError(result);
    const sid = sidOf(result.text);
    return sid
      ? { ok: true, vendorMessageId: sid }
      : refusal('unknown', String(result.status), 'Twilio accepted the message but answered without its sid.');
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}

function sidOf(text: string): string | undefined {
  try {
    const sid = (JSON.parse(text) as { sid?: unknown }).sid;
    return typeof sid === 'string' && sid ? sid : undefined;
  } catch {
    return undefined;
  }
}

export const createTwilioVendor: VendorFactory = (settings, secrets) =>
  configuredVendor<TwilioSettings, TwilioSecrets>(twilioKind, settings, secrets, (s, t) => new TwilioVendor(s, t));
