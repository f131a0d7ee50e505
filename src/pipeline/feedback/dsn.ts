import { createHash } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';

/** What a delivery status notification (a bounce) says about the one recipient it reports. */
export interface DeliveryStatusNotification {
  /** The notification's own Message-ID, or a hash of its bytes when it has none: applied once. */
  readonly id: string;
  /** The address that failed, as the reporting server wrote it. */
  readonly recipient: string | null;
  /** RFC 3464 Action: failed, delayed, delivered, relayed, expanded (null when not said). */
  readonly action: string | null;
  /** The enhanced status code (RFC 3463), e.g. "5.1.1". */
  readonly status: string | null;
  /** The SMTP reply code the diagnostic gives, e.g. "550". */
  readonly smtpCode: string | null;
  /** The receiving server's words, e.g. "550 5.1.1 <…>: Recipient address rejected: User unknown". */
  readonly diagnostic: string | null;
  /** The message failed for good (a 5.x.x status, or the server gave up): a bounce, not a delay. */
  readonly permanent: boolean;
  /** Herald's id of the original message (its X-Herald-Message-Id header), when quoted. */
  readonly heraldMessageId: string | null;
  /** The original message's Message-ID, when quoted. */
  readonly originalMessageId: string | null;
  readonly date: Date | null;
}

const STATUS_PARTS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED_PARTS = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers']);

// An enhanced status code, not part of an IP address or a version number.
const ENHANCED = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/;
// "550 5.1.1", "550-5.1.1", "#550 5.1.1" (Exchange).
const CODE_AND_ENHANCED = /(?<![\d.])#?([45]\d\d)[ -]#?([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)/;
const LEADING_CODE = /^\s*#?([45]\d\d)(?![\d.])/;
const BASIC_5XX = /(?<![\d.:])(5\d\d)[ -](?=\S)/;
const HERALD_ID = /^X-Herald-Message-Id:[ \t]*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/im;
const MESSAGE_ID = /^Message-ID:[ \t]*(<[^>\s]+>)/im;
const EMAIL = /[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+/;

/** From or subject of a bounce sent in one of the common non-standard formats. */
const BOUNCE_SENDER = /mailer-daemon|postmaster|mail delivery (?:subsystem|system)/i;
const BOUNCE_SUBJECT =
  /undeliver|delivery (?:status notification|failure|has failed|failed|problem)|returned mail|failure notice|non-?delivery|could not be delivered|mail delivery failed/i;
const PERMANENT_WORDS =
  /permanent (?:error|fatal error|failure)|could not be delivered|has failed to these recipients|does not exist|user unknown|unknown user|no such (?:user|mailbox)|recipient not found|address rejected/i;
const TEMPORARY_WORDS = /delayed|will (?:continue|retry|try again)|not yet been delivered|temporar(?:y|ily)/i;
const RECIPIENT_LEAD =
  /following address(?:\(es\)|es)? failed|failed to these recipients|following recipients?|permanent fatal errors|could not be delivered to/i;

/** RFC 822-style field blocks (RFC 3464's per-message and per-recipient groups), lower-cased names. */
function fieldGroups(text: string): Map<string, string>[] {
  const unfolded = text.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ');
  return unfolded
    .split(/\n[ \t]*\n/)
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const match = /^([A-Za-z][\w-]*)[ \t]*:[ \t]*(.*)$/.exec(line);
        if (match?.[1] && !fields.has(match[1].toLowerCase()))
          fields.set(match[1].toLowerCase(), (match[2] ?? '').trim());
      }
      return fields;
    })
    .filter((fields) => fields.size > 0);
}

/** "rfc822; ann@example.com" → "ann@example.com"; "smtp; 550 …" → "550 …". */
const withoutType = (value: string | undefined) => (value ? value.replace(/^[\w-]+[ \t]*;[ \t]*/, '').trim() : null);

/** A multi-line reply read as one: "550-5.7.1 Our system … 550-5.7.1 likely …" loses the repeated codes. */
const joinedReply = (diagnostic: string) => diagnostic.replace(/\s+#?[45]\d\d[ -]#?[245]\.\d{1,3}\.\d{1,3}\s+/g, ' ');

function permanentStatus(status: string | null, action: string | null): boolean {
  // "failed": the reporting server gave up for good, even after temporary refusals (4.4.7 expired).
  return status?.startsWith('5') === true || action === 'failed';
}

interface RecipientReport {
  recipient: string | null;
  action: string | null;
  status: string | null;
  smtpCode: string | null;
  diagnostic: string | null;
  permanent: boolean;
}

/** RFC 3464: the machine-readable part. The failed recipient wins over delayed or delivered ones. */
function fromStatusPart(text: string): RecipientReport | null {
  const recipients = fieldGroups(text).filter((g) => g.has('final-recipient') || g.has('action') || g.has('status'));
  const chosen =
    recipients.find((g) => g.get('action')?.toLowerCase() === 'failed') ??
    recipients.find((g) => g.get('status')?.startsWith('5')) ??
    recipients[0];
  if (!chosen) return null;
  const status = ENHANCED.exec(chosen.get('status') ?? '')?.[0] ?? null;
  const action = chosen.get('action')?.toLowerCase() ?? null;
  const given = withoutType(chosen.get('diagnostic-code'));
  const diagnostic = given && joinedReply(given);
  return {
    recipient: withoutType(chosen.get('final-recipient') ?? chosen.get('original-recipient')),
    action,
    status,
    smtpCode: (diagnostic && LEADING_CODE.exec(diagnostic)?.[1]) ?? null,
    diagnostic,
    permanent: permanentStatus(status, action),
  };
}

/** The line at `index` with the more-indented lines that continue it (wrapped diagnostics). */
function withContinuation(lines: readonly string[], index: number): string {
  const indent = (line: string) => /^\s*/.exec(line)?.[0].length ?? 0;
  const first = lines[index] ?? '';
  const parts = [first.trim()];
  for (let i = index + 1; i < lines.length && parts.length < 4; i += 1) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || indent(line) <= indent(first)) break;
    parts.push(line.trim());
  }
  return parts.join(' ');
}

