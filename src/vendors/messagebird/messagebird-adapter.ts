import { vendorAdapter } from '../vendor-adapter.js';
import { messageBirdCallbacks } from './messagebird-callbacks.js';
import { messageBirdSecrets, messageBirdSettings } from './messagebird-settings.js';
import { MessageBirdVendor } from './messagebird-vendor.js';

/** MessageBird (Bird) SMS through its REST API: https://developers.messagebird.com/api/sms-messaging/ */
export const messageBirdAdapter = vendorAdapter({
  kind: 'messagebird',
  channel: 'sms',
  delivery: 'single',
  settings: messageBirdSettings,
  secrets: messageBirdSecrets,
  create: (settings, secrets, egress) => new MessageBirdVendor(settings, secrets, egress),
  callbacks: messageBirdCallbacks,
});
