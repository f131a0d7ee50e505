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

/**
 * What an answer that is not the vendor's documented error shape says, without its body: the body
 * of an unknown answer (an HTML error page, or whatever a wrong URL reached) is never stored or
 * shown, only its status, type and size.
 *
 * @example
 * answerSummary('Twilio', { status: 502, headers: new Headers({ 'content-type': 'text/html' }), text: '<html>…' })
 * // "Twilio answered HTTP 502 (text/html, 6 bytes)"
 */
export function answerSummary(vendor: string, answer: { status: number; headers: Headers; text: string }): string {
  const type = (answer.headers.get('content-type') ?? 'no content type').split(';')[0]!.trim().slice(0, 60);
  const size = Buffer.byteLength(answer.text);
  return `${vendor} answered HTTP ${answer.status} (${redact(type, 60)}, ${size} bytes)`;
}

/**
 * Email addresses taken out of a mail server's words, which quote the recipient. Digits stay: SMTP
 * replies are full of reply codes and enhanced statuses ("550 5.1.10") that read like numbers.
 *
 * @example redactAddresses('550 5.1.1 <ann@example.com>: unknown') // '550 5.1.1 <[address]>: unknown'
 */
export function redactAddresses(text: string, maxLength = 1000): string {
  const cleaned = text.replace(ADDRESS, '[address]');
  return cleaned.length > maxLength ? `${cleaned.slice(0, maxLength)}…` : cleaned;
}
