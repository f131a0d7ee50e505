import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeEmail, normalizeMobile } from '../../../src/contacts/contact-values.js';
import type {
  DispatchDefinition,
  PlatformQuestion,
  PlatformSettings,
} from '../../../src/platforms/experience-platform.js';
import { checkDispatch } from '../../../src/pipeline/ingest/dispatch-rules.js';
import { checkRecord, type DispatchRules } from '../../../src/pipeline/ingest/record-rules.js';
import type { Channel } from '../../../src/storage/schema.js';

/** The stored form of a PII value, computed here independently of Herald. */
const hashed = (algorithm: 'sha256' | 'sha512', value: string) =>
  `${algorithm}:${createHash(algorithm).update(value.toLowerCase()).digest('hex')}`;

const question = (id: string, tags: string[], more: Partial<PlatformQuestion> = {}): PlatformQuestion => ({
  id,
  text: id,
  tags,
  pii: 'none',
  apiPrefill: true,
  ...more,
});

interface Setup {
  channels?: Channel[];
  vendors?: Partial<Record<Channel, string>>;
  fallback?: boolean;
  region?: string | null;
  algorithm?: 'sha256' | 'sha512';
  normalizedHashing?: boolean;
  uuidPii?: 'none' | 'hash';
  emailPii?: 'none' | 'hash';
  staticPrefills?: { questionId: string; input: string }[];
}

/** Rules built the way ingest builds them, from a dispatch and the account's settings. */
function rulesFor(setup: Setup = {}): DispatchRules {
  const dispatch: DispatchDefinition = {
    id: 'd-1',
    name: 'Dispatch',
    paused: false,
    defaultLanguage: 'en',
    channelVendors: setup.vendors ?? { email: 'v-email', sms: 'v-sms' },
    staticPrefills: setup.staticPrefills ?? [],
    questions: [
      question('q-email', ['Email'], { pii: setup.emailPii ?? 'none' }),
      question('q-mobile', ['Mobile']),
      question('q-uuid', [], { pii: setup.uuidPii ?? 'none' }),
      question('q-lang', ['cc_language']),
      question('q-name', []),
      question('q-internal', [], { apiPrefill: false }),
    ],
    policy: {
      id: 'p-1',
      paused: false,
      channels: setup.channels ?? ['email', 'sms'],
      uuidQuestionId: 'q-uuid',
      sendWindow: null,
      reminders: [],
      fatigue: null,
      channelFallback: setup.fallback ?? false,
    },
    templates: {},
    surveyUrl: null,
  };
  const settings: PlatformSettings = {
    hashAlgorithm: setup.algorithm ?? 'sha256',
    defaultPhoneRegion: setup.region ?? null,
    normalizedHashing: setup.normalizedHashing ?? false,
  };
  const checked = checkDispatch('d-1', dispatch, settings);
  if (!checked.ok) throw new Error(checked.message);
  return checked.rules;
}

const record = (values: Record<string, string>) =>
  Object.entries(values).map(([questionId, input]) => ({ questionId, input }));

describe('normalizeEmail', () => {
  it('trims and lower-cases the domain, keeping the local part as given', () => {
    expect(normalizeEmail('  Ann.Lee+survey@Mail.Example.CO.UK \t')).toEqual({
      ok: true,
      value: 'Ann.Lee+survey@mail.example.co.uk',
    });
  });

  it('says the address is missing when it is empty or blank', () => {
    expect(normalizeEmail('')).toEqual({ ok: false, reason: 'the email address is missing' });
    expect(normalizeEmail('   ')).toEqual({ ok: false, reason: 'the email address is missing' });
  });

  it.each([
    ['no @', 'ann.example.com'],
    ['two @', 'ann@@example.com'],
    ['no top-level domain', 'ann@example'],
    ['a one-letter top-level domain', 'ann@example.c'],
    ['a space', 'ann lee@example.com'],
    ['quotes', '"ann"@example.com'],
    ['a domain label starting with a hyphen', 'ann@-example.com'],
    ['an underscore in the domain', 'ann@exa_mple.com'],
    ['two dots in a row in the local part', 'ann..lee@example.com'],
    ['two dots in a row in the domain', 'ann@example..com'],
    ['a local part starting with a dot', '.ann@example.com'],
    ['a local part ending with a dot', 'ann.@example.com'],
    ['a local part longer than 64 characters', `${'a'.repeat(65)}@example.com`],
    ['more than 254 characters', `ann@${'a'.repeat(61)}.${'b'.repeat(61)}.${'c'.repeat(61)}.${'d'.repeat(61)}.com`],
  ])('refuses an address with %s', (_, address) => {
    expect(normalizeEmail(address)).toEqual({ ok: false, reason: 'the email address is not valid' });
  });

  it('accepts a 64-character local part and a 254-character address', () => {
    const longest = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(longest).toHaveLength(254);
    expect(normalizeEmail(longest)).toEqual({ ok: true, value: longest });
  });

  it('accepts punycode domains and the special characters RFC 5322 allows in a local part', () => {
    expect(normalizeEmail("o'brien!#$%&*/=?^_`{|}~-@xn--bcher-kva.example")).toEqual({
      ok: true,
      value: "o'brien!#$%&*/=?^_`{|}~-@xn--bcher-kva.example",
    });
  });
});

