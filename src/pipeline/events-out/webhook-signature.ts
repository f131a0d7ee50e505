import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The headers Herald sends with every webhook delivery. */
export const WebhookHeaders = {
  eventId: 'herald-event-id',
  timestamp: 'herald-timestamp',
  signature: 'herald-signature',
} as const;

/** How far a receiver should accept a timestamp from its own clock, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A new signing secret: shown once to the caller, stored only sealed. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function hmacHex(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * The Herald-Signature header: the Unix timestamp and one `v1` HMAC-SHA256 (hex) of
 * `"<timestamp>.<body>"` per secret — two during a rotation's overlap, so a receiver holding
 * either secret can verify. Signing the timestamp makes a captured request useless later.
 *
 * @example signWebhook('{"id":"…"}', ['whsec_new', 'whsec_old'], 1718000000)
 * // 't=1718000000,v1=5f1c…,v1=a09e…'
 */
export function signWebhook(body: string, secrets: readonly string[], timestamp: number): string {
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${hmacHex(secret, timestamp, body)}`)].join(',');
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * What a receiver does with a delivery: parse the header, refuse a timestamp outside the
 * tolerance (a replay), and accept when any `v1` matches the HMAC under `secret`.
 *
 * @example verifyWebhookSignature(request.headers['herald-signature'], rawBody, 'whsec_…')
 */
export function verifyWebhookSignature(
  header: string | undefined,
  body: string,
  secret: string,
  options: { toleranceSeconds?: number; now?: Date } = {},
): SignatureCheck {
  if (!header) return { ok: false, reason: 'no Herald-Signature header' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d+$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value) signatures.push(value);
  }
  if (timestamp === undefined) return { ok: false, reason: 'the signature has no timestamp' };
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    return { ok: false, reason: 'the timestamp is outside the tolerance (a replay, or a clock far off)' };
  }
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  const matches = signatures.some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'no v1 signature matches the secret' };
}
