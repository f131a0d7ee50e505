import type { StoredPrefill } from '../storage/schema.js';
import type { Vault } from './vault.js';

/** The sealed originals of one invitation, as stored on its row, with the prefills they belong to. */
export interface SealedOriginalsRow {
  id: string;
  account_id: string;
  prefills: readonly StoredPrefill[];
  /** Base64. */
  sealed_originals: string | null;
  sealed_key_id: string | null;
}

/** Binds the sealed originals to their row: moved to another invitation or account, they do not open. */
const context = (accountId: string, invitationId: string) => `${accountId}:${invitationId}`;

/**
 * Seals the original values of an invitation's hashed prefills, in the order of those prefills,
 * in one piece: they travel with the invitation, and purging it purges them. Only the values are
 * sealed (their hashes are the prefills themselves), which keeps a large request's writes small.
 */
export function sealOriginals(
  vault: Vault,
  accountId: string,
  invitationId: string,
  originals: readonly string[],
): { sealed: Buffer; keyId: string } | null {
  if (originals.length === 0) return null;
  return vault.seal(JSON.stringify(originals), context(accountId, invitationId));
}

/** hash → original for one invitation; empty when it has none (or they were purged). */
export function openOriginals(vault: Vault, row: SealedOriginalsRow): Map<string, string> {
  if (!row.sealed_originals || !row.sealed_key_id) return new Map();
  const sealed = Buffer.from(row.sealed_originals, 'base64');
  const opened = JSON.parse(vault.open(sealed, row.sealed_key_id, context(row.account_id, row.id))) as
    string[] | Record<string, string>;
  // Earlier versions sealed a hash → original object.
  if (!Array.isArray(opened)) return new Map(Object.entries(opened));
  const hashes = row.prefills.filter((p) => p.hashed).map((p) => p.input);
  return new Map(opened.map((value, i) => [hashes[i]!, value]));
}
