import { FormatRegistry, Type, type Static } from '@sinclair/typebox';
import { transportSettings, urlSetting } from '../support/transport-settings.js';

// A JSON document whose top level is an object or an array, written as text.
if (!FormatRegistry.Has('json-document')) {
  FormatRegistry.Set('json-document', (value) => {
    try {
      const parsed: unknown = JSON.parse(value);
      return typeof parsed === 'object' && parsed !== null;
    } catch {
      return false;
    }
  });
}

const headerName = Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" });
const headerValue = Type.String({ pattern: '^[^\\r\\n]*$', maxLength: 4000 });
const headers = (description: string) =>
  Type.Record(headerName, headerValue, { default: {}, maxProperties: 50, additionalProperties: false, description });

/** An `http` vendor's settings. */
export const httpVendorSettings = Type.Object(
  {
    channel: Type.Union([Type.Literal('email'), Type.Literal('sms'), Type.Literal('whatsapp')], {
      description: 'The channel this endpoint delivers',
    }),
    url: urlSetting(undefined, 'The endpoint that takes one message a request'),
    method: Type.Union([Type.Literal('POST'), Type.Literal('PUT')], { default: 'POST' }),
    headers: headers('Headers sent with every request (not secret; put credentials in the secrets)'),
    bodyTemplate: Type.Union(
      [
        Type.String({ format: 'json-document', maxLength: 20_000 }),
        Type.Record(Type.String(), Type.Unknown()),
        Type.Array(Type.Unknown()),
      ],
      {
        description:
          'The JSON body (an object, or its text) whose strings are Handlebars templates over to, text, subject, html, messageId, links.survey, links.unsubscribe',
      },
    ),
    messageIdPath: Type.Optional(
      Type.String({
        pattern: '^\\$?[\\w.\\[\\]-]+$',
        maxLength: 200,
        description: "Where the vendor's message id is in its JSON answer, e.g. data.id or messages[0].id",
      }),
    ),
    callbackSignatureHeader: Type.String({
      ...headerName,
      default: 'X-Signature',
      description: 'The callback header with the hex HMAC-SHA256 of the raw body (optionally prefixed sha256=)',
    }),
    ...transportSettings,
  },
  { additionalProperties: false },
);

/** An `http` vendor's credentials. */
export const httpVendorSecrets = Type.Object(
  {
    headers: headers('Headers with credentials, e.g. Authorization; they override settings.headers'),
    callbackSecret: Type.Optional(
      Type.String({ minLength: 16, maxLength: 500, description: 'The shared secret that signs callbacks' }),
    ),
  },
  { additionalProperties: false },
);

export type HttpVendorSettings = Static<typeof httpVendorSettings>;
export type HttpVendorSecrets = Static<typeof httpVendorSecrets>;
