import { createHttpVendor } from './http/http-vendor.js';
import { createMessageBirdVendor } from './messagebird/messagebird-vendor.js';
import { SmtpVendor, type SmtpSettings } from './smtp/smtp-vendor.js';
import { SparkPostVendor, type SparkPostSecrets, type SparkPostSettings } from './sparkpost/sparkpost-vendor.js';
import { createTwilioVendor } from './twilio/twilio-vendor.js';
import type { VendorFactory } from './vendor.js';
import { createWhatsAppCloudVendor } from './whatsapp-cloud/whatsapp-cloud-vendor.js';

/** How to build each vendor kind; the kinds and their settings schemas are in vendor-kinds.ts. */
export const vendorFactories: ReadonlyMap<string, VendorFactory> = new Map<string, VendorFactory>([
  ['smtp', (settings, secrets) => new SmtpVendor(settings as unknown as SmtpSettings, secrets)],
  ['messagebird', createMessageBirdVendor],
  ['twilio', createTwilioVendor],
  ['whatsapp-cloud', createWhatsAppCloudVendor],
  ['http', createHttpVendor],
  [
    'sparkpost',
    (settings, secrets) =>
      new SparkPostVendor(settings as unknown as SparkPostSettings, secrets as unknown as SparkPostSecrets),
  ],
]);
