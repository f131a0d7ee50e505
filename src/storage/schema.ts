/**
 * Herald's tables. Migrations in drizzle/ are generated from this file (`npm run db:generate`);
 * test/storage/schema-matches-migrations.test.ts fails when the two disagree.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const roles = ['admin', 'operator', 'viewer'] as const;
export const hashAlgorithms = ['sha256', 'sha384', 'sha512'] as const;
export type HashAlgorithm = (typeof hashAlgorithms)[number];
export const channels = ['email', 'sms', 'whatsapp'] as const;
export type Channel = (typeof channels)[number];
export const logLevels = ['Debug', 'Information', 'Warning', 'Error', 'Fatal'] as const;
export type LogLevel = (typeof logLevels)[number];
/** The component a log entry is from: the original module's EventLog tags. */
export const logTags = ['DispatchAPI', 'Dispatcher', 'Account', 'Initiator'] as const;
export type LogTag = (typeof logTags)[number];
/** Where an invitation stands before delivery; delivery statuses live on its messages. */
export const invitationStates = [
  'requested',
  'rejected',
  'throttled',
  'suppressed',
  'token_created',
  'token_failed',
] as const;
export type InvitationState = (typeof invitationStates)[number];

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });
export type Role = (typeof roles)[number];

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const accounts = pgTable('accounts', {
  id: uuid('id')
    .primaryKey()
    .default(sql`gen_random_uuid()`),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  hashAlgorithm: text('hash_algorithm', { enum: hashAlgorithms }).notNull().default('sha512'),
  /** ISO 3166 region for mobile numbers given without a country code (e.g. "GB"); none: numbers must be international. */
  defaultPhoneRegion: text('default_phone_region'),
  /**
   * Hash PII after normalising it (trimmed, mobiles in E.164) instead of the lower-cased input as
   * received. Off by default: the original module hashes the input as received, and systems that
   * match on its hashes (fatigue rules, unsubscribe lists, reports) expect those.
   */
  normalizedHashing: boolean('normalized_hashing').notNull().default(false),
  /** Plugin choices, GET|POST /api/config/extendedproperties: Sampler, Unsubscriber, SamplingPercentage, … */
  extendedProperties: jsonb('extended_properties').$type<Record<string, unknown>>().notNull().default({}),
  /** Whether webhook subscriptions of this account may be given original identifiers instead of hashes. */
  allowPiiInEvents: boolean('allow_pii_in_events').notNull().default(false),
  createdAt: createdAt(),
});

export const users = pgTable(
  'users',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    // Globally unique: POST /api/LoginToken identifies a user by name alone.
    username: text('username').notNull().unique(),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: roles }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('users_account_idx').on(t.accountId)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    role: text('role', { enum: roles }).notNull(),
    // First characters of the key, kept so a person can tell keys apart; the rest is only hashed.
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.keyHash), index('api_keys_account_idx').on(t.accountId)],
);

export const accessTokens = pgTable(
  'access_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('access_tokens_expiry_idx').on(t.expiresAt)],
);

const accountId = () =>
  uuid('account_id')
    .notNull()
    .references(() => accounts.id, { onDelete: 'cascade' });

export const questionnaires = pgTable(
  'questionnaires',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    name: text('name').notNull(),
    /** Where a survey link sends the respondent; the token is appended. */
    surveyUrl: text('survey_url'),
    createdAt: createdAt(),
  },
  (t) => [index('questionnaires_account_idx').on(t.accountId)],
);

export const questions = pgTable(
  'questions',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    questionnaireId: uuid('questionnaire_id')
      .notNull()
      .references(() => questionnaires.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    displayType: text('display_type').notNull().default('Text'),
    /** e.g. Email, Mobile, cc_language, cc_timezone: how Herald finds a channel's or a setting's question. */
    tags: text('tags').array().notNull().default([]),
    pii: text('pii', { enum: ['none', 'hash'] })
      .notNull()
      .default('none'),
    apiPrefill: boolean('api_prefill').notNull().default(true),
    position: integer('position').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index('questions_questionnaire_idx').on(t.questionnaireId)],
);

