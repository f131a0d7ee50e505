import type { EgressRules } from '../../network/egress-rules.js';
import { idInAnswer } from '../support/json-answer.js';
import { trimmedBase } from '../support/transport-settings.js';
import { VendorHttpClient, type AnswerReader } from '../support/vendor-http-client.js';
import type { OutgoingMessage, SendOutcome, SingleSendVendor } from '../vendor.js';
import { translateTwilioError } from './twilio-errors.js';
import { MESSAGING_SERVICE_SID, type TwilioSecrets, type TwilioSettings } from './twilio-settings.js';

const twilioAnswers: AnswerReader = {
  vendor: 'Twilio',
  refusalOf: translateTwilioError,
  acceptedId: (answer) => idInAnswer(answer.text, 'sid'),
};

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
    egress: EgressRules,
  ) {
    this.#http = new VendorHttpClient({ ...settings, egress });
    this.#url = `${trimmedBase(settings.baseUrl)}/2010-04-01/Accounts/${settings.accountSid}/Messages.json`;
    this.#authorization = `Basic ${Buffer.from(`${settings.accountSid}:${secrets.authToken}`).toString('base64')}`;
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const form = new URLSearchParams({ To: message.to });
    const sender = this.settings.from;
    form.set(MESSAGING_SERVICE_SID.test(sender) ? 'MessagingServiceSid' : 'From', sender);
    form.set('Body', message.text);
    if (this.settings.statusCallback) form.set('StatusCallback', this.settings.statusCallback);
    return this.#http.send(
      this.#url,
      {
        method: 'POST',
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
      },
      twilioAnswers,
    );
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
