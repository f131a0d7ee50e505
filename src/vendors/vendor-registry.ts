import { httpVendorAdapter } from './http/http-adapter.js';
import { messageBirdAdapter } from './messagebird/messagebird-adapter.js';
import { smtpAdapter } from './smtp/smtp-adapter.js';
import { sparkPostAdapter } from './sparkpost/sparkpost-adapter.js';
import { twilioAdapter } from './twilio/twilio-adapter.js';
import type { VendorAdapter } from './vendor-adapter.js';
import { whatsAppCloudAdapter } from './whatsapp-cloud/whatsapp-cloud-adapter.js';

/** Every vendor kind Herald knows, by kind: the one place a new kind is added. */
const adapters = new Map<string, VendorAdapter>(
  [smtpAdapter, sparkPostAdapter, messageBirdAdapter, twilioAdapter, whatsAppCloudAdapter, httpVendorAdapter].map(
    (adapter) => [adapter.kind, adapter],
  ),
);

export function findVendorAdapter(kind: string): VendorAdapter | undefined {
  return adapters.get(kind);
}

/** The kinds, in the order they are listed (for messages and the API's description). */
export const vendorKindNames = (): string[] => [...adapters.keys()];

/**
 * Adds a kind that is not built in (a vendor kept outside Herald's sources, a test's own). A kind
 * that is already taken by another adapter is refused.
 */
export function registerVendorAdapter(adapter: VendorAdapter): void {
  const taken = adapters.get(adapter.kind);
  if (taken && taken !== adapter) throw new Error(`vendor kind "${adapter.kind}" is already registered`);
  adapters.set(adapter.kind, adapter);
}
