import { Type, type Static } from '@sinclair/typebox';
import { transportSettings, urlSetting } from '../support/transport-settings.js';

/** A `messagebird` vendor's settings. */
export const messageBirdSettings = Type.Object(
  {
    baseUrl: urlSetting('https://rest.messagebird.com'),
    originator: Type.String({
      pattern: '^(\\+?\\d{1,17}|[A-Za-z0-9 ]{1,11})$',
      description: 'The sender: a phone number with its country code, or up to 11 letters and digits',
    }),
    reportUrl: Type.Optional(urlSetting(undefined, 'Where MessageBird sends status reports for these messages')),
    ...transportSettings,
  },
  { additionalProperties: false },
);

/** A `messagebird` vendor's credentials. */
export const messageBirdSecrets = Type.Object(
  {
    accessKey: Type.String({ minLength: 1, maxLength: 200, description: 'A live (or test) API access key' }),
    signingKey: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: 'The signing key that signs status reports' }),
    ),
  },
  { additionalProperties: false },
);

export type MessageBirdSettings = Static<typeof messageBirdSettings>;
export type MessageBirdSecrets = Static<typeof messageBirdSecrets>;
