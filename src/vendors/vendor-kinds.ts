import { FormatRegistry, Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { normalizeEmail } from '../pipeline/ingest/contact-values.js';
import type { Channel } from '../storage/schema.js';
import { httpVendorKind } from './http/http-kind.js';
import { messageBirdKind } from './messagebird/messagebird-kind.js';
import { twilioKind } from './twilio/twilio-kind.js';
import { whatsAppCloudKind } from './whatsapp-cloud/whatsapp-cloud-kind.js';

/** What Herald knows about one kind of vendor: the channel it serves and what configures it. */
export interface VendorKind {
  kind: string;
  channel: Channel;
  /** The channel when the settings choose it (the generic HTTP vendor); else `channel`. */
  channelOf?(settings: Record<string, unknown>): Channel;
  /** `single`: one message per call; `bulk`: many recipients per call. */
  delivery: 'single' | 'bulk';
  /** Settings that are not secret (returned by the API). */
  settings: TSchema;
  /** Credentials: sealed in the vault, never returned. */
  secrets: TSchema;
}

// TypeBox's Value.Check knows no formats until they are registered; the email rule is the one
// Herald applies to recipients.
if (!FormatRegistry.Has('email')) {
  FormatRegistry.Set('email', (value) => value === value.trim() && normalizeEmail(value).ok);
}

const smtp: VendorKind = {
  kind: 'smtp',
  channel: 'email',
  delivery: 'single',
  settings: Type.Object(
    {
      host: Type.String({ minLength: 1, maxLength: 253 }),
      port: Type.Integer({ minimum: 1, maximum: 65535 }),
      security: Type.Union([Type.Literal('tls'), Type.Literal('starttls'), Type.Literal('none')], {
        default: 'starttls',
      }),
      fromAddress: Type.String({ format: 'email', maxLength: 254 }),
      fromName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      rateLimitPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      rejectUnauthorized: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  secrets: Type.Object(
    {
      username: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
      password: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    },
    { additionalProperties: false },
  ),
};

const sparkpost: VendorKind = {
  kind: 'sparkpost',
  channel: 'email',
  delivery: 'bulk',
  settings: Type.Object(
    {
      baseUrl: Type.String({
        pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
        maxLength: 500,
        default: 'https://api.sparkpost.com',
        description:
          'https://api.sparkpost.com, https://api.eu.sparkpost.com or an enterprise endpoint, without /api/v1',
      }),
      fromAddress: Type.String({ format: 'email', maxLength: 254 }),
      fromName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      campaignId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      transactional: Type.Boolean({ default: false }),
      openTracking: Type.Boolean({ default: false }),
      // Off by default: SparkPost would rewrite the survey and unsubscribe links through its own domain.
      clickTracking: Type.Boolean({ default: false }),
      requestTimeoutMs: Type.Integer({ minimum: 1000, maximum: 120_000, default: 30_000 }),
      // The custom header the webhook sends `secrets.webhookToken` in (default x-herald-webhook-token).
      webhookTokenHeader: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9-]+$', maxLength: 100 })),
    },
    { additionalProperties: false },
  ),
  secrets: Type.Object(
    {
      apiKey: Type.String({ minLength: 1, maxLength: 500 }),
      // The webhook's credentials: Basic authentication, a custom header token, or both.
      webhookUsername: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
      webhookPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
      webhookToken: Type.Optional(Type.String({ minLength: 16, maxLength: 1000 })),
    },
    { additionalProperties: false },
  ),
};

export const vendorKinds: ReadonlyMap<string, VendorKind> = new Map([
  [smtp.kind, smtp],
  [sparkpost.kind, sparkpost],
  [messageBirdKind.kind, messageBirdKind],
  [twilioKind.kind, twilioKind],
  [whatsAppCloudKind.kind, whatsAppCloudKind],
  [httpVendorKind.kind, httpVendorKind],
]);

/** One problem with one field, e.g. `{ field: 'settings.port', problem: 'must be at most 65535' }`. */
export interface FieldProblem {
  field: string;
  problem: string;
}

/**
 * Fills in defaults and checks `value` against `schema`. Returns the value with its defaults, or
 * the first problem of each bad field, named `${prefix}.${field}`.
 */
export function checkAgainst(
  schema: TSchema,
  value: unknown,
  prefix: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; problems: FieldProblem[] } {
  const withDefaults: unknown = Value.Default(schema, Value.Clone(value));
  if (Value.Check(schema, withDefaults)) return { ok: true, value: withDefaults as Record<string, unknown> };
  const problems = new Map<string, string>();
  for (const error of Value.Errors(schema, withDefaults)) {
    const field = [prefix, ...error.path.split('/').filter(Boolean)].join('.');
    if (!problems.has(field)) problems.set(field, describe(error.schema, error.message));
  }
  return { ok: false, problems: [...problems].map(([field, problem]) => ({ field, problem })) };
}

// TypeBox says "Expected union value" for a wrong enum value; name the allowed ones instead.
function describe(schema: TSchema, message: string): string {
  const options = (schema.anyOf as TSchema[] | undefined)?.map((option) => option.const as unknown);
  if (options?.every((option) => typeof option === 'string')) return `must be one of: ${options.join(', ')}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}
