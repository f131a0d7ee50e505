import { createHash, createHmac } from 'node:crypto';
import { safeEqual } from '../support/callback-parts.js';

const ALGORITHMS: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
/** Seconds of clock difference allowed on nbf and exp, as MessageBird's own SDKs allow. */
const CLOCK_TOLERANCE_S = 5;

interface Claims {
  iss?: unknown;
  nbf?: unknown;
  exp?: unknown;
  jti?: unknown;
  url_hash?: unknown;
  payload_hash?: unknown;
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function decodeSegment(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

/**
 * Checks a `MessageBird-Signature-JWT` header: a JWT signed (HS256, HS384 or HS512) with the
 * account's signing key, issued by `MessageBird`, within its `nbf`…`exp` window, whose `url_hash`
 * is the SHA-256 of the full URL called and whose `payload_hash` is the SHA-256 of the body (absent
 * only when the body is empty). https://developers.messagebird.com/docs/verify-http-requests
 *
 * @example
 * verifyMessageBirdJwt(header, 'https://herald.example/hooks/v1?id=…&status=delivered', '', signingKey)
 */
export function verifyMessageBirdJwt(
  token: string,
  url: string,
  body: string,
  signingKey: string,
  nowSeconds = Date.now() / 1000,
): boolean {
  const [header, payload, signature, extra] = token.split('.');
  if (!header || !payload || !signature || extra !== undefined) return false;
  let alg: unknown;
  let claims: Claims;
  try {
    alg = (decodeSegment(header) as { alg?: unknown }).alg;
    claims = decodeSegment(payload) as Claims;
  } catch {
    return false;
  }
  const hash = typeof alg === 'string' ? ALGORITHMS[alg] : undefined;
  if (!hash || typeof claims !== 'object' || claims === null) return false;
  const expected = createHmac(hash, signingKey).update(`${header}.${payload}`).digest('base64url');
  if (!safeEqual(expected, signature)) return false;

  if (claims.iss !== 'MessageBird' || typeof claims.jti !== 'string' || !claims.jti) return false;
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds - CLOCK_TOLERANCE_S) return false;
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > nowSeconds + CLOCK_TOLERANCE_S))
    return false;
  if (typeof claims.url_hash !== 'string' || claims.url_hash.toLowerCase() !== sha256Hex(url)) return false;
  if (claims.payload_hash !== undefined)
    return typeof claims.payload_hash === 'string' && claims.payload_hash.toLowerCase() === sha256Hex(body);
  return body.length === 0;
}
