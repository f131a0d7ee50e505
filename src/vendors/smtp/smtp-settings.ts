import { Type, type Static } from '@sinclair/typebox';
import { senderSettings } from '../support/sender-settings.js';

/** An `smtp` vendor's settings. */
export const smtpSettings = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    security: Type.Union([Type.Literal('tls'), Type.Literal('starttls'), Type.Literal('none')], {
      default: 'starttls',
    }),
    ...senderSettings,
    rateLimitPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    rejectUnauthorized: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

/** An `smtp` vendor's credentials, when its server asks for them. */
export const smtpSecrets = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export type SmtpSettings = Static<typeof smtpSettings>;
export type SmtpSecrets = Static<typeof smtpSecrets>;
