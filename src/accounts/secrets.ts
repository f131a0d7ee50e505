import { createHash, randomBytes } from 'node:crypto';

/** A new bearer secret: 256 random bits, URL-safe, with a prefix telling what it is. */
export function newSecret(prefix: 'hk' | 'hat'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Bearer secrets are stored as SHA-256: they are random, so a slow hash adds nothing. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
