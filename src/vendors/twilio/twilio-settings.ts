import { Type, type Static } from '@sinclair/typebox';
import { transportSettings, urlSetting } from '../support/transport-settings.js';

/** A Messaging Service SID: sent as MessagingServiceSid instead of From. */
export const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** A `twilio` vendor's settings. */
export const twilioSettings = Type.Object(
  {
    baseUrl: urlSetting('https://api.twilio.com'),
    accountSid: Type.String({ pattern: '^AC[0-9a-fA-F]{32}$', description: 'The account SID (AC…)' }),
    from: Type.String({
      pattern: '^(\\+?\\d{3,15}|MG[0-9a-fA-F]{32}|[A-Za-z0-9 ]{1,11})$',
      description:
        'The sender: a Twilio phone number (E.164) or short code, an alphanumeric sender id, or a Messaging Service SID (MG…)',
    }),
    statusCallback: Type.Optional(
      urlSetting(undefined, 'Where Twilio posts status callbacks for these messages (signed with the auth token)'),
    ),
    ...transportSettings,
  },
  { additionalProperties: false },
);

/** A `twilio` vendor's credentials. */
export const twilioSecrets = Type.Object(
  { authToken: Type.String({ minLength: 1, maxLength: 200, description: "The account's auth token" }) },
  { additionalProperties: false },
);

export type TwilioSettings = Static<typeof twilioSettings>;
export type TwilioSecrets = Static<typeof twilioSecrets>;