/** When messages may go out; times are wall-clock in `timezone`, or in the recipient's (cc_timezone) when asked. */
export interface SendWindow {
  /** 0 = Sunday … 6 = Saturday. */
  days: number[];
  /** "HH:MM", inclusive. */
  start: string;
  /** "HH:MM", exclusive; before `start` means the window runs past midnight. */
  end: string;
  timezone: string;
  recipientTimezone: boolean;
}

/** At most `maxInvitations` first invitations to one UUID per `perDays` days across the account. */
export interface FatigueRule {
  maxInvitations: number;
  perDays: number;
}

export const deliveryPolicies = pgTable(
  'delivery_policies',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    name: text('name').notNull(),
    /** In order of preference; the first is the primary channel. */
    channels: text('channels', { enum: channels }).array().notNull(),
    uuidQuestionId: uuid('uuid_question_id'),
    paused: boolean('paused').notNull().default(false),
    /** Null: any day, any hour. */
    sendWindow: jsonb('send_window').$type<SendWindow | null>(),
    /** Reminder n (1…k) goes `afterMinutes` after the previous message, while the survey is unanswered. */
    reminders: jsonb('reminders').$type<{ afterMinutes: number }[]>().notNull().default([]),
    fatigue: jsonb('fatigue').$type<FatigueRule | null>(),
    /** Whether a record may use the next channel when its primary channel's value is missing or fails permanently. */
    channelFallback: boolean('channel_fallback').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index('delivery_policies_account_idx').on(t.accountId)],
);

export const vendors = pgTable(
  'vendors',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    channel: text('channel', { enum: channels }).notNull(),
    /** Settings that are not secret (host, sender, rate limit, …), validated by the vendor kind. */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    /** Secrets sealed by the vault key (never returned by the API). */
    secrets: bytea('secrets'),
    secretsKeyId: text('secrets_key_id'),
    createdAt: createdAt(),
  },
  (t) => [index('vendors_account_idx').on(t.accountId)],
);

export const dispatches = pgTable(
  'dispatches',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    name: text('name').notNull(),
    questionnaireId: uuid('questionnaire_id')
      .notNull()
      .references(() => questionnaires.id),
    deliveryPolicyId: uuid('delivery_policy_id')
      .notNull()
      .references(() => deliveryPolicies.id),
    /** The vendor that delivers each channel, e.g. {"email": "<vendor id>"}. */
    channelVendors: jsonb('channel_vendors').$type<Partial<Record<Channel, string>>>().notNull().default({}),
    /** Prefills added to every record of this dispatch (a record's own value wins). */
    staticPrefills: jsonb('static_prefills').$type<{ questionId: string; input: string }[]>().notNull().default([]),
    defaultLanguage: text('default_language').notNull().default('en'),
    /** The content template of each channel: the first message's and one per reminder level. */
    templates: jsonb('templates')
      .$type<Partial<Record<Channel, { initial: string; reminders?: string[] }>>>()
      .notNull()
      .default({}),
    paused: boolean('paused').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index('dispatches_account_idx').on(t.accountId)],
);

export const unsubscribes = pgTable(
  'unsubscribes',
  {
    accountId: accountId(),
    /** The hash of a lower-cased email address, mobile number or UUID, as the account hashes PII. */
    identifierHash: text('identifier_hash').notNull(),
    source: text('source').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.identifierHash] })],
);

