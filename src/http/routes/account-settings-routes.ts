import { Type } from '@sinclair/typebox';
import { getAccountSettings, updateAccountSettings } from '../../platforms/standalone/account-settings.js';
import { hashAlgorithms } from '../../storage/schema.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Nullable, StringEnum } from '../platform-schemas.js';

const HashAlgorithm = StringEnum(hashAlgorithms, { description: 'How PII is hashed (sha512 unless chosen otherwise)' });
const PhoneRegion = Nullable(
  Type.String({
    pattern: '^[A-Z]{2}$',
    description: 'ISO 3166-1 alpha-2 region (e.g. "GB") for mobile numbers given without a country code',
  }),
);
const NormalizedHashing = Type.Boolean({
  description:
    'Hash PII after normalising it (trimmed, mobiles in E.164) instead of the lower-cased input as received. Off by default. INCOMPATIBLE with the original module: its hashes, and those of every system matching on them (fatigue rules, unsubscribe lists, reports), differ for any input that normalising changes.',
});
const SettingsSchema = Type.Object({
  hashAlgorithm: HashAlgorithm,
  defaultPhoneRegion: PhoneRegion,
  normalizedHashing: NormalizedHashing,
});

/** How the caller's account hashes PII and reads phone numbers. */
export function accountSettingsRoutes(app: HttpApp, ctx: HttpContext): void {
  const db = ctx.database.db;

  app.get(
    '/api/account/settings',
    {
      config: { access: 'viewer' },
      schema: { tags: ['account settings'], summary: "The account's settings", response: { 200: SettingsSchema } },
    },
    async (request) => getAccountSettings(db, principalOf(request).accountId),
  );

  app.patch(
    '/api/account/settings',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['account settings'],
        summary: "Change the account's settings",
        description:
          'Changing the hash algorithm or normalizedHashing does not rehash what is stored: hashes written before the change no longer match new ones.',
        body: Type.Object(
          {
            hashAlgorithm: Type.Optional(HashAlgorithm),
            defaultPhoneRegion: Type.Optional(PhoneRegion),
            normalizedHashing: Type.Optional(NormalizedHashing),
          },
          { additionalProperties: false },
        ),
        response: { 200: SettingsSchema },
      },
    },
    async (request) => updateAccountSettings(db, principalOf(request).accountId, request.body),
  );
}
