/** Phone-number-like runs of 7 or more digits (with +, spaces, dots, dashes or brackets between). */
const NUMBER = /\+?\(?\d(?:[\s().-]{0,2}\d){6,}/g;
const ADDRESS = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+\.[^\s@<>"'(),;:]+/g;

/**
 * A vendor's words with phone numbers and email addresses taken out, so error details (stored and
 * shown to people, sometimes logged) never carry a recipient. Vendors echo the number they refused.
 *
 * @example
 * redact("The 'To' number +15005550001 is not a valid phone number.")
 * // "The 'To' number [number] is not a valid phone number."
 */
export function redact(text: string, maxLength = 500): string {
  const cleaned = text.replace(ADDRESS, '[address]').replace(NUMBER, '[number]');
  return cleaned.length > maxLength ? `${cleaned.slice(0, maxLength)}…` : cleaned;
}
