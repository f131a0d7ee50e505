import { isUnsubscribed } from '../../platforms/standalone/unsubscribes.js';
import type { Db } from '../../storage/database.js';

/** Finds which of a request's identifiers (hashed email, mobile, UUID) must not be invited. */
export interface Unsubscriber {
  unsubscribed(db: Db, accountId: string, identifierHashes: readonly string[]): Promise<Set<string>>;
}

/** Herald's own unsubscribe list (the default). */
export const heraldUnsubscriber: Unsubscriber = {
  unsubscribed: (db, accountId, hashes) => isUnsubscribed(db, accountId, [...hashes]),
};

const unsubscribers = new Map<string, Unsubscriber>([
  ['herald', heraldUnsubscriber],
  // The original module's name for the platform's own list, which is Herald's list here.
  ['wxm', heraldUnsubscriber],
  ['none', { unsubscribed: async () => new Set<string>() }],
]);

/** Adds a custom check (e.g. a client's own suppression list), chosen with `{"Unsubscriber": name}`. */
export function registerUnsubscriber(name: string, unsubscriber: Unsubscriber): void {
  unsubscribers.set(name, unsubscriber);
}

export function findUnsubscriber(name: string): Unsubscriber | undefined {
  return unsubscribers.get(name);
}

export const unsubscriberNames = (): string[] => [...unsubscribers.keys()];
