import { vendorAdapter } from '../vendor-adapter.js';
import { smtpSecrets, smtpSettings } from './smtp-settings.js';
import { SmtpVendor } from './smtp-vendor.js';

/** Email through an SMTP server; its bounces come back as mail (the bounce receiver), not as callbacks. */
export const smtpAdapter = vendorAdapter({
  kind: 'smtp',
  channel: 'email',
  delivery: 'single',
  settings: smtpSettings,
  secrets: smtpSecrets,
  create: (settings, secrets, egress) => new SmtpVendor(settings, secrets, egress),
  destinationsOf: (settings) => [{ field: 'host', host: settings.host, port: settings.port, purpose: 'smtp' }],
});