export const batches = pgTable(
  'batches',
  {
    accountId: accountId(),
    id: text('id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.id] })],
);

export interface StoredPrefill {
  questionId: string;
  /** The value as stored: hashed when its question is PII-hash. */
  input: string;
  hashed: boolean;
}

export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    batchId: text('batch_id').notNull(),
    dispatchId: uuid('dispatch_id').notNull(),
    /** The record's position among its dispatch's records in the request, so a caller can match results to rows. */
    recordIndex: integer('record_index').notNull(),
    state: text('state', { enum: invitationStates }).notNull(),
    /** The record's UUID (hashed when its question is PII-hash); null when the record had none. */
    uuid: text('uuid'),
    channel: text('channel', { enum: channels }),
    /** The primary channel's value as stored (hashed when PII-hash). */
    target: text('target'),
    language: text('language'),
    prefills: jsonb('prefills').$type<StoredPrefill[]>().notNull(),
    /**
     * The originals of the hashed prefills, needed to deliver: a JSON object hash → original,
     * AES-256-GCM sealed and bound to the account and invitation, with the id of the key that
     * sealed it so keys can rotate. Null when nothing was hashed. Purging the invitation purges them.
     * Base64 text rather than bytea: PGlite parses bytea results in JavaScript character by character,
     * and every claimed message reads this column.
     */
    sealedOriginals: text('sealed_originals'),
    sealedKeyId: text('sealed_key_id'),
    token: text('token'),
    openCount: integer('open_count').notNull().default(0),
    firstOpenedAt: timestamp('first_opened_at', { withTimezone: true }),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    unsubscribedAt: timestamp('unsubscribed_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Partial: an invitation has no token until the token job runs, and ingest then adds no entry.
    uniqueIndex('invitations_token_idx')
      .on(t.token)
      .where(sql`token IS NOT NULL`),
    index('invitations_batch_idx').on(t.accountId, t.batchId),
    index('invitations_dispatch_state_idx').on(t.dispatchId, t.state, t.createdAt),
    index('invitations_uuid_idx').on(t.accountId, t.uuid),
    index('invitations_target_idx').on(t.accountId, t.target),
    index('invitations_created_idx').on(t.accountId, t.createdAt),
  ],
);

/**
 * Invitations accepted by ingest and waiting for their survey tokens, in groups of at most the
 * token batch size: one row a group, its invitations as a JSON array of `PendingInvitation`.
 * Ingest writes these instead of invitation rows, so accepting a large request costs a few large
 * writes instead of one row and seven index entries a record; the token job turns a group into
 * invitation rows, with their tokens, and deletes it in one transaction. The view
 * `invitation_records` shows both as invitations.
 */
export const pendingInvitations = pgTable(
  'pending_invitations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: accountId(),
    batchId: text('batch_id').notNull(),
    dispatchId: uuid('dispatch_id').notNull(),
    invitationCount: integer('invitation_count').notNull(),
    /**
     * Text, not json: the database would parse megabytes of it on every insert for nothing. Stored
     * uncompressed (STORAGE EXTERNAL, set by the migration): a group lives only until its tokens.
     */
    invitations: text('invitations').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('pending_invitations_dispatch_idx').on(t.dispatchId, t.id),
    index('pending_invitations_batch_idx').on(t.accountId, t.batchId),
  ],
);

/** One invitation of a pending group, with the columns of its future invitation row. */
export interface PendingInvitation {
  id: string;
  record_index: number;
  uuid: string | null;
  channel: Channel;
  target: string | null;
  language: string;
  prefills: StoredPrefill[];
  sealed_originals: string | null;
  sealed_key_id: string | null;
}

/** One step of an invitation's journey; `action` and `channel` keep the original module's numbers. */
export const invitationEvents = pgTable(
  'invitation_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id').notNull(),
    /**
     * No foreign key: checking one would lock the invitation row for each of its several entries.
     * Entries are written only for invitations that exist, and deleting invitations deletes their
     * entries through a statement trigger (see the migration that drops the key).
     */
    invitationId: uuid('invitation_id').notNull(),
    action: smallint('action').notNull(),
    channel: smallint('channel').notNull(),
    message: text('message'),
    /**
     * The entry's log message when it has one beside `message` (DispatchSuccessful: the template
     * and token parameters in `message`, "Successfully Dispatched (via: …)" here). Null: `message`
     * is the log message when `level` is set.
     */
    logMessage: text('log_message'),
    targetId: text('target_id'),
    level: text('level', { enum: logLevels }),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('invitation_events_invitation_idx').on(t.invitationId, t.id)],
);

/**
 * Events waiting for the outbox relay: only those of accounts with an active webhook subscription
 * when they were written, so an account nobody listens to costs the relay nothing. A statement
 * trigger on invitation_events fills it (see the migration that creates it); the relay deletes
 * what it has handed to the subscriptions.
 */
export const eventOutbox = pgTable('event_outbox', {
  eventId: bigint('event_id', { mode: 'number' }).primaryKey(),
});

