import { beforeAll, describe, expect, it } from 'vitest';
import { parseDsn } from '../../../src/pipeline/feedback/dsn.js';
import { EventAction, EventChannel } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { mailsTo, requestRecords, seedSinkDispatch, startDeliveryHarness } from '../../support/delivery.js';
import type { TestHerald } from '../../support/herald.js';
import { eventRows } from '../../support/ingest.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';
import { callbackCount, dsnFor, sendToBounceEndpoint, sentMessage, statusRows } from '../../support/status.js';

const ADVICE = {
  invalid_recipient: 'The address does not exist or is malformed: correct it and send again.',
  mailbox_unavailable: "The recipient's mailbox cannot take mail right now (full or disabled).",
  blocked_or_spam: 'The receiving side refused the message as spam or by policy',
} as const;

/** Each MTA's bounce, what Herald should read from it, and a phrase of the server's words. */
const SAMPLES = [
  ['postfix.eml', 'invalid_recipient', '550', 'Recipient address rejected: User unknown in virtual mailbox table'],
  ['exim.eml', 'mailbox_unavailable', '552', 'Mailbox full, quota exceeded'],
  ['sendmail.eml', 'invalid_recipient', '550', '... User unknown'],
  ['office365.eml', 'invalid_recipient', '550', '5.1.10 RESOLVER.ADR.RecipientNotFound'],
  ['exchange-2007-text.eml', 'invalid_recipient', '550', 'RESOLVER.ADR.RecipNotFound; not found'],
  ['gmail.eml', 'blocked_or_spam', '550', 'likely unsolicited mail. To reduce the amount of spam sent to Gmail'],
] as const;

let counter = 0;

describe.each(databaseKinds())('SMTP bounces on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  let bouncePort: number;
  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind, { env: { HERALD_BOUNCE_SMTP_PORT: '0' } }));
    bouncePort = herald.bouncePort!;
  });

  /** An email Herald sent to `address` through the sink, with the raw mail the sink received. */
  async function sentMail(address: string) {
    counter += 1;
    const { account, apiKey } = await seedAccount(herald.database);
    const dispatch = await seedSinkDispatch(herald.database, account.id, sink);
    const { invitations } = await requestRecords(herald, account.id, apiKey, dispatch.dispatchId, [
      [
        { questionId: dispatch.q.uuid, input: `bounce-${counter}` },
        { questionId: dispatch.q.email, input: address },
      ],
    ]);
    const invitationId = invitations[0]!.id;
    const message = await sentMessage(herald.database, invitationId);
    const mail = await waitFor(() => mailsTo(sink, address)[0], 10_000, { description: `the mail to ${address}` });
    expect(mail.raw).toMatch(/^X-Herald-Message-Id: [0-9a-f-]{36}\r?$/im);
    return { invitationId, message, raw: mail.raw };
  }

  it.each(SAMPLES)(
    '%s: matched to its message and applied as Bounced (%s, %s)',
    async (fixture, category, code, words) => {
      const address = `${fixture.split('.')[0]}-${kind}@bounces.example.com`;
      const sent = await sentMail(address);
      const dsn = dsnFor(fixture, {
        recipient: address,
        originalRaw: sent.raw,
        dsnId: `${fixture}-${kind}-${counter}`,
      });
      // The endpoint answers the DATA command once the bounce is applied.
      await sendToBounceEndpoint(bouncePort, dsn);

      const [message] = await statusRows(herald.database, sent.invitationId);
      expect(message).toMatchObject({ status: 'bounced', error_category: category, error_code: code });
      expect(message!.error_message).toContain(ADVICE[category]);
      expect(message!.error_message).toContain(words);
      expect(new Date(message!.status_updated_at).getTime()).toBeGreaterThan(
        new Date(sent.message.status_updated_at).getTime(),
      );
      const bounced = (await eventRows(herald.database, [sent.invitationId])).filter(
        (e) => e.action === EventAction.Bounced,
      );
      expect(bounced).toEqual([
        expect.objectContaining({
          channel: EventChannel.Email,
          level: 'Error',
          message: message!.error_message,
          target_id: sent.message.vendor_message_id,
        }),
      ]);
    },
  );

  it('applies a bounce received twice once', async () => {
    const address = `twice-${kind}@bounces.example.com`;
    const sent = await sentMail(address);
    const dsn = dsnFor('postfix.eml', { recipient: address, originalRaw: sent.raw, dsnId: `twice-${kind}` });
    await sendToBounceEndpoint(bouncePort, dsn);
    const [first] = await statusRows(herald.database, sent.invitationId);
    await sendToBounceEndpoint(bouncePort, dsn);
    expect((await statusRows(herald.database, sent.invitationId))[0]).toEqual(first);
    expect(first).toMatchObject({ status: 'bounced' });
    const actions = (await eventRows(herald.database, [sent.invitationId])).map((e) => e.action);
    expect(actions.filter((a) => a === EventAction.Bounced)).toHaveLength(1);
    expect(await callbackCount(herald.database, sent.message.vendor_id!)).toBe(1);
  });

  it('accepts and ignores delays, auto-replies, other mail and bounces of an earlier attempt', async () => {
    const address = `ignored-${kind}@bounces.example.com`;
    const sent = await sentMail(address);
    const values = { recipient: address, originalRaw: sent.raw };
    await sendToBounceEndpoint(bouncePort, dsnFor('delayed.eml', { ...values, dsnId: `delayed-${kind}` }));
    await sendToBounceEndpoint(bouncePort, dsnFor('auto-reply.eml', { ...values, dsnId: `ooo-${kind}` }));
    await sendToBounceEndpoint(
      bouncePort,
      'From: someone@example.com\r\nTo: bounces@herald.test\r\nSubject: hello\r\n\r\nJust saying hello.\r\n',
    );
    // A bounce of this message, but of a send whose Message-ID is not the one Herald recorded.
    const earlier = sent.raw.replace(/^Message-ID: <[^>]+>/im, 'Message-ID: <an-earlier-attempt@herald.test>');
    await sendToBounceEndpoint(
      bouncePort,
      dsnFor('postfix.eml', { recipient: address, originalRaw: earlier, dsnId: `earlier-${kind}` }),
    );
    expect((await statusRows(herald.database, sent.invitationId))[0]).toMatchObject({
      status: 'sent',
      error_category: null,
    });
    const actions = (await eventRows(herald.database, [sent.invitationId])).map((e) => e.action);
    expect(actions).not.toContain(EventAction.Bounced);
  });
});

