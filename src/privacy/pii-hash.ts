import { hash } from 'node:crypto';
import type { HashAlgorithm } from '../storage/schema.js';

/**
 * The platform-side form of a PII value: lower-cased, hashed, prefixed with the algorithm.
 *
 * @example hashPii('Ann@Example.com', 'sha256') // 'sha256:' + sha256('ann@example.com') in hex
 */
export function hashPii(value: string, algorithm: HashAlgorithm): string {
  // One-shot crypto.hash is several times faster than createHash for short strings.
  return `${algorithm}:${hash(algorithm, value.toLowerCase(), 'hex')}`;
}
