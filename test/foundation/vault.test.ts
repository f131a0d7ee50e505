import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../src/privacy/vault.js';

describe('the vault', () => {
  const vault = new Vault([{ id: 'k1', key: randomBytes(32) }]);

  it('never reuses an IV, across many draws of random bytes, and every sealed value opens', () => {
    const count = 5_000; // several draws of the IV pool
    const sealed = Array.from({ length: count }, (_, i) => vault.seal('same plaintext', `context-${i}`));
    const ivs = new Set(sealed.map((s) => s.sealed.subarray(0, 12).toString('hex')));
    expect(ivs.size).toBe(count);
    sealed.forEach((s, i) => expect(vault.open(s.sealed, s.keyId, `context-${i}`)).toBe('same plaintext'));
  });

  it('does not open a value under another context or after tampering', () => {
    const { sealed, keyId } = vault.seal('secret', 'account:invitation');
    expect(() => vault.open(sealed, keyId, 'account:other')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => vault.open(tampered, keyId, 'account:invitation')).toThrow();
  });
});
