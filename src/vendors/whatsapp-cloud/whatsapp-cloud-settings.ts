import { Type, type Static } from '@sinclair/typebox';
import { transportSettings, urlSetting } from '../support/transport-settings.js';

/** A `whatsapp-cloud` vendor's settings. */
export const whatsAppCloudSettings = Type.Object(
  {
    baseUrl: urlSetting('https://graph.facebook.com'),
    apiVersion: Type.String({ pattern: '^v\\d+\\.\\d+$', default: 'v22.0', description: 'Graph API version' }),
    phoneNumberId: Type.String({ pattern: '^\\d{1,30}$', description: 'The business phone number id that sends' }),
    templateName: Type.String({
      pattern: '^[a-z0-9_]{1,512}$',
      description: 'The approved message template to send',
    }),
    languageCode: Type.String({
      pattern: '^[a-z]{2,3}(_[A-Za-z]{2,4})?$',
      description: "The template's language, e.g. en or en_US",
    }),
    bodyParameters: Type.Array(Type.String({ maxLength: 1024 }), {
      maxItems: 20,
      default: ['{{surveyLink}}'],
      description:
        "The template body's {{1}}, {{2}}…, each a Handlebars template over surveyLink, unsubscribeLink, text, messageId",
    }),
    quickReplyPayloads: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      maxItems: 10,
      default: [],
      description:
        "The payload of each quick-reply button of the template, in order; a press comes back as a reply's action",
    }),
    ...transportSettings,
  },
  { additionalProperties: false },
);

/** A `whatsapp-cloud` vendor's credentials. */
export const whatsAppCloudSecrets = Type.Object(
  {
    accessToken: Type.String({ minLength: 1, maxLength: 2000, description: 'A system user access token' }),
    appSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'The app secret that signs webhooks (X-Hub-Signature-256)',
      }),
    ),
    verifyToken: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'The verify token of the webhook subscription' }),
    ),
  },
  { additionalProperties: false },
);

export type WhatsAppCloudSettings = Static<typeof whatsAppCloudSettings>;
export type WhatsAppCloudSecrets = Static<typeof whatsAppCloudSecrets>;
