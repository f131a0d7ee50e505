import { Type, type Static } from '@sinclair/typebox';
import { senderSettings } from '../support/sender-settings.js';

/** A `sparkpost` vendor's settings. */
export const sparkPostSettings = Type.Object(
  {
    baseUrl: Type.String({
      pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
      maxLength: 500,
      default: 'https://api.sparkpost.com',
      description: 'https://api.sparkpost.com, https://api.eu.sparkpost.com or an enterprise endpoint, without /api/v1',
    }),
    ...senderSettings,
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
);

/** A `sparkpost` vendor's credentials: the API key, and the webhook's Basic credentials, custom header token, or both. */
export const sparkPostSecrets = Type.Object(
  {
    apiKey: Type.String({ minLength: 1, maxLength: 500 }),
    webhookUsername: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    webhookPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    webhookToken: Type.Optional(Type.String({ minLength: 16, maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export type SparkPostSettings = Static<typeof sparkPostSettings>;
export type SparkPostSecrets = Static<typeof sparkPostSecrets>;
