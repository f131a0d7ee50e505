import { vendorAdapter } from '../vendor-adapter.js';
import { sparkPostCallbacks } from './sparkpost-callbacks.js';
import { sparkPostSecrets, sparkPostSettings } from './sparkpost-settings.js';
import { SparkPostVendor } from './sparkpost-vendor.js';

/** SparkPost, a bulk-send email vendor: a whole batch in one Transmissions API call. */
export const sparkPostAdapter = vendorAdapter({
  kind: 'sparkpost',
  channel: 'email',
  delivery: 'bulk',
  settings: sparkPostSettings,
  secrets: sparkPostSecrets,
  create: (settings, secrets, egress) => new SparkPostVendor(settings, secrets, egress),
  callbacks: sparkPostCallbacks,
});
