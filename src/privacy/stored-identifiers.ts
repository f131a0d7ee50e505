import type { HashAlgorithm, StoredPrefill } from '../storage/schema.js';
import { hashPii } from './pii-hash.js';

/** An invitation's recipient identifiers as stored: each hashed or not, as its question says. */
export interface StoredIdentifiers {
  uuid: string | null;
  target: string | null;
  prefills: readonly StoredPrefill[];
}

/** True when `value` is stored hashed: its question is PII-hash. */
export const isStoredHashed = (value: string, prefills: readonly StoredPrefill[]) =>
  prefills.some((p) => p.hashed && p.input === value);

/**
 * The hashed form of a stored identifier: as it is when its question is PII-hash, otherwise hashed
 * here the way ingest hashes (trimmed, lower-cased), so only hashes leave Herald or reach the
 * unsubscribe list. Null for no value.
 */
export function hashedIdentifier(
  value: string | null,
  prefills: readonly StoredPrefill[],
  algorithm: HashAlgorithm,
): string | null {
  if (value === null || value.trim() === '') return null;
  return isStoredHashed(value, prefills) ? value : hashPii(value.trim(), algorithm);
}

/** The hashes of an invitation's address and UUID, in the form ingest checks against the unsubscribe list. */
export function identifierHashes(invitation: StoredIdentifiers, algorithm: HashAlgorithm): string[] {
  const hashes = new Set<string>();
  for (const value of [invitation.target, invitation.uuid]) {
    const hashed = hashedIdentifier(value, invitation.prefills, algorithm);
    if (hashed !== null) hashes.add(hashed);
  }
  return [...hashes];
}

/**
 * The unsubscribe-list keys of an invitation: its stored hashes, and the hashes of its delivery
 * address (normalised) and trimmed UUID taken from their originals. The stored hashes are of the
 * input as received (the original module's), so an address given as "07700 900123" is matched
 * against an unsubscribe of "+447700900123" only through its original.
 */
export function unsubscribeKeys(
  invitation: StoredIdentifiers,
  originals: ReadonlyMap<string, string>,
  algorithm: HashAlgorithm,
): string[] {
  const keys = new Set(identifierHashes(invitation, algorithm));
  for (const value of [invitation.target, invitation.uuid]) {
    const original = value === null ? undefined : originals.get(value)?.trim();
    if (original) keys.add(hashPii(original, algorithm));
  }
  return [...keys];
}
