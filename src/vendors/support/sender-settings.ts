import { FormatRegistry, Type } from '@sinclair/typebox';
import { normalizeEmail } from '../../contacts/contact-values.js';

// TypeBox's Value.Check knows no formats until they are registered; the email rule is the one
// Herald applies to recipients.
if (!FormatRegistry.Has('email')) {
  FormatRegistry.Set('email', (value) => value === value.trim() && normalizeEmail(value).ok);
}

/** The sender of an email vendor's messages: the address and, optionally, the name shown with it. */
export const senderSettings = {
  fromAddress: Type.String({ format: 'email', maxLength: 254 }),
  fromName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
};