describe('normalizeMobile', () => {
  it('returns E.164 for an international number, whatever its punctuation', () => {
    for (const input of ['+44 7911 123456', '+44-7911-123-456', ' +447911123456 ', '+44 (0) 7911 123456']) {
      expect(normalizeMobile(input)).toEqual({ ok: true, value: '+447911123456' });
    }
  });

  it('reads a national number in the account’s default region', () => {
    expect(normalizeMobile('07911 123456', 'GB')).toEqual({ ok: true, value: '+447911123456' });
    expect(normalizeMobile('0044 7911 123456', 'GB')).toEqual({ ok: true, value: '+447911123456' });
    expect(normalizeMobile('06 12 34 56 78', 'FR')).toEqual({ ok: true, value: '+33612345678' });
  });

  it('keeps an international number’s own country whatever the default region', () => {
    expect(normalizeMobile('+33 6 12 34 56 78', 'GB')).toEqual({ ok: true, value: '+33612345678' });
  });

  it('says the number is missing when it is empty or blank', () => {
    expect(normalizeMobile('')).toEqual({ ok: false, reason: 'the mobile number is missing' });
    expect(normalizeMobile(' ', 'GB')).toEqual({ ok: false, reason: 'the mobile number is missing' });
  });

  it('asks for the country code when a national number comes without a default region', () => {
    expect(normalizeMobile('07911 123456')).toEqual({
      ok: false,
      reason: 'the mobile number is not valid (give it with its country code, e.g. +44…)',
    });
    expect(normalizeMobile('07911 123456', null)).toEqual({
      ok: false,
      reason: 'the mobile number is not valid (give it with its country code, e.g. +44…)',
    });
  });

  it('does not ask for a country code when the account has a default region', () => {
    expect(normalizeMobile('call me', 'GB')).toEqual({ ok: false, reason: 'the mobile number is not valid' });
  });

  it('refuses numbers that parse but do not exist', () => {
    expect(normalizeMobile('+44 7911 12345')).toEqual({ ok: false, reason: 'the mobile number is not a valid number' });
    expect(normalizeMobile('+44 7911 1234567')).toEqual({
      ok: false,
      reason: 'the mobile number is not a valid number',
    });
    expect(normalizeMobile('12', 'GB')).toEqual({ ok: false, reason: 'the mobile number is not a valid number' });
  });
});

describe('checkRecord: a valid record', () => {
  it('keeps its values, normalises its address and hashes its identifiers', () => {
    const checked = checkRecord(
      rulesFor(),
      record({ 'q-email': ' Ann@Example.COM ', 'q-uuid': 'u-1', 'q-name': 'Ann', 'q-mobile': '+44 7911 123456' }),
    );
    expect(checked).toEqual({
      rejection: null,
      rejectionMessage: null,
      uuid: 'u-1',
      channel: 'email',
      target: 'Ann@example.com',
      language: 'en',
      prefills: [
        { questionId: 'q-email', input: 'Ann@example.com', hashed: false },
        { questionId: 'q-uuid', input: 'u-1', hashed: false },
        { questionId: 'q-name', input: 'Ann', hashed: false },
        { questionId: 'q-mobile', input: '+447911123456', hashed: false },
      ],
      originals: [],
      identifiers: [hashed('sha256', 'ann@example.com'), hashed('sha256', 'u-1')],
      dropped: [],
    });
  });

  it('hashes PII questions with the account’s algorithm and keeps their originals for the vault', () => {
    const checked = checkRecord(
      rulesFor({ algorithm: 'sha512', uuidPii: 'hash', emailPii: 'hash' }),
      record({ 'q-email': 'ann@example.com', 'q-uuid': 'U-1' }),
    );
    expect(checked.rejection).toBeNull();
    expect(checked.uuid).toBe(hashed('sha512', 'U-1'));
    expect(checked.target).toBe(hashed('sha512', 'ann@example.com'));
    expect(checked.originals).toEqual(['ann@example.com', 'U-1']);
    expect(checked.prefills.every((p) => p.hashed)).toBe(true);
    expect(checked.identifiers).toEqual([hashed('sha512', 'ann@example.com'), hashed('sha512', 'u-1')]);
  });

  it('reads a national mobile number in the default region when SMS is the primary channel', () => {
    const checked = checkRecord(
      rulesFor({ channels: ['sms'], region: 'GB' }),
      record({ 'q-mobile': '07911 123456', 'q-uuid': 'u-1' }),
    );
    expect(checked.rejection).toBeNull();
    expect(checked.channel).toBe('sms');
    expect(checked.target).toBe('+447911123456');
    expect(checked.identifiers[0]).toBe(hashed('sha256', '+447911123456'));
  });
});

