import type { DispatchDefinition, PlatformQuestion, PlatformSettings } from '../../platforms/experience-platform.js';
import { hashPii } from '../../privacy/pii-hash.js';
import type { Channel, StoredPrefill } from '../../storage/schema.js';
import { normalizeEmail, normalizeMobile, type Normalized } from '../../contacts/contact-values.js';
import type { RawPrefill } from './request-body.js';

/** The question tag that holds each channel's address. */
export const channelTag: Record<Channel, string> = { email: 'Email', sms: 'Mobile', whatsapp: 'Mobile' };
export const LANGUAGE_TAG = 'cc_language';

/** A record after the per-record rules, before the request-wide ones (duplicates, unsubscribes, sampling). */
export interface CheckedRecord {
  /** Why the record is rejected, in Herald's detail (rejected-rows reports); null when it is not. */
  readonly rejection: string | null;
  /** The same in the original module's words, as its event log showed them. */
  readonly rejectionMessage: string | null;
  /** The UUID as stored: hashed when its question is PII-hash. */
  readonly uuid: string | null;
  readonly channel: Channel;
  readonly target: string | null;
  readonly language: string;
  readonly prefills: StoredPrefill[];
  /** Original values of the hashed prefills, in their order, for the vault. */
  readonly originals: string[];
  /** Hashes of the address and UUID, checked against unsubscribes whatever the PII settings. */
  readonly identifiers: string[];
  /** Prefills dropped because their question is unknown or not open to API prefill. */
  readonly dropped: string[];
}

/** Per-dispatch lookups, built once and shared by all its records. */
export interface DispatchRules {
  readonly dispatch: DispatchDefinition;
  readonly settings: PlatformSettings;
  readonly questions: ReadonlyMap<string, PlatformQuestion>;
  readonly primary: Channel;
  readonly uuidQuestionId: string;
  /** Channel → the question holding its address. */
  readonly channelQuestions: ReadonlyMap<Channel, string>;
  readonly languageQuestionId: string | undefined;
  /** The policy lets a record without a usable primary address go by a later channel that has one. */
  readonly channelFallback: boolean;
}

function normalizeFor(channel: Channel, value: string, settings: PlatformSettings): Normalized {
  return channel === 'email' ? normalizeEmail(value) : normalizeMobile(value, settings.defaultPhoneRegion);
}

const describe: Record<Channel, string> = { email: 'email address', sms: 'mobile number', whatsapp: 'mobile number' };

/** The original module's rejection messages, word for word: callers and reports match on them. */
export const RejectionMessage = {
  invalidAddress: 'Failed due to invalid Email or mobile number',
  noIdentifierOrChannel: 'Failed due to no Common Identifier or Channel',
} as const;

/** Applies validation, normalisation and hashing to one record. */
export function checkRecord(rules: DispatchRules, record: readonly RawPrefill[]): CheckedRecord {
  const { settings, questions, primary } = rules;
  const values = new Map<string, string>(rules.dispatch.staticPrefills.map((p) => [p.questionId, p.input]));
  const dropped: string[] = [];
  for (const prefill of record) {
    if (questions.get(prefill.questionId)?.apiPrefill) values.set(prefill.questionId, prefill.input);
    else dropped.push(prefill.questionId);
  }

  let rejection: string | null = null;
  let rejectionMessage: string | null = null;
  const normalized = new Map<string, string>();
  for (const [channel, questionId] of rules.channelQuestions) {
    const raw = values.get(questionId);
    const result = raw === undefined ? null : normalizeFor(channel, raw, settings);
    if (result?.ok) normalized.set(questionId, result.value);
    else if (channel === primary) {
      rejection = `Failed due to ${raw === undefined ? 'a missing' : 'an invalid'} ${describe[channel]}${result && !result.ok ? `: ${result.reason}` : ''}`;
      rejectionMessage = raw === undefined ? RejectionMessage.noIdentifierOrChannel : RejectionMessage.invalidAddress;
    } else if (raw !== undefined) {
      values.delete(questionId); // an unusable secondary address is dropped, not fatal
      dropped.push(questionId);
    }
  }
  // Channel fallback: the first later channel with a valid address and a vendor carries the record;
  // the unusable primary address is dropped like an unusable secondary one.
  let channel = primary;
  const fallback =
    rejection !== null && rules.channelFallback
      ? [...rules.channelQuestions].find(
          ([c, q]) => c !== primary && normalized.has(q) && rules.dispatch.channelVendors[c],
        )
      : undefined;
  if (fallback) {
    [channel] = fallback;
    rejection = null;
    rejectionMessage = null;
    const primaryQuestion = rules.channelQuestions.get(primary);
    if (primaryQuestion && !normalized.has(primaryQuestion)) values.delete(primaryQuestion);
  }
  const rawUuid = values.get(rules.uuidQuestionId)?.trim();
  if (!rawUuid) {
    rejection ??= 'Failed due to no UUID (common identifier)';
    rejectionMessage ??= RejectionMessage.noIdentifierOrChannel;
  }

  const prefills: StoredPrefill[] = [];
  const originals: string[] = [];
  const stored = new Map<string, string>();
  for (const [questionId, raw] of values) {
    // Only the delivery address is normalised; the hash is of the input as received (lower-cased),
    // byte for byte the original module's, unless the account opted into normalised hashing.
    const value = normalized.get(questionId) ?? raw;
    const hashed = questions.get(questionId)?.pii === 'hash';
    const input = hashed ? hashPii(settings.normalizedHashing ? value : raw, settings.hashAlgorithm) : value;
    if (hashed && rejection === null) originals.push(value);
    stored.set(questionId, input);
    prefills.push({ questionId, input, hashed });
  }

  const targetQuestion = rules.channelQuestions.get(channel);
  const address = targetQuestion ? normalized.get(targetQuestion) : undefined;
  // Unsubscribes match the normalised address and UUID, and the stored hashes too (a link
  // unsubscribe knows only those), so a list entry in either form suppresses the record.
  const storedHashes = [targetQuestion, rules.uuidQuestionId].flatMap((q) =>
    q && questions.get(q)?.pii === 'hash' && stored.has(q) ? [stored.get(q)!] : [],
  );
  const identifiers = [
    ...new Set([
      ...[address, rawUuid].filter((v): v is string => !!v).map((v) => hashPii(v, settings.hashAlgorithm)),
      ...storedHashes,
    ]),
  ];
  const language = rules.languageQuestionId ? values.get(rules.languageQuestionId)?.trim().toLowerCase() : undefined;
  return {
    rejection,
    rejectionMessage,
    uuid: stored.get(rules.uuidQuestionId) ?? null,
    channel,
    target: targetQuestion ? (stored.get(targetQuestion) ?? null) : null,
    // ISO 639-1, optionally with a region (fr-CA): templates are chosen by the primary subtag.
    language:
      language && /^[a-z]{2}(?:[-_][a-z0-9]{2,8})*$/.test(language)
        ? language.replaceAll('_', '-')
        : rules.dispatch.defaultLanguage,
    prefills,
    originals,
    identifiers,
    dropped,
  };
}
