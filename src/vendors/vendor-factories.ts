import { SmtpVendor, type SmtpSettings } from './smtp/smtp-vendor.js';
import type { VendorFactory } from './vendor.js';

/** How to build each vendor kind; the kinds and their settings schemas are in vendor-kinds.ts. */
export const vendorFactories: ReadonlyMap<string, VendorFactory> = new Map<string, VendorFactory>([
  ['smtp', (settings, secrets) => new SmtpVendor(settings as unknown as SmtpSettings, secrets)],
]);
