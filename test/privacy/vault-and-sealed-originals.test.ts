import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openOriginals, sealOriginals } from '../../src/privacy/sealed-originals.js';
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

describe('sealed originals', () => {
  const vault = new Vault([{ id: 'k1', key: randomBytes(32) }]);
  const prefills = [
    { questionId: 'email', input: 'sha512:aaa', hashed: true },
    { questionId: 'name', input: 'Ann', hashed: false },
    { questionId: 'mobile', input: 'sha512:bbb', hashed: true },
  ];

  it('open as hash → original, matched to the hashed prefills in order', () => {
    const sealed = sealOriginals(vault, 'account', 'invitation', ['ann@example.com', '+447700900123'])!;
    const row = {
      id: 'invitation',
      account_id: 'account',
      prefills,
      sealed_originals: sealed.sealed.toString('base64'),
      sealed_key_id: sealed.keyId,
    };
    expect(openOriginals(vault, row)).toEqual(
      new Map([
        ['sha512:aaa', 'ann@example.com'],
        ['sha512:bbb', '+447700900123'],
      ]),
    );
    expect(() => openOriginals(vault, { ...row, id: 'other' })).toThrow();
  });

  it('still open when sealed by an earlier version as a hash → original object', () => {
    const old = vault.seal(JSON.stringify({ 'sha512:aaa': 'ann@example.com' }), 'account:invitation');
    const row = {
      id: 'invitation',
      account_id: 'account',
      prefills,
      sealed_originals: old.sealed.toString('base64'),
      sealed_key_id: old.keyId,
    };
    expect(openOriginals(vault, row)).toEqual(new Map([['sha512:aaa', 'ann@example.com']]));
  });
});
