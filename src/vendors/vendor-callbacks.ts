import { httpVendorCallbacks } from './http/http-callbacks.js';
import { messageBirdCallbacks } from './messagebird/messagebird-callbacks.js';
import { sparkPostCallbacks } from './sparkpost/sparkpost-callbacks.js';
import { twilioCallbacks } from './twilio/twilio-callbacks.js';
import type { CallbackHandler } from './vendor.js';
import { whatsAppCloudCallbacks } from './whatsapp-cloud/whatsapp-cloud-callbacks.js';

/** Each vendor kind's callback reader, by kind (SMTP has none: its bounces arrive as mail). */
export const vendorCallbackHandlers: ReadonlyMap<string, CallbackHandler> = new Map<string, CallbackHandler>([
  ['sparkpost', sparkPostCallbacks],
  ['messagebird', messageBirdCallbacks],
  ['twilio', twilioCallbacks],
  ['whatsapp-cloud', whatsAppCloudCallbacks],
  ['http', httpVendorCallbacks],
]);
