import type { Vault } from './vault.js';

/** The sealed originals of one invitation, as stored on its row. */
export interface SealedOriginalsRow {
  id: string;
  account_id: string;
  /** Base64. */
  sealed_originals: string | null;
  sealed_key_id: string | null;
}

/** Binds the sealed originals to their row: moved to another invitation or account, they do not open. */
const context = (accountId: string, invitationId: string) => `${accountId}:${invitationId}`;

/**
 * Seals the original values of an invitation's hashed prefills (hash → original) in one piece,
 * so ingest writes them on the invitation row itself: one row per record, and purging the
 * invitation purges them.
 */
export function sealOriginals(
  vault: Vault,
  accountId: string,
  invitationId: string,
  originals: readonly { hash: string; value: string }[],
): { sealed: Buffer; keyId: string } | null {
  if (originals.length === 0) return null;
  const byHash = Object.fromEntries(originals.map((o) => [o.hash, o.value]));
  return vault.seal(JSON.stringify(byHash), context(accountId, invitationId));
}

/** hash → original for one invitation; empty when it has none (or they were purged). */
export function openOriginals(vault: Vault, row: SealedOriginalsRow): Map<string, string> {
  if (!row.sealed_originals || !row.sealed_key_id) return new Map();
  const sealed = Buffer.from(row.sealed_originals, 'base64');
  const opened = vault.open(sealed, row.sealed_key_id, context(row.account_id, row.id));
  return new Map(Object.entries(JSON.parse(opened) as Record<string, string>));
}
