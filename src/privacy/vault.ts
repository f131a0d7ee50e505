import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A vault key: its id is stored beside everything it seals, so old keys can still open old data. */
export interface VaultKey {
  readonly id: string;
  readonly key: Buffer;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Random bytes drawn at once for this many IVs: one call per IV cost ingest a tenth of its time. */
const IVS_PER_DRAW = 1024;

/**
 * Seals values with AES-256-GCM under the newest key; opens them with whichever key sealed them.
 * `context` (e.g. account id and value hash) is authenticated, so a sealed value moved to another
 * row does not open.
 */
export class Vault {
  readonly #keys: Map<string, Buffer>;
  readonly #current: VaultKey;
  #ivs = Buffer.alloc(0);

  constructor(keys: readonly VaultKey[]) {
    const [current] = keys;
    if (!current) throw new Error('the vault needs at least one key');
    this.#current = current;
    this.#keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.#current.id;
  }

  /** Layout: iv (12 bytes) ‖ tag (16 bytes) ‖ ciphertext. */
  seal(plaintext: string, context: string): { sealed: Buffer; keyId: string } {
    const iv = this.#nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { sealed: Buffer.concat([iv, cipher.getAuthTag(), body]), keyId: this.#current.id };
  }

  /** A fresh random IV, each from bytes never handed out before (GCM must never reuse one under a key). */
  #nextIv(): Buffer {
    if (this.#ivs.length < IV_BYTES) this.#ivs = randomBytes(IV_BYTES * IVS_PER_DRAW);
    const iv = this.#ivs.subarray(0, IV_BYTES);
    this.#ivs = this.#ivs.subarray(IV_BYTES);
    return iv;
  }

  /** Whether a key with this id is configured. */
  has(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  open(sealed: Buffer, keyId: string, context: string): string {
    const key = this.#keys.get(keyId);
    if (!key) throw new Error(`vault key "${keyId}" is not configured (HERALD_VAULT_KEYS)`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

/** Parses `id:base64key[,id:base64key…]`; the first key seals. Returns problems instead of throwing. */
export function parseVaultKeys(text: string): { keys: VaultKey[]; problems: string[] } {
  const keys: VaultKey[] = [];
  const problems: string[] = [];
  for (const [index, part] of text.split(',').entries()) {
    const [id, encoded] = part.trim().split(':');
    const key = encoded ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (!id || !/^[\w.-]{1,40}$/.test(id))
      problems.push(`key ${index + 1} needs an id (letters, digits, ._-) before ":"`);
    else if (key.length !== 32) problems.push(`key "${id}" must be 32 bytes in base64 (got ${key.length} bytes)`);
    else keys.push({ id, key });
  }
  return { keys, problems };
}

/** A new key in the form HERALD_VAULT_KEYS takes. */
export function newVaultKeySpec(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}
