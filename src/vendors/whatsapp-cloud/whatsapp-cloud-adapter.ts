import { vendorAdapter } from '../vendor-adapter.js';
import { whatsAppCloudCallbacks } from './whatsapp-cloud-callbacks.js';
import { whatsAppCloudSecrets, whatsAppCloudSettings } from './whatsapp-cloud-settings.js';
import { WhatsAppCloudVendor } from './whatsapp-cloud-vendor.js';

/** WhatsApp template messages through Meta's Cloud API: https://developers.facebook.com/docs/whatsapp/cloud-api */
export const whatsAppCloudAdapter = vendorAdapter({
  kind: 'whatsapp-cloud',
  channel: 'whatsapp',
  delivery: 'single',
  settings: whatsAppCloudSettings,
  secrets: whatsAppCloudSecrets,
  create: (settings, secrets, egress) => new WhatsAppCloudVendor(settings, secrets, egress),
  callbacks: whatsAppCloudCallbacks,
});
