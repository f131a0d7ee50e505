import { EGRESS_REFUSED } from '../../network/egress-guard.js';
import { redactAddresses } from '../support/redact.js';
import { refusal, type SendOutcome } from '../vendor.js';

const NETWORK_CODES = new Set([
  'ECONNECTION',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * Translates what nodemailer reports into Herald's categories. SMTP reply codes: 4xx are
 * temporary (retried), 5xx permanent; the enhanced status (e.g. 5.1.1, 5.7.1) and the text say why.
 */
export function translateSmtpError(error: unknown): Extract<SendOutcome, { ok: false }> {
  const e = (error ?? {}) as SmtpError;
  const reply = e.responseCode;
  const text = (e.response ?? e.message ?? String(error)).slice(0, 1000);
  // Servers quote the recipient they refused ("550 5.1.1 <ann@example.com>: unknown"): the detail
  // is stored and shown, so addresses are taken out of it.
  const detail = redactAddresses(text);
  const code = reply ? String(reply) : (e.code ?? null);
  const lower = text.toLowerCase();
  // No reply code means the conversation broke (network, TLS): worth another try unless TLS or auth.
  const temporary = reply === undefined || (reply >= 400 && reply < 500);
  if (e.code === EGRESS_REFUSED)
    return refusal('auth_or_config', code, `The SMTP server's address is refused: ${text}`, false);
  if (e.code === 'EAUTH' || reply === 530 || reply === 535 || reply === 534)
    return refusal('auth_or_config', code, detail, false);
  // nodemailer reports a failed TLS handshake as a socket error: OpenSSL's words say it was TLS.
  if (
    e.code === 'ETLS' ||
    /certificate|self[- ]signed|tls/i.test(e.code ?? '') ||
    /certificate|ssl routines/.test(lower)
  ) {
    return refusal('auth_or_config', code, detail, false);
  }
  if (!reply) {
    return refusal(e.code && NETWORK_CODES.has(e.code) ? 'network' : 'vendor_unavailable', code, detail, temporary);
  }
  if (reply >= 400 && reply < 500) {
    // "rate" as a word's start: "operated" or "generated" in a reply says nothing of a rate limit.
    if (/\brate|too many|throttl|slow down/.test(lower)) {
      return refusal('rate_limited', code, detail, temporary);
    }
    if (reply === 450 || reply === 452) return refusal('mailbox_unavailable', code, detail, temporary);
    return refusal('vendor_unavailable', code, detail, temporary);
  }
  if (/5\.7\.\d|spam|blocked|blacklist|blocklist|reputation|policy/.test(lower))
    return refusal('blocked_or_spam', code, detail, temporary);
  if (
    /5\.1\.\d|user unknown|no such user|does not exist|recipient.*(invalid|unknown|rejected)|unknown user/.test(
      lower,
    ) ||
    reply === 551 ||
    reply === 553
  ) {
    return refusal('invalid_recipient', code, detail, temporary);
  }
  if (/5\.2\.\d|mailbox (full|unavailable|disabled)|quota/.test(lower))
    return refusal('mailbox_unavailable', code, detail, temporary);
  if (/5\.6\.\d|content|message (too large|size)|5\.3\.4/.test(lower))
    return refusal('content_rejected', code, detail, temporary);
  // 552 alone means a full mailbox; with 5.3.4 (message too big) it was the content, read above.
  if (reply === 552) return refusal('mailbox_unavailable', code, detail, temporary);
  if (reply === 550) return refusal('invalid_recipient', code, detail, temporary);
  return refusal('unknown', code, detail, temporary);
}
