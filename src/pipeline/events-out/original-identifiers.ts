import { openOriginals, type SealedOriginalsRow } from '../../privacy/sealed-originals.js';
import { isStoredHashed, type StoredIdentifiers } from '../../privacy/stored-identifiers.js';
import type { Vault } from '../../privacy/vault.js';
import type { SqlExecutor } from '../../storage/database.js';

/**
 * The original identifiers of some invitations, for subscriptions allowed personal data: values
 * stored raw as they are, hashed ones opened from the invitation's sealed originals. Read at send time only, so original
 * values never sit in the delivery queue. An invitation purged meanwhile is simply missing.
 */
export async function originalIdentifiers(
  sql: SqlExecutor,
  vault: Vault,
  invitationIds: readonly string[],
): Promise<Map<string, { uuid: string | null; target: string | null }>> {
  const found = new Map<string, { uuid: string | null; target: string | null }>();
  if (invitationIds.length === 0) return found;
  const rows = await sql.query<StoredIdentifiers & SealedOriginalsRow>(
    `SELECT id, account_id, uuid, target, prefills, sealed_originals, sealed_key_id FROM invitations WHERE id = ANY($1::uuid[])`,
    [[...new Set(invitationIds)]],
  );
  const original = (value: string | null, row: StoredIdentifiers, opened: Map<string, string>) => {
    if (value === null) return null;
    // A hashed value whose original is no longer kept stays hashed rather than failing.
    return isStoredHashed(value, row.prefills) ? (opened.get(value) ?? value) : value;
  };
  for (const r of rows) {
    const opened = openOriginals(vault, r);
    found.set(r.id, { uuid: original(r.uuid, r, opened), target: original(r.target, r, opened) });
  }
  return found;
}
