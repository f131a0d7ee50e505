import { hashPii } from '../../privacy/pii-hash.js';
import type { HashAlgorithm, StoredPrefill } from '../../storage/schema.js';

/** What an invitation stores of its recipient: each value hashed or not as its question says. */
export interface StoredIdentifiers {
  target: string | null;
  uuid: string | null;
  prefills: readonly StoredPrefill[];
}

/**
 * The hashes of an invitation's address and UUID, in the form ingest checks against the
 * unsubscribe list. A value whose question is PII-hash is stored hashed and is used as it is; a
 * value stored raw is hashed here (the UUID trimmed first, as ingest does), so the list only ever
 * receives hashes.
 */
export function identifierHashes(invitation: StoredIdentifiers, algorithm: HashAlgorithm): string[] {
  const hashes = new Set<string>();
  for (const value of [invitation.target, invitation.uuid]) {
    if (!value?.trim()) continue;
    const storedHashed = invitation.prefills.some((p) => p.hashed && p.input === value);
    hashes.add(storedHashed ? value : hashPii(value.trim(), algorithm));
  }
  return [...hashes];
}
