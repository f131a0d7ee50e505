import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max';

export type Normalized = { ok: true; value: string } | { ok: false; reason: string };

// Pragmatic RFC 5322 subset: one @, a dotted domain with a 2+ letter TLD, no spaces or quotes.
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$/;

/** Trims and validates an email address; the domain is lower-cased, the local part kept. */
export function normalizeEmail(input: string): Normalized {
  const value = input.trim();
  if (value === '') return { ok: false, reason: 'the email address is missing' };
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  // RFC 5321 limits: 254 characters in all, 64 in the local part, which may not start or end with a dot.
  const badLocal = local.length > 64 || local.startsWith('.') || local.endsWith('.');
  if (value.length > 254 || !EMAIL.test(value) || value.includes('..') || badLocal) {
    return { ok: false, reason: 'the email address is not valid' };
  }
  return { ok: true, value: `${local}@${value.slice(at + 1).toLowerCase()}` };
}

/**
 * Validates a mobile number and returns it in E.164 (+441632960001). Numbers without a country
 * code are read in `defaultRegion`, when the account has one.
 */
export function normalizeMobile(input: string, defaultRegion?: string | null): Normalized {
  const value = input.trim();
  if (value === '') return { ok: false, reason: 'the mobile number is missing' };
  try {
    const phone = parsePhoneNumberWithError(value, (defaultRegion ?? undefined) as CountryCode | undefined);
    if (!phone.isValid()) return { ok: false, reason: 'the mobile number is not a valid number' };
    return { ok: true, value: phone.number };
  } catch {
    const hint = defaultRegion ? '' : ' (give it with its country code, e.g. +44…)';
    return { ok: false, reason: `the mobile number is not valid${hint}` };
  }
}
