import type { ExperiencePlatform } from '../../platforms/experience-platform.js';

/** Finds which of a request's identifiers (hashed email, mobile, UUID) must not be invited. */
export interface Unsubscriber {
  unsubscribed(
    platform: ExperiencePlatform,
    accountId: string,
    identifierHashes: readonly string[],
  ): Promise<Set<string>>;
}

/** The platform's own unsubscribe list (the default): Herald's in standalone mode. */
export const heraldUnsubscriber: Unsubscriber = {
  unsubscribed: (platform, accountId, hashes) => platform.unsubscribed(accountId, hashes),
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