describe('reading delivery status notifications', () => {
  const original = [
    'From: surveys@herald.test',
    'To: ann@example.com',
    'Subject: We would value your feedback',
    'Message-ID: <0f1e2d3c@herald.test>',
    'X-Herald-Message-Id: 11111111-2222-4333-8444-555555555555',
    '',
    'Hello Ann',
    '',
  ].join('\n');
  const read = (fixture: string) =>
    parseDsn(dsnFor(fixture, { recipient: 'ann@example.com', originalRaw: original, dsnId: 'dsn-1' }));

  it.each([
    ['postfix.eml', '5.1.1', '550', true],
    ['exim.eml', '5.2.2', '552', false],
    ['sendmail.eml', '5.1.1', '550', true],
    ['office365.eml', '5.1.10', '550', true],
    ['exchange-2007-text.eml', '5.1.1', '550', false],
    ['gmail.eml', '5.7.1', '550', true],
  ] as const)(
    '%s: recipient, status, reply code, diagnostic and the original ids',
    async (fixture, status, code, rfc3464) => {
      const dsn = await read(fixture);
      expect(dsn).toMatchObject({
        recipient: 'ann@example.com',
        status,
        smtpCode: code,
        permanent: true,
        originalMessageId: '<0f1e2d3c@herald.test>',
        // Exchange 2007's text quotes only some of the original headers.
        heraldMessageId: fixture === 'exchange-2007-text.eml' ? null : '11111111-2222-4333-8444-555555555555',
      });
      expect(dsn?.id).toMatch(/^<dsn-1@/);
      expect(dsn?.diagnostic).toMatch(new RegExp(`^#?${code}[ -]`));
      if (rfc3464) expect(dsn?.action).toBe('failed');
    },
  );

  it('joins a multi-line reply into one diagnostic', async () => {
    expect((await read('gmail.eml'))?.diagnostic).toBe(
      '550-5.7.1 [192.0.2.10] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. https://support.google.com/mail/?p=UnsolicitedMessageError z1si.123 - gsmtp',
    );
  });

  it('tells a delay from a bounce, and an auto-reply from both', async () => {
    expect(await read('delayed.eml')).toMatchObject({ action: 'delayed', status: '4.4.1', permanent: false });
    expect(await read('auto-reply.eml')).toBeNull();
  });
});