/**
 * The common non-standard formats (older Exim, qmail, Exchange and Office 365 without a status
 * part): the human-readable text, read for the first SMTP reply it quotes and the failed address.
 */
function fromText(mail: ParsedMail, text: string): RecipientReport | null {
  const from = mail.from?.text ?? '';
  if (!BOUNCE_SENDER.test(from) && !BOUNCE_SUBJECT.test(mail.subject ?? '')) return null;
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const index = [CODE_AND_ENHANCED, ENHANCED, BASIC_5XX]
    .map((pattern) => lines.findIndex((line) => pattern.test(line)))
    .find((i) => i >= 0);
  const diagnostic = index === undefined ? null : withContinuation(lines, index);
  const both = diagnostic ? CODE_AND_ENHANCED.exec(diagnostic) : null;
  const status = both?.[2] ?? (diagnostic ? ENHANCED.exec(diagnostic)?.[0] : undefined) ?? null;
  const smtpCode = both?.[1] ?? (diagnostic ? BASIC_5XX.exec(diagnostic)?.[1] : undefined) ?? null;
  const temporary = TEMPORARY_WORDS.test(text);
  const permanent =
    status !== null
      ? status.startsWith('5')
      : smtpCode !== null
        ? smtpCode.startsWith('5')
        : PERMANENT_WORDS.test(text) && !temporary;
  if (!diagnostic && !permanent) return null;
  const lead = lines.findIndex((line) => RECIPIENT_LEAD.test(line));
  const near =
    lead >= 0 ? lines.slice(lead, lead + 5).find((line) => EMAIL.test(line.replace(RECIPIENT_LEAD, ''))) : undefined;
  const recipient = EMAIL.exec(near ?? diagnostic ?? '')?.[0] ?? null;
  return { recipient, action: permanent ? 'failed' : null, status, smtpCode, diagnostic, permanent };
}

/** The X-Herald-Message-Id and Message-ID of the original message, from what the bounce quotes of it. */
function originalIds(
  mail: ParsedMail,
  text: string,
): { heraldMessageId: string | null; originalMessageId: string | null } {
  const quoted = mail.attachments
    .filter((a) => RETURNED_PARTS.has(a.contentType.toLowerCase()))
    .map((a) => a.content.toString('utf8'));
  // The returned headers first; then the text, where Exim and Exchange copy them inline.
  const sources = [...quoted.map((q) => q.replace(/\r\n/g, '\n').split(/\n\n/)[0] ?? ''), ...quoted, text];
  const first = (pattern: RegExp) => {
    for (const source of sources) {
      const match = pattern.exec(source)?.[1];
      if (match) return match;
    }
    return null;
  };
  return { heraldMessageId: first(HERALD_ID)?.toLowerCase() ?? null, originalMessageId: first(MESSAGE_ID) };
}

/**
 * Reads a bounce: RFC 3464 (multipart/report with message/delivery-status: Postfix, Sendmail,
 * recent Exim, Exchange and Office 365, Gmail), or the common plain-text formats. Null when the
 * mail is no delivery status notification at all (an auto-reply, spam).
 */
export async function parseDsn(raw: Buffer | string): Promise<DeliveryStatusNotification | null> {
  const mail = await simpleParser(raw, { keepDeliveryStatus: true, skipImageLinks: true, skipTextLinks: true });
  const text = mail.text ?? '';
  const statusPart = mail.attachments.find((a) => STATUS_PARTS.has(a.contentType.toLowerCase()));
  const report = (statusPart && fromStatusPart(statusPart.content.toString('utf8'))) ?? fromText(mail, text);
  if (!report) return null;
  const id =
    mail.messageId ??
    `sha256:${createHash('sha256')
      .update(typeof raw === 'string' ? raw : raw)
      .digest('hex')}`;
  return { id, ...report, ...originalIds(mail, text), date: mail.date ?? null };
}