describe('checkRecord: refusals and their messages', () => {
  const rules = rulesFor();

  it('refuses a record without the primary channel’s address', () => {
    expect(checkRecord(rules, record({ 'q-uuid': 'u-1' })).rejection).toBe('Failed due to a missing email address');
    expect(checkRecord(rulesFor({ channels: ['sms'] }), record({ 'q-uuid': 'u-1' })).rejection).toBe(
      'Failed due to a missing mobile number',
    );
  });

  it('refuses an invalid address and says why', () => {
    expect(checkRecord(rules, record({ 'q-email': 'ann@example', 'q-uuid': 'u-1' })).rejection).toBe(
      'Failed due to an invalid email address: the email address is not valid',
    );
    expect(checkRecord(rules, record({ 'q-email': '  ', 'q-uuid': 'u-1' })).rejection).toBe(
      'Failed due to an invalid email address: the email address is missing',
    );
    expect(
      checkRecord(
        rulesFor({ channels: ['whatsapp'], vendors: { whatsapp: 'v-wa' } }),
        record({ 'q-mobile': '07911 123456', 'q-uuid': 'u-1' }),
      ).rejection,
    ).toBe(
      'Failed due to an invalid mobile number: the mobile number is not valid (give it with its country code, e.g. +44…)',
    );
  });

  it('refuses a record without a UUID, or with a blank one', () => {
    expect(checkRecord(rules, record({ 'q-email': 'ann@example.com' })).rejection).toBe(
      'Failed due to no UUID (common identifier)',
    );
    expect(checkRecord(rules, record({ 'q-email': 'ann@example.com', 'q-uuid': ' \t ' })).rejection).toBe(
      'Failed due to no UUID (common identifier)',
    );
  });

  it('gives the address’s refusal first when both the address and the UUID are missing', () => {
    expect(checkRecord(rules, record({})).rejection).toBe('Failed due to a missing email address');
  });

  it('keeps no originals for the vault from a refused record', () => {
    const checked = checkRecord(rulesFor({ uuidPii: 'hash' }), record({ 'q-email': 'bad', 'q-uuid': 'u-1' }));
    expect(checked.rejection).not.toBeNull();
    expect(checked.originals).toEqual([]);
  });
});

describe('checkRecord: UUIDs', () => {
  it('stores the UUID as received, as the original module did, and matches unsubscribes by it trimmed', () => {
    const plain = checkRecord(rulesFor(), record({ 'q-email': 'ann@example.com', 'q-uuid': '  u-1 ' }));
    expect(plain.uuid).toBe('  u-1 ');
    expect(plain.identifiers[1]).toBe(hashed('sha256', 'u-1'));

    const hidden = checkRecord(
      rulesFor({ uuidPii: 'hash' }),
      record({ 'q-email': 'ann@example.com', 'q-uuid': ' U-1 ' }),
    );
    expect(hidden.uuid).toBe(hashed('sha256', ' U-1 '));
    expect(hidden.originals).toEqual([' U-1 ']);
  });

  it('takes the UUID from a static prefill when the record has none', () => {
    const checked = checkRecord(
      rulesFor({ staticPrefills: [{ questionId: 'q-uuid', input: 'campaign-7' }] }),
      record({ 'q-email': 'ann@example.com' }),
    );
    expect(checked.rejection).toBeNull();
    expect(checked.uuid).toBe('campaign-7');
  });
});