/** Request-, dispatch- and account-level log entries (Debug … Fatal), with ids and hashes only. */
export const logEntries = pgTable(
  'log_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id').notNull(),
    batchId: text('batch_id'),
    dispatchId: uuid('dispatch_id'),
    level: text('level', { enum: logLevels }).notNull(),
    /** The component that wrote it; the event log shows it as the entry's tag. */
    tag: text('tag', { enum: logTags }).notNull().default('DispatchAPI'),
    message: text('message').notNull(),
    /** What went wrong, when an entry reports a failure with more detail than its message. */
    exception: text('exception'),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** The file upload an initiator entry is about (§6.1.3 of the architecture document). */
    uploadId: uuid('upload_id'),
  },
  (t) => [
    index('log_entries_batch_idx').on(t.accountId, t.batchId),
    index('log_entries_account_idx').on(t.accountId, t.occurredAt),
    index('log_entries_upload_idx')
      .on(t.uploadId)
      .where(sql`upload_id IS NOT NULL`),
  ],
);

/** One language of a content template. Email uses subject, html and text; SMS and WhatsApp text only. */
export interface TemplateVariant {
  language: string;
  subject?: string;
  html?: string;
  text: string;
}

export const contentTemplates = pgTable(
  'content_templates',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    name: text('name').notNull(),
    channel: text('channel', { enum: channels }).notNull(),
    variants: jsonb('variants').$type<TemplateVariant[]>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('content_templates_account_idx').on(t.accountId)],
);

/**
 * A message's status. Waiting: scheduled, rate_limited (retried automatically), manual_retry (a
 * person asked for another try), queued (in a bulk batch). In flight: sending. Outcomes: sent →
 * delivered → read, or bounced, error (permanent); cancelled and throttled never went out.
 */
export const messageStatuses = [
  'scheduled',
  'rate_limited',
  'manual_retry',
  'queued',
  'sending',
  'sent',
  'delivered',
  'read',
  'bounced',
  'error',
  'cancelled',
  'throttled',
] as const;
export type MessageStatus = (typeof messageStatuses)[number];

/**
 * One invitation on one channel at one reminder level: the unit of delivery. The unique key is the
 * idempotency key — a message is sent at most once, except one in flight when a process dies.
 */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: uuid('account_id').notNull(),
    invitationId: uuid('invitation_id')
      .notNull()
      .references(() => invitations.id, { onDelete: 'cascade' }),
    dispatchId: uuid('dispatch_id').notNull(),
    channel: text('channel', { enum: channels }).notNull(),
    reminderLevel: smallint('reminder_level').notNull(),
    status: text('status', { enum: messageStatuses }).notNull(),
    /** When it may go out; a retry moves it later. */
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** Set while a worker sends it; a stale claim means the worker died mid-send. */
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    vendorId: uuid('vendor_id'),
    vendorMessageId: text('vendor_message_id'),
    errorCategory: text('error_category'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    /** When the status last changed (the TRD's status-updated time). */
    statusUpdatedAt: timestamp('status_updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** False for a message a person sent by hand; only automated sends may be retried by a person. */
    automated: boolean('automated').notNull().default(true),
    /** How many times a person retried it; the error and times before the last retry are kept below. */
    retryCount: integer('retry_count').notNull().default(0),
    previousStatus: text('previous_status'),
    previousStatusUpdatedAt: timestamp('previous_status_updated_at', { withTimezone: true }),
    previousErrorCategory: text('previous_error_category'),
    previousErrorCode: text('previous_error_code'),
    previousErrorMessage: text('previous_error_message'),
    /** The bulk batch it travels in, for bulk-send vendors. */
    bulkBatchId: uuid('bulk_batch_id'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    readAt: timestamp('read_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('messages_idempotency_idx').on(t.invitationId, t.channel, t.reminderLevel),
    index('messages_due_idx').on(t.status, t.dueAt),
    // Partial: most messages never get a vendor id, or a bulk batch, and so add no entry.
    index('messages_vendor_message_idx')
      .on(t.vendorId, t.vendorMessageId)
      .where(sql`vendor_message_id IS NOT NULL`),
    index('messages_bulk_batch_idx')
      .on(t.bulkBatchId)
      .where(sql`bulk_batch_id IS NOT NULL`),
  ],
);

/**
 * Messages for a bulk-send vendor travel together: open while filling, then claimed (sending)
 * by exactly one worker, then sent. A batch left sending by a dead worker is recovered and
 * completed; batches are never deleted.
 */
export const bulkBatches = pgTable(
  'bulk_batches',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: uuid('account_id').notNull(),
    vendorId: uuid('vendor_id').notNull(),
    status: text('status', { enum: ['open', 'sending', 'sent'] })
      .notNull()
      .default('open'),
    messageCount: integer('message_count').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    flushedAt: timestamp('flushed_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('bulk_batches_status_idx').on(t.status, t.createdAt)],
);

/** Vendor callbacks already applied, so a repeated one changes nothing. */
export const vendorCallbacks = pgTable(
  'vendor_callbacks',
  {
    vendorId: uuid('vendor_id').notNull(),
    externalEventId: text('external_event_id').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.vendorId, t.externalEventId] })],
);

