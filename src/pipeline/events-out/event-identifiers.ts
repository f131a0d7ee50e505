import { hashPii } from '../../privacy/pii-hash.js';
import type { Vault } from '../../privacy/vault.js';
import type { SqlExecutor } from '../../storage/database.js';
import type { HashAlgorithm, StoredPrefill } from '../../storage/schema.js';

/** An invitation's identifiers as stored: each hashed or not, as its question says. */
export interface StoredIdentifiers {
  uuid: string | null;
  target: string | null;
  prefills: readonly StoredPrefill[];
}

const storedHashed = (value: string, prefills: readonly StoredPrefill[]) =>
  prefills.some((p) => p.hashed && p.input === value);

/**
 * The hashed form of a stored identifier: as it is when its question is PII-hash, otherwise hashed
 * here the way ingest hashes (trimmed, lower-cased), so events only ever carry hashes.
 */
export function hashedIdentifier(
  value: string | null,
  prefills: readonly StoredPrefill[],
  algorithm: HashAlgorithm,
): string | null {
  if (value === null || value.trim() === '') return null;
  return storedHashed(value, prefills) ? value : hashPii(value.trim(), algorithm);
}

/**
 * The original identifiers of some invitations, for subscriptions allowed personal data: values
 * stored raw as they are, hashed ones opened from the vault. Read at send time only, so original
 * values never sit in the delivery queue. An invitation purged meanwhile is simply missing.
 */
export async function originalIdentifiers(
  sql: SqlExecutor,
  vault: Vault,
  invitationIds: readonly string[],
): Promise<Map<string, { uuid: string | null; target: string | null }>> {
  const found = new Map<string, { uuid: string | null; target: string | null }>();
  if (invitationIds.length === 0) return found;
  const rows = await sql.query<StoredIdentifiers & { id: string; account_id: string }>(
    `SELECT id, account_id, uuid, target, prefills FROM invitations WHERE id = ANY($1::uuid[])`,
    [[...new Set(invitationIds)]],
  );
  const hashed = rows.flatMap((r) =>
    [r.uuid, r.target]
      .filter((v): v is string => v !== null && storedHashed(v, r.prefills))
      .map((v) => [r.account_id, v]),
  );
  const opened = new Map<string, string>();
  if (hashed.length > 0) {
    const sealed = await sql.query<{ account_id: string; value_hash: string; sealed: Uint8Array; key_id: string }>(
      `SELECT v.account_id, v.value_hash, v.sealed, v.key_id FROM pii_vault v
       JOIN unnest($1::uuid[], $2::text[]) AS w(account_id, value_hash)
         ON v.account_id = w.account_id AND v.value_hash = w.value_hash`,
      [hashed.map((h) => h[0]), hashed.map((h) => h[1])],
    );
    for (const s of sealed) {
      const key = `${s.account_id}:${s.value_hash}`;
      opened.set(key, vault.open(Buffer.from(s.sealed), s.key_id, key));
    }
  }
  const original = (accountId: string, value: string | null, prefills: readonly StoredPrefill[]) => {
    if (value === null) return null;
    // A hashed value whose original is no longer in the vault stays hashed rather than failing.
    return storedHashed(value, prefills) ? (opened.get(`${accountId}:${value}`) ?? value) : value;
  };
  for (const r of rows) {
    found.set(r.id, {
      uuid: original(r.account_id, r.uuid, r.prefills),
      target: original(r.account_id, r.target, r.prefills),
    });
  }
  return found;
}
