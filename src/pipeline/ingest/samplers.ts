import { hash } from 'node:crypto';

/** Decides which records of a request go on to receive an invitation. */
export interface Sampler {
  /** True to keep the record. `uuid` is the record's UUID as stored (hashed when PII). */
  keep(record: { dispatchId: string; uuid: string }, properties: Readonly<Record<string, unknown>>): boolean;
}

const keepAll: Sampler = { keep: () => true };

/**
 * Keeps `SamplingPercentage` % of UUIDs, decided from a hash of dispatch and UUID: the same
 * customer is always in or always out of a dispatch's sample, whichever request brings them.
 */
const percentage: Sampler = {
  keep({ dispatchId, uuid }, properties) {
    const percent = Number(properties.SamplingPercentage ?? 100);
    const bucket = Number.parseInt(hash('sha256', `${dispatchId}\u0000${uuid}`, 'hex').slice(0, 8), 16) / 0x1_0000_0000;
    return bucket * 100 < percent;
  },
};

const samplers = new Map<string, Sampler>([
  ['none', keepAll],
  // The original module's value for "the platform samples": Herald's platform does not pre-sample.
  ['wxm', keepAll],
  ['percentage', percentage],
]);

/** Adds a custom sampler, chosen per account with `{"Sampler": name}` on /api/config/extendedproperties. */
export function registerSampler(name: string, sampler: Sampler): void {
  samplers.set(name, sampler);
}

export function findSampler(name: string): Sampler | undefined {
  return samplers.get(name);
}

export const samplerNames = (): string[] => [...samplers.keys()];
