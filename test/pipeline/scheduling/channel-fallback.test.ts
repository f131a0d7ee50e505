import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventAction, EventChannel } from '../../../src/timeline/event-numbers.js';
import type { Channel } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import {
  api,
  mailsTo,
  requestRecords,
  seedSinkDispatch,
  SinkRules,
  waitForMessage,
  startDeliveryHarness,
} from '../../support/delivery.js';
import type { TestHerald } from '../../support/herald.js';
import { eventRows, invitationRows } from '../../support/ingest.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';
import {
  createSmsVendor,
  dsnFor,
  postCallback,
  registerTestSmsKind,
  routeDispatch,
  sendToBounceEndpoint,
  sentMessage,
  smsOutbox,
  statusEvent,
  statusRows,
} from '../../support/status.js';

registerTestSmsKind();

const sha512 = (value: string) => `sha512:${createHash('sha512').update(value.toLowerCase()).digest('hex')}`;

let counter = 0;
const nextMobile = () => `+4479112${String(counter).padStart(5, '0')}`;

describe.each(databaseKinds())('channel fallback on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  const rules = new SinkRules();
  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind, { rule: rules.rule, env: { HERALD_BOUNCE_SMTP_PORT: '0' } }));
  });

  /** An account whose dispatch goes by `channels` (email through the sink, SMS through the test vendor). */
  async function setup(channels: Channel[], options: { fallback: boolean; smsVendor?: boolean }) {
    const { account, apiKey } = await seedAccount(herald.database);
    const signingKey = `fallback-key-${account.id}`;
    const smsVendorId = await createSmsVendor(herald, apiKey, signingKey);
    const seeded = await seedSinkDispatch(herald.database, account.id, sink);
    await routeDispatch(
      herald.database,
      seeded,
      { email: seeded.vendorId, ...(options.smsVendor !== false && { sms: smsVendorId }) },
      { channels, channelFallback: options.fallback },
    );
    const send = async (records: { email?: string; mobile?: string }[]) => {
      const { invitations, answer } = await requestRecords(
        herald,
        account.id,
        apiKey,
        seeded.dispatchId,
        records.map((r) => {
          counter += 1;
          return [
            { questionId: seeded.q.uuid, input: `fallback-${counter}` },
            ...(r.email !== undefined ? [{ questionId: seeded.q.email, input: r.email }] : []),
            ...(r.mobile !== undefined ? [{ questionId: seeded.q.mobile, input: r.mobile }] : []),
          ];
        }),
      );
      return { invitations, status: answer.statusByDispatch[0] };
    };
    return { account, apiKey, seeded, smsVendorId, signingKey, send };
  }

  const smsTo = (number: string) => smsOutbox.filter((s) => s.to === number);

  /** Waits until the invitation's messages are, in order, on these channels in these statuses. */
  const waitForChannels = (invitationId: string, expected: [string, string][]) =>
    waitFor(
      async () =>
        JSON.stringify((await statusRows(herald.database, invitationId)).map((m) => [m.channel, m.status])) ===
        JSON.stringify(expected),
      20_000,
      { description: `messages ${JSON.stringify(expected)}` },
    );

  describe('at ingest', () => {
    it('takes a record without a usable primary address by the next channel that has one', async () => {
      const ctx = await setup(['email', 'sms'], { fallback: true });
      counter += 1;
      const mobile = nextMobile();
      const { invitations, status } = await ctx.send([
        { email: 'not-an-address', mobile },
        { mobile: `${mobile.slice(0, -1)}9` },
        { email: 'nor-this', mobile: '12' },
        { email: `ok-${kind}-${counter}@fallback.example.com`, mobile },
      ]);
      expect(status).toMatchObject({ dispatchStatus: 206 });
      const [invalidEmail, noEmail, nothingUsable, both] = invitations;
      // Accepted (its token may be created already).
      const accepted: unknown = expect.stringMatching(/^(requested|token_created)$/);
      expect(invalidEmail).toMatchObject({ state: accepted, channel: 'sms', target: sha512(mobile) });
      // The unusable email address is not kept.
      expect(invalidEmail!.prefills.map((p) => p.questionId)).not.toContain(ctx.seeded.q.email);
      expect(noEmail).toMatchObject({ state: accepted, channel: 'sms' });
      expect(nothingUsable).toMatchObject({ state: 'rejected', channel: 'email' });
      expect(both).toMatchObject({ state: accepted, channel: 'email' });
      const rejected = (await eventRows(herald.database, [nothingUsable!.id]))[0];
      expect(rejected?.message).toBe('Failed due to invalid Email or mobile number');

      await waitForMessage(herald.database, invalidEmail!.id, (m) => m.status === 'sent');
      expect(smsTo(mobile)).toHaveLength(1);
      expect(smsTo(mobile)[0]!.text).toMatch(/\/s\/[\w-]+/);
    });

    it('rejects such a record as before when the policy does not allow fallback, or the next channel has no vendor', async () => {
      for (const options of [{ fallback: false }, { fallback: true, smsVendor: false }]) {
        const ctx = await setup(['email', 'sms'], options);
        counter += 1;
        const { invitations } = await ctx.send([{ email: 'not-an-address', mobile: nextMobile() }]);
        expect(invitations[0], JSON.stringify(options)).toMatchObject({ state: 'rejected', channel: 'email' });
      }
    });
  });

  describe('after a permanent failure', () => {
    it('sends by the next channel when the email is refused for good', async () => {
      const ctx = await setup(['email', 'sms'], { fallback: true });
      counter += 1;
      const email = `refused-${kind}-${counter}@fallback.example.com`;
      const mobile = nextMobile();
      rules.refuse(email, 550, '5.1.1 User unknown');
      const { invitations } = await ctx.send([{ email, mobile }]);
      const invitationId = invitations[0]!.id;

      await waitFor(async () =>
        (await statusRows(herald.database, invitationId)).find((m) => m.channel === 'sms' && m.status === 'sent'),
      );
      const [failed, fallback] = await statusRows(herald.database, invitationId);
      expect(failed).toMatchObject({ channel: 'email', status: 'error', reminder_level: 0 });
      expect(fallback).toMatchObject({ channel: 'sms', status: 'sent', reminder_level: 0, vendor_id: ctx.smsVendorId });
      expect(smsTo(mobile)).toHaveLength(1);
      expect((await invitationRows(herald.database, ctx.account.id))[0]).toMatchObject({
        channel: 'sms',
        target: sha512(mobile),
      });
      const note = (await eventRows(herald.database, [invitationId])).find(
        (e) => e.action === EventAction.Scheduled && e.channel === EventChannel.SMS,
      );
      expect(note?.message).toBe(
        'Channel fallback: the email message (reminder level 0) failed permanently; sending by sms instead',
      );
      // The email message belongs to a channel the invitation left: a person cannot retry it.
      const retry = await api<{ error: { details: { error_message: string } } }>(
        herald,
        ctx.apiKey,
        'POST',
        `/api/messages/${failed!.id}/retry`,
      );
      expect(retry.status).toBe(400);
      expect(retry.body.error.details.error_message).toMatch(/went on by sms/);
    });

    it('sends by the next channel after a bounce', async () => {
      const ctx = await setup(['email', 'sms'], { fallback: true });
      counter += 1;
      const email = `bounced-${kind}-${counter}@fallback.example.com`;
      const mobile = nextMobile();
      const { invitations } = await ctx.send([{ email, mobile }]);
      const invitationId = invitations[0]!.id;
      await sentMessage(herald.database, invitationId);
      const mail = await waitFor(() => mailsTo(sink, email)[0]);
      await sendToBounceEndpoint(
        herald.bouncePort!,
        dsnFor('exim.eml', { recipient: email, originalRaw: mail.raw, dsnId: `fallback-bounce-${kind}-${counter}` }),
      );
      await waitForChannels(invitationId, [
        ['email', 'bounced'],
        ['sms', 'sent'],
      ]);
      expect(smsTo(mobile)).toHaveLength(1);
      const note = (await eventRows(herald.database, [invitationId])).find(
        (e) => e.action === EventAction.Scheduled && e.channel === EventChannel.SMS,
      );
      expect(note?.message).toContain('the email message (reminder level 0) bounced');
    });

    it('sends by email after an SMS vendor reports a failure', async () => {
      const ctx = await setup(['sms', 'email'], { fallback: true });
      counter += 1;
      const email = `after-sms-${kind}-${counter}@fallback.example.com`;
      const { invitations } = await ctx.send([{ email, mobile: nextMobile() }]);
      const invitationId = invitations[0]!.id;
      const sms = await sentMessage(herald.database, invitationId);
      const answer = await postCallback(
        herald,
        ctx.smsVendorId,
        {
          statuses: [
            statusEvent('failed-1', sms.vendor_message_id!, 'failed', '2024-06-04T10:00:00Z', {
              category: 'invalid_recipient',
              detail: 'Unreachable destination handset',
            }),
          ],
        },
        { signingKey: ctx.signingKey },
      );
      expect(answer.body).toMatchObject({ applied: 1 });
      await waitForChannels(invitationId, [
        ['sms', 'error'],
        ['email', 'sent'],
      ]);
      expect(mailsTo(sink, email)).toHaveLength(1);
    });

    it('stays on its channel when the policy does not allow fallback', async () => {
      const ctx = await setup(['email', 'sms'], { fallback: false });
      counter += 1;
      const email = `no-fallback-${kind}-${counter}@fallback.example.com`;
      const mobile = nextMobile();
      rules.refuse(email, 550, '5.1.1 User unknown');
      const { invitations } = await ctx.send([{ email, mobile }]);
      await waitForMessage(herald.database, invitations[0]!.id, (m) => m.status === 'error');
      expect((await statusRows(herald.database, invitations[0]!.id)).map((m) => m.channel)).toEqual(['email']);
      expect((await invitationRows(herald.database, ctx.account.id))[0]).toMatchObject({ channel: 'email' });
      expect(smsTo(mobile)).toHaveLength(0);
    });
  });
});