export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: uuid('id')
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    accountId: accountId(),
    url: text('url').notNull(),
    description: text('description'),
    /** Event sub-types (statuses) to send; empty: all. */
    eventTypes: text('event_types').array().notNull().default([]),
    /** Dispatches whose events to send; empty: all. */
    dispatchIds: uuid('dispatch_ids').array().notNull().default([]),
    /** Send original identifiers instead of hashes (only where the account allows it). */
    includePii: boolean('include_pii').notNull().default(false),
    /** The signing secret, sealed by the vault; shown once when created or rotated. */
    secret: bytea('secret').notNull(),
    secretKeyId: text('secret_key_id').notNull(),
    /** After a rotation, the old secret also signs until this time, so receivers can switch over. */
    previousSecret: bytea('previous_secret'),
    previousSecretKeyId: text('previous_secret_key_id'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    status: text('status', { enum: ['active', 'disabled'] })
      .notNull()
      .default('active'),
    disabledReason: text('disabled_reason'),
    /** Since when every delivery has failed; null while healthy. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('webhook_subscriptions_account_idx').on(t.accountId)],
);

export const webhookDeliveryStatuses = ['pending', 'delivered', 'dead'] as const;

/** One event for one subscription: retried until delivered or dead-lettered (then replayable). */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id').notNull(),
    subscriptionId: uuid('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    /** The idempotency id receivers see; the same across retries and replays. */
    eventId: uuid('event_id').notNull(),
    /** Deliveries of one invitation go out in order. */
    invitationId: uuid('invitation_id'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: webhookDeliveryStatuses }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_idx').on(t.subscriptionId, t.eventId),
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_order_idx').on(t.subscriptionId, t.invitationId, t.id),
  ],
);

/** The delivery log: every attempt, its answer and how long it took. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    subscriptionId: uuid('subscription_id').notNull(),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull().defaultNow(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms'),
    error: text('error'),
  },
  (t) => [index('webhook_attempts_subscription_idx').on(t.subscriptionId, t.attemptedAt)],
);

/** Where an account's campaign reporter posts dispatch state changes and periodic statistics. */
export const campaignReporters = pgTable('campaign_reporters', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  uri: text('uri').notNull(),
  /** An Authorization header value, sealed by the vault; never returned. */
  authHeader: bytea('auth_header'),
  authHeaderKeyId: text('auth_header_key_id'),
  intervalSeconds: integer('interval_seconds').notNull().default(10),
  format: text('format', { enum: ['json', 'elasticsearch'] })
    .notNull()
    .default('json'),
  /** For Elasticsearch bulk lines. */
  indexName: text('index_name').notNull().default('herald-campaigns'),
  enabled: boolean('enabled').notNull().default(true),
  lastReportAt: timestamp('last_report_at', { withTimezone: true }),
  createdAt: createdAt(),
});

/** Posts waiting for the campaign reporter's endpoint: retried, never dropped silently. */
export const reporterPosts = pgTable(
  'reporter_posts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id').notNull(),
    kind: text('kind', { enum: ['state', 'statistics'] }).notNull(),
    body: jsonb('body').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'dead'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [index('reporter_posts_due_idx').on(t.status, t.nextAttemptAt)],
);