describe('checkRecord: channel choice', () => {
  it('keeps a valid secondary address and drops an invalid one without refusing the record', () => {
    const checked = checkRecord(
      rulesFor(),
      record({ 'q-email': 'ann@example.com', 'q-uuid': 'u-1', 'q-mobile': 'n/a' }),
    );
    expect(checked.rejection).toBeNull();
    expect(checked.channel).toBe('email');
    expect(checked.dropped).toEqual(['q-mobile']);
    expect(checked.prefills.map((p) => p.questionId)).toEqual(['q-email', 'q-uuid']);
  });

  it('goes by the next channel with a valid address and a vendor when the policy allows fallback', () => {
    const checked = checkRecord(
      rulesFor({ fallback: true }),
      record({ 'q-email': 'not-an-address', 'q-mobile': '+44 7911 123456', 'q-uuid': 'u-1' }),
    );
    expect(checked.rejection).toBeNull();
    expect(checked.channel).toBe('sms');
    expect(checked.target).toBe('+447911123456');
    expect(checked.identifiers).toEqual([hashed('sha256', '+447911123456'), hashed('sha256', 'u-1')]);
    // The unusable primary address is not kept.
    expect(checked.prefills.map((p) => p.questionId)).toEqual(['q-mobile', 'q-uuid']);
  });

  it('falls back for a missing primary address too', () => {
    const checked = checkRecord(rulesFor({ fallback: true }), record({ 'q-mobile': '+447911123456', 'q-uuid': 'u-1' }));
    expect(checked.rejection).toBeNull();
    expect(checked.channel).toBe('sms');
  });

  it('refuses instead of falling back when the policy does not allow it', () => {
    const checked = checkRecord(rulesFor(), record({ 'q-mobile': '+447911123456', 'q-uuid': 'u-1' }));
    expect(checked.rejection).toBe('Failed due to a missing email address');
    expect(checked.channel).toBe('email');
    expect(checked.target).toBeNull();
  });

  it('does not fall back to a channel without a vendor', () => {
    const checked = checkRecord(
      rulesFor({ fallback: true, vendors: { email: 'v-email' } }),
      record({ 'q-mobile': '+447911123456', 'q-uuid': 'u-1' }),
    );
    expect(checked.rejection).toBe('Failed due to a missing email address');
  });

  it('does not fall back to an invalid secondary address', () => {
    const checked = checkRecord(rulesFor({ fallback: true }), record({ 'q-mobile': '07911', 'q-uuid': 'u-1' }));
    expect(checked.rejection).toBe('Failed due to a missing email address');
  });
});

describe('checkRecord: prefills and language', () => {
  it('drops prefills for unknown questions and questions closed to API prefill', () => {
    const checked = checkRecord(
      rulesFor(),
      record({ 'q-email': 'ann@example.com', 'q-uuid': 'u-1', 'q-internal': 'secret', 'no-such': 'x' }),
    );
    expect(checked.dropped).toEqual(['q-internal', 'no-such']);
    expect(checked.prefills.map((p) => p.questionId)).toEqual(['q-email', 'q-uuid']);
  });

  it('lets a record’s value override a static prefill', () => {
    const checked = checkRecord(
      rulesFor({ staticPrefills: [{ questionId: 'q-name', input: 'Customer' }] }),
      record({ 'q-email': 'ann@example.com', 'q-uuid': 'u-1', 'q-name': 'Ann' }),
    );
    expect(checked.prefills).toContainEqual({ questionId: 'q-name', input: 'Ann', hashed: false });
  });

  it.each([
    [' FR ', 'fr'],
    ['fr-CA', 'fr-ca'],
    ['pt_BR', 'pt-br'],
    ['zh_Hant_TW', 'zh-hant-tw'],
  ])('reads the language %j as %j', (given, expected) => {
    const checked = checkRecord(rulesFor(), record({ 'q-email': 'a@example.com', 'q-uuid': 'u', 'q-lang': given }));
    expect(checked.language).toBe(expected);
  });

  it.each([['French'], ['f'], [''], ['en-'], ['12']])('uses the dispatch’s default language for %j', (given) => {
    const checked = checkRecord(rulesFor(), record({ 'q-email': 'a@example.com', 'q-uuid': 'u', 'q-lang': given }));
    expect(checked.language).toBe('en');
  });
});
