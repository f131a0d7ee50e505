import { vendorAdapter } from '../vendor-adapter.js';
import { twilioCallbacks } from './twilio-callbacks.js';
import { twilioSecrets, twilioSettings } from './twilio-settings.js';
import { TwilioVendor } from './twilio-vendor.js';

/** Twilio Programmable Messaging (SMS): https://www.twilio.com/docs/messaging/api/message-resource */
export const twilioAdapter = vendorAdapter({
  kind: 'twilio',
  channel: 'sms',
  delivery: 'single',
  settings: twilioSettings,
  secrets: twilioSecrets,
  create: (settings, secrets, egress) => new TwilioVendor(settings, secrets, egress),
  callbacks: twilioCallbacks,
});
