import type { EgressRules } from '../../network/egress-rules.js';
import type { OutgoingMessage, SendOutcome, SingleSendVendor } from '../vendor.js';
import { closeTransport, openTransport, sendMail } from './smtp-sender-thread.js';
import type { SmtpSecrets, SmtpSettings } from './smtp-settings.js';

/**
 * Email through an SMTP server, on a pool of connections. `tls` connects over TLS; `starttls`
 * requires the upgrade; `none` sends in the clear (local relays only). Certificates are verified
 * unless the vendor says otherwise. nodemailer runs in the SMTP sender thread (smtp-sender-thread.ts).
 */
export class SmtpVendor implements SingleSendVendor {
  readonly delivery = 'single';
  readonly #transportId: number;
  readonly #from: { name: string; address: string } | string;

  constructor(settings: SmtpSettings, secrets: SmtpSecrets, egress: EgressRules) {
    this.#transportId = openTransport(settings, secrets, egress);
    this.#from = settings.fromName ? { name: settings.fromName, address: settings.fromAddress } : settings.fromAddress;
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    return sendMail(this.#transportId, {
      from: this.#from,
      to: message.to,
      subject: message.subject ?? '',
      text: message.text,
      ...(message.html !== undefined && { html: message.html }),
      headers: { ...message.headers, 'X-Herald-Message-Id': message.id },
    });
  }

  async close(): Promise<void> {
    closeTransport(this.#transportId);
  }
}
