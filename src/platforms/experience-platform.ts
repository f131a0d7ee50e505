import type { Channel, FatigueRule, HashAlgorithm, SendWindow } from '../storage/schema.js';

/** A question as the ingest sees it. */
export interface PlatformQuestion {
  readonly id: string;
  readonly text: string;
  readonly tags: readonly string[];
  readonly pii: 'none' | 'hash';
  readonly apiPrefill: boolean;
}

/** Everything needed to validate and route the records of one dispatch. */
export interface DispatchDefinition {
  readonly id: string;
  readonly name: string;
  readonly paused: boolean;
  readonly defaultLanguage: string;
  readonly channelVendors: Partial<Record<Channel, string>>;
  readonly staticPrefills: readonly { questionId: string; input: string }[];
  readonly questions: readonly PlatformQuestion[];
  /** Null when the dispatch's delivery policy no longer exists. */
  readonly policy: {
    readonly id: string;
    readonly paused: boolean;
    /** In order of preference: the first is the primary channel. */
    readonly channels: readonly Channel[];
    readonly uuidQuestionId: string | null;
    readonly sendWindow: SendWindow | null;
    readonly reminders: readonly { afterMinutes: number }[];
    readonly fatigue: FatigueRule | null;
    /** Whether a record may go by a later channel when the primary one's address is missing or fails for good. */
    readonly channelFallback?: boolean;
  } | null;
  /** Content template ids per channel: the first message's and each reminder's. */
  readonly templates: Partial<Record<Channel, { initial: string; reminders?: string[] }>>;
  /** Where survey links lead; the token is added. */
  readonly surveyUrl: string | null;
}

export interface PlatformSettings {
  readonly hashAlgorithm: HashAlgorithm;
  readonly defaultPhoneRegion: string | null;
  /**
   * Hash PII after normalising it (trimmed, mobiles in E.164). False (the default) hashes the
   * lower-cased input as received, byte for byte as the original module did.
   */
  readonly normalizedHashing: boolean;
}

/** One record handed to the platform for a survey token: only hashed PII, never original values. */
export interface TokenRequest {
  readonly invitationId: string;
  readonly prefills: readonly { questionId: string; input: string }[];
}

/**
 * The survey-platform side: Herald itself (standalone) or Webex Experience Management. Nothing
 * else in Herald knows which one runs.
 */
export interface ExperiencePlatform {
  settings(accountId: string): Promise<PlatformSettings>;
  /** Null when the account has no such dispatch. */
  dispatch(accountId: string, dispatchId: string): Promise<DispatchDefinition | null>;
  /** Survey tokens for the records, in the same order. Throws when the platform refuses or fails. */
  createTokens(accountId: string, dispatchId: string, records: readonly TokenRequest[]): Promise<string[]>;
  /**
   * Which of the hashed identifiers (email, mobile, UUID; hashed as `settings()` says) are on the
   * account's unsubscribe list: one call for a whole request, whatever its size.
   */
  unsubscribed(accountId: string, identifierHashes: readonly string[]): Promise<Set<string>>;
}
