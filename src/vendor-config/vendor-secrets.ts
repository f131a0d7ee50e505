import type { Vault } from '../privacy/vault.js';
import type { vendors } from '../storage/schema.js';

type VendorRow = typeof vendors.$inferSelect;

/** The vault context a vendor's secrets are sealed under: sealed secrets open only for their own vendor. */
const sealContext = (vendorId: string) => `vendor:${vendorId}`;

/** Seals the secrets for this vendor id; none (or an empty object) is stored as no secrets. */
export function sealVendorSecrets(
  vault: Vault,
  vendorId: string,
  secrets: Record<string, unknown>,
): Pick<VendorRow, 'secrets' | 'secretsKeyId'> {
  if (Object.keys(secrets).length === 0) return { secrets: null, secretsKeyId: null };
  const { sealed, keyId } = vault.seal(JSON.stringify(secrets), sealContext(vendorId));
  return { secrets: sealed, secretsKeyId: keyId };
}

/** The vendor's credentials, for the dispatcher and callbacks. An empty object when it has none. */
export function openVendorSecrets(
  vault: Vault,
  row: Pick<VendorRow, 'id' | 'secrets' | 'secretsKeyId'>,
): Record<string, unknown> {
  if (!row.secrets || !row.secretsKeyId) return {};
  // PGlite hands bytea back as a plain Uint8Array, whatever the column's declared type says.
  const sealed = Buffer.from(row.secrets);
  return JSON.parse(vault.open(sealed, row.secretsKeyId, sealContext(row.id))) as Record<string, unknown>;
}
