import { createHash, createHmac } from 'node:crypto';
import { safeEqual } from '../support/callback-parts.js';

/**
 * The `X-Twilio-Signature` of a request: base64 of HMAC-SHA1 with the auth token over the full URL
 * followed by each POST parameter, sorted by name, as name + value (a repeated name's values sorted
 * too). https://www.twilio.com/docs/usage/security#validating-requests
 *
 * @example
 * twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2',
 *   new URLSearchParams('CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212'))
 * // '0/KCTR6DLpKmkAf8muzZqo1nDgQ='
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  let data = url;
  for (const name of [...new Set(params.keys())].sort())
    for (const value of [...new Set(params.getAll(name))].sort()) data += name + value;
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * The URL as Twilio may have signed it: Twilio's signing is inconsistent about default ports, so its
 * own libraries accept the URL with and without one.
 */
function urlVariants(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const variants = new Set([url, parsed.toString()]);
  const withoutPort = new URL(parsed);
  withoutPort.port = '';
  variants.add(withoutPort.toString());
  if (!parsed.port) {
    const port = parsed.protocol === 'https:' ? '443' : '80';
    variants.add(
      `${parsed.protocol}//${parsed.username}${parsed.password ? `:${parsed.password}` : ''}${parsed.username || parsed.password ? '@' : ''}${parsed.host}:${port}${parsed.pathname}${parsed.search}${parsed.hash}`,
    );
  }
  return [...variants];
}

/**
 * Whether `signature` is Twilio's for this request. A form body is signed as parameters; a JSON
 * body (a URL with `bodySHA256`) is signed as the URL alone and checked against its hash.
 */
export function isTwilioSignatureValid(authToken: string, signature: string, url: string, rawBody: string): boolean {
  let bodyHash: string | null = null;
  try {
    bodyHash = new URL(url).searchParams.get('bodySHA256');
  } catch {
    bodyHash = null;
  }
  const params = bodyHash === null ? new URLSearchParams(rawBody) : new URLSearchParams();
  const signed = urlVariants(url).some((variant) => safeEqual(twilioSignature(authToken, variant, params), signature));
  if (!signed) return false;
  return bodyHash === null || safeEqual(createHash('sha256').update(rawBody, 'utf8').digest('hex'), bodyHash);
}
