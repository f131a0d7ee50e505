import { vendorAdapter } from '../vendor-adapter.js';
import { httpVendorCallbacks } from './http-callbacks.js';
import { httpVendorSecrets, httpVendorSettings } from './http-settings.js';
import { HttpVendor } from './http-vendor.js';

/**
 * Any HTTP endpoint that takes one message a request (an in-house gateway, a vendor Herald has no
 * adapter for). `settings.channel` says which channel it delivers.
 */
export const httpVendorAdapter = vendorAdapter({
  kind: 'http',
  channel: 'sms',
  channelOf: (settings) => settings.channel,
  delivery: 'single',
  settings: httpVendorSettings,
  secrets: httpVendorSecrets,
  create: (settings, secrets, egress) => new HttpVendor(settings, secrets, egress),
  callbacks: httpVendorCallbacks,
});