/** The last state the reporter saw of each dispatch, to notice changes (paused, resumed, drained, …). */
export const dispatchStates = pgTable('dispatch_states', {
  dispatchId: uuid('dispatch_id')
    .primaryKey()
    .references(() => dispatches.id, { onDelete: 'cascade' }),
  accountId: uuid('account_id').notNull(),
  state: text('state').notNull(),
  changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
});

export const uploadStatuses = ['processing', 'done', 'failed'] as const;
export type UploadStatus = (typeof uploadStatuses)[number];
export const uploadFormats = ['csv', 'xlsx'] as const;
export type UploadFormat = (typeof uploadFormats)[number];
/** How a file came in: the upload API (also used by `herald send`) or a watched folder. */
export const uploadSources = ['api', 'folder'] as const;
export type UploadSource = (typeof uploadSources)[number];

/**
 * A customer file (CSV or XLSX) taken in by the initiator and turned into dispatch requests a chunk
 * at a time. Each chunk commits with the upload's counts and position, so a restart resumes after
 * the last committed chunk and never accepts a row twice.
 */
export const uploads = pgTable(
  'uploads',
  {
    id: uuid('id').primaryKey(),
    accountId: accountId(),
    dispatchId: uuid('dispatch_id').notNull(),
    fileName: text('file_name').notNull(),
    /** Null when the file is neither (a watched folder's file is taken whatever it is, and fails with the reason). */
    format: text('format', { enum: uploadFormats }),
    /** The worksheet to read (XLSX); the first when null. */
    sheet: text('sheet'),
    /** Header → question id or text, chosen by the uploader; headers not in it are matched by themselves. */
    mapping: jsonb('mapping').$type<Record<string, string>>(),
    source: text('source', { enum: uploadSources }).notNull(),
    /** The watched folder's feed (its sub-folder's name) when the file came from one. */
    feed: text('feed'),
    /** Where the file is: while it is processed, and for a watched folder's file, in its archive after. */
    storedPath: text('stored_path').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    status: text('status', { enum: uploadStatuses }).notNull().default('processing'),
    /** The header row as read, for the rejected-rows report. */
    columns: jsonb('columns').$type<string[]>(),
    rowsRead: integer('rows_read').notNull().default(0),
    accepted: integer('accepted').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    throttled: integer('throttled').notNull().default(0),
    suppressed: integer('suppressed').notNull().default(0),
    /** The file row (1 is the header) of the last row of the last committed chunk. */
    committedRow: integer('committed_row').notNull().default(0),
    /** Where reading resumes after a restart: the byte just past that row (CSV), or 0 (read from the start). */
    committedOffset: bigint('committed_offset', { mode: 'number' }).notNull().default(0),
    batchIds: jsonb('batch_ids').$type<string[]>().notNull().default([]),
    errors: jsonb('errors').$type<string[]>().notNull().default([]),
    warnings: jsonb('warnings').$type<string[]>().notNull().default([]),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** When a watched folder's file was moved to archive/ with its report (null: not yet, or not from a folder). */
    archivedAt: timestamp('archived_at', { withTimezone: true }),
  },
  (t) => [
    index('uploads_account_idx').on(t.accountId, t.createdAt),
    index('uploads_processing_idx')
      .on(t.status)
      .where(sql`status = 'processing'`),
  ],
);

/**
 * Every row of an upload that was not accepted, with its reason. The row's cells are personal data:
 * sealed by the vault, bound to the upload and row, for the rejected-rows report.
 */
export const uploadRejections = pgTable(
  'upload_rejections',
  {
    uploadId: uuid('upload_id')
      .notNull()
      .references(() => uploads.id, { onDelete: 'cascade' }),
    rowNumber: integer('row_number').notNull(),
    reason: text('reason').notNull(),
    /** Base64 AES-256-GCM of the row's cells as a JSON array. */
    sealedCells: text('sealed_cells').notNull(),
    sealedKeyId: text('sealed_key_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.rowNumber] })],
);
