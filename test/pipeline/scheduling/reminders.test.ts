import { beforeAll, describe, expect, it } from 'vitest';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import {
  api,
  deliveryCaughtUp,
  mailsTo,
  messageOf,
  messageRows,
  MINUTE,
  oneClickUrlOf,
  requestRecords,
  seedSinkDispatch,
  surveyTokenOf,
  TestClock,
  waitForMessage,
  startDeliveryHarness,
} from '../../support/delivery.js';
import type { TestHerald } from '../../support/herald.js';
import { eventRows, invitationRows } from '../../support/ingest.js';
import type { SeededDispatch } from '../../support/platform.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';

const SUBJECTS = ['Tell us how we did', 'Reminder: tell us how we did', 'Last reminder: tell us how we did'];

describe.each(databaseKinds())('reminders on %s', (kind) => {
  const clock = new TestClock('2026-11-24T08:00:00.000Z');
  let herald: TestHerald;
  let sink: SmtpSink;
  let accountId: string;
  let apiKey: string;
  let control: SeededDispatch;
  let dispatch: SeededDispatch;

  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind, { clock }));
    const seeded = await seedAccount(herald.database);
    accountId = seeded.account.id;
    apiKey = seeded.apiKey;
    control = await seedSinkDispatch(herald.database, accountId, sink);
    dispatch = await seedSinkDispatch(herald.database, accountId, sink);
    const templateIds: string[] = [];
    for (const [index, subject] of SUBJECTS.entries()) {
      const created = await api<{ id: string }>(
        herald,
        apiKey,
        'POST',
        '/api/templates',
        {
          name: `Step ${index}`,
          channel: 'email',
          variants: [
            {
              language: 'en',
              subject,
              text: `${subject}, {{prefills.Name}}: {{surveyLink}}\nStop: {{unsubscribeLink}}`,
            },
          ],
        },
        201,
      );
      templateIds.push(created.body.id);
    }
    const [initial, ...reminders] = templateIds;
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/dispatches/${dispatch.dispatchId}`,
      { templates: { email: { initial, reminders } } },
      200,
    );
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${dispatch.policyId}`,
      { reminders: [{ afterMinutes: 60 }, { afterMinutes: 120 }] },
      200,
    );
  });

  const caughtUp = () => deliveryCaughtUp(herald, accountId, apiKey, control, sink);
  let uuidCount = 0;

  /** Sends one record to the reminding dispatch; resolves once its first message is sent and received. */
  async function invite(address: string, name: string) {
    uuidCount += 1;
    const { invitations } = await requestRecords(herald, accountId, apiKey, dispatch.dispatchId, [
      [
        { questionId: dispatch.q.uuid, input: `reminded-${kind}-${uuidCount}` },
        { questionId: dispatch.q.email, input: address },
        { questionId: dispatch.q.name, input: name },
      ],
    ]);
    const invitationId = invitations[0]!.id;
    const first = await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent');
    const mail = await waitFor(() => mailsTo(sink, address)[0], 10_000, { description: `mail to ${address}` });
    return { invitationId, first, mail };
  }

  it('sends reminder 1 then reminder 2 as the clock advances, each with its own template', async () => {
    const address = `alice@reminders-${kind}.test`;
    const start = clock.now().getTime();
    const { invitationId, first, mail } = await invite(address, 'Alice');
    expect(mail.mail.subject).toBe(SUBJECTS[0]);
    expect(mail.mail.text).toContain(`${SUBJECTS[0]}, Alice: http://`);
    expect(first.sent_at).toBe(new Date(start).toISOString());
    const reminder1 = await waitForMessage(herald.database, invitationId, () => true, { level: 1 });
    expect(reminder1).toMatchObject({ status: 'scheduled', due_at: new Date(start + 60 * MINUTE).toISOString() });
    expect(await messageOf(herald.database, invitationId, 2)).toBeUndefined();

    // A minute early: not yet.
    clock.set(new Date(start + 59 * MINUTE));
    await caughtUp();
    expect(mailsTo(sink, address)).toHaveLength(1);

    const at1 = start + 60 * MINUTE + 1000;
    clock.set(new Date(at1));
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent', { level: 1 });
    expect(mailsTo(sink, address).map((m) => m.mail.subject)).toEqual(SUBJECTS.slice(0, 2));
    // Reminder 2 is counted from reminder 1, not from the first message.
    const reminder2 = await waitForMessage(herald.database, invitationId, () => true, { level: 2 });
    expect(reminder2).toMatchObject({ status: 'scheduled', due_at: new Date(at1 + 120 * MINUTE).toISOString() });

    clock.set(new Date(at1 + 119 * MINUTE));
    await caughtUp();
    expect(mailsTo(sink, address)).toHaveLength(2);

    clock.set(new Date(at1 + 120 * MINUTE + 1000));
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent', { level: 2 });
    const mails = mailsTo(sink, address);
    expect(mails.map((m) => m.mail.subject)).toEqual(SUBJECTS);
    // Every reminder carries the same personal links.
    expect(new Set(mails.map(surveyTokenOf)).size).toBe(1);

    // Two reminders configured: no third, however long the survey stays unanswered.
    clock.advance(24 * 60 * MINUTE);
    await caughtUp();
    expect(mailsTo(sink, address)).toHaveLength(3);
    expect((await messageRows(herald.database, [invitationId])).map((m) => [m.reminder_level, m.status])).toEqual([
      [0, 'sent'],
      [1, 'sent'],
      [2, 'sent'],
    ]);
  });

  it('a completed survey response cancels the pending reminders', async () => {
    const address = `bob@reminders-${kind}.test`;
    const start = clock.now().getTime();
    const { invitationId, mail } = await invite(address, 'Bob');
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'scheduled', { level: 1 });

    const answer = await api<{ cancelledReminders: number; completedAt: string | null }>(
      herald,
      apiKey,
      'POST',
      '/api/responses',
      { token: surveyTokenOf(mail), completed: true },
      200,
    );
    expect(answer.body.cancelledReminders).toBe(1);
    expect(answer.body.completedAt).not.toBeNull();
    expect(await messageOf(herald.database, invitationId, 1)).toMatchObject({ status: 'cancelled', attempts: 0 });

    clock.set(new Date(start + 4 * 60 * MINUTE));
    await caughtUp();
    expect(mailsTo(sink, address)).toHaveLength(1);
    expect((await messageRows(herald.database, [invitationId])).map((m) => [m.reminder_level, m.status])).toEqual([
      [0, 'sent'],
      [1, 'cancelled'],
    ]);
    const actions = (await eventRows(herald.database, [invitationId])).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining([EventAction.Answered, EventAction.Completed]));
  });

  it('a response recorded before the reminder exists still stops it: answered state is checked at send time', async () => {
    // A dispatch whose first message waits for Monday's window, so the survey is answered before it goes.
    const windowed = await seedSinkDispatch(herald.database, accountId, sink);
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${windowed.policyId}`,
      {
        reminders: [{ afterMinutes: 60 }],
        sendWindow: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', timezone: 'UTC', recipientTimezone: false },
      },
      200,
    );
    clock.set('2026-11-28T12:00:00.000Z'); // a Saturday
    const address = `dave@reminders-${kind}.test`;
    const { invitations } = await requestRecords(herald, accountId, apiKey, windowed.dispatchId, [
      [
        { questionId: windowed.q.uuid, input: `dave-${kind}` },
        { questionId: windowed.q.email, input: address },
      ],
    ]);
    const invitationId = invitations[0]!.id;
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'scheduled');
    const token = (await invitationRows(herald.database, accountId, invitations[0]!.batch_id))[0]?.token;
    expect(token).toBeTruthy();
    const answer = await api<{ cancelledReminders: number }>(
      herald,
      apiKey,
      'POST',
      '/api/responses',
      { token, completed: false },
      200,
    );
    expect(answer.body.cancelledReminders).toBe(0);

    clock.set('2026-11-30T09:00:01.000Z');
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent');
    const reminder = await waitForMessage(herald.database, invitationId, () => true, { level: 1 });
    expect(reminder.due_at).toBe('2026-11-30T10:00:01.000Z');
    clock.set('2026-11-30T10:00:02.000Z');
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'cancelled', { level: 1 });
    expect(mailsTo(sink, address)).toHaveLength(1);
    const events = await eventRows(herald.database, [invitationId]);
    expect(events.filter((e) => e.action === EventAction.Suppressed).map((e) => e.message)).toEqual([
      'Not sent: The survey has been answered',
    ]);
  });

  it('a one-click unsubscribe cancels the pending reminders, and the address is suppressed afterwards', async () => {
    const address = `carol@reminders-${kind}.test`;
    const start = clock.now().getTime();
    const { invitationId, mail } = await invite(address, 'Carol');
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'scheduled', { level: 1 });

    const oneClick = await fetch(oneClickUrlOf(mail), {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(oneClick.status).toBe(200);
    expect(await messageOf(herald.database, invitationId, 1)).toMatchObject({ status: 'cancelled', attempts: 0 });

    clock.set(new Date(start + 4 * 60 * MINUTE));
    await caughtUp();
    expect(mailsTo(sink, address)).toHaveLength(1);

    // A new request for the same address (another UUID) is suppressed at once and never sent.
    const again = await requestRecords(herald, accountId, apiKey, dispatch.dispatchId, [
      [
        { questionId: dispatch.q.uuid, input: `carol-again-${kind}` },
        { questionId: dispatch.q.email, input: address },
      ],
    ]);
    expect(again.answer.statusByDispatch[0]).toMatchObject({ dispatchStatus: 400 });
    const [suppressed] = await invitationRows(herald.database, accountId, again.batchId);
    expect(suppressed?.state).toBe('suppressed');
    const events = await eventRows(herald.database, [suppressed!.id]);
    expect(events.map((e) => [e.action, e.message])).toEqual([
      [EventAction.Suppressed, 'Suppressed: the recipient has unsubscribed'],
    ]);
    await caughtUp();
    expect(mailsTo(sink, address)).toHaveLength(1);
    expect(await messageRows(herald.database, [suppressed!.id])).toEqual([]);
  });
});
