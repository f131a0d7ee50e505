import { beforeAll, describe, expect, it } from 'vitest';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import {
  api,
  deliveryCaughtUp,
  mailsTo,
  messageOf,
  requestRecords,
  seedSinkDispatch,
  TestClock,
  waitForMessage,
  startDeliveryHarness,
} from '../../support/delivery.js';
import type { TestHerald } from '../../support/herald.js';
import { eventRows } from '../../support/ingest.js';
import type { SeededDispatch } from '../../support/platform.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';

const WEEKDAYS_9_TO_5 = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', timezone: 'UTC' };
// 2026-11-21 is a Saturday. The clock only moves forward through the file's tests.
const SATURDAY_NOON = '2026-11-21T12:00:00.000Z';
const MONDAY_9_UTC = '2026-11-23T09:00:00.000Z';

describe.each(databaseKinds())('send windows on %s', (kind) => {
  const clock = new TestClock(SATURDAY_NOON);
  let herald: TestHerald;
  let sink: SmtpSink;
  let accountId: string;
  let apiKey: string;
  let control: SeededDispatch;

  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind, { clock }));
    const seeded = await seedAccount(herald.database);
    accountId = seeded.account.id;
    apiKey = seeded.apiKey;
    // A dispatch with no send window: its messages go at once, proving the worker has looked.
    control = await seedSinkDispatch(herald.database, accountId, sink);
  });

  const caughtUp = () => deliveryCaughtUp(herald, accountId, apiKey, control, sink);

  it('defers a Saturday request to Monday 09:00 and sends it once the clock gets there', async () => {
    clock.set(SATURDAY_NOON);
    const windowed = await seedSinkDispatch(herald.database, accountId, sink);
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${windowed.policyId}`,
      { sendWindow: { ...WEEKDAYS_9_TO_5, recipientTimezone: false } },
      200,
    );
    const address = `weekend@window-${kind}.test`;
    const { invitations } = await requestRecords(herald, accountId, apiKey, windowed.dispatchId, [
      [
        { questionId: windowed.q.uuid, input: 'weekend-1' },
        { questionId: windowed.q.email, input: address },
      ],
    ]);
    const invitationId = invitations[0]!.id;

    const scheduled = await waitForMessage(herald.database, invitationId, () => true);
    expect(scheduled).toMatchObject({ status: 'scheduled', due_at: MONDAY_9_UTC, attempts: 0 });
    const events = await eventRows(herald.database, [invitationId]);
    const scheduledEvent = events.find((e) => e.action === EventAction.Scheduled);
    expect(scheduledEvent?.message).toMatch(/^Deferred/);
    expect(scheduledEvent?.message).toContain(MONDAY_9_UTC);

    // The worker has run on Saturday and again a second before the window opens: nothing went out.
    await caughtUp();
    clock.set('2026-11-23T08:59:59.000Z');
    await caughtUp();
    expect(mailsTo(sink, address)).toHaveLength(0);
    expect(await messageOf(herald.database, invitationId)).toMatchObject({ status: 'scheduled', attempts: 0 });

    clock.set('2026-11-23T09:00:01.000Z');
    const mail = await waitFor(() => mailsTo(sink, address)[0], 20_000, { description: `mail to ${address}` });
    expect(mail.mail.subject).toBe('We would value your feedback');
    const sent = await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent');
    expect(sent).toMatchObject({ attempts: 1, sent_at: '2026-11-23T09:00:01.000Z' });
    const actions = (await eventRows(herald.database, [invitationId])).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining([EventAction.Sent, EventAction.DispatchSuccessful]));

    // Inside the window, a request goes out at once.
    clock.set('2026-11-23T10:30:00.000Z');
    const inside = `monday@window-${kind}.test`;
    const now = await requestRecords(herald, accountId, apiKey, windowed.dispatchId, [
      [
        { questionId: windowed.q.uuid, input: 'weekday-1' },
        { questionId: windowed.q.email, input: inside },
      ],
    ]);
    const nowId = now.invitations[0]!.id;
    const sentNow = await waitForMessage(herald.database, nowId, (m) => m.status === 'sent');
    expect(sentNow.due_at).toBe('2026-11-23T10:30:00.000Z');
    expect(mailsTo(sink, inside)).toHaveLength(1);
    const nowEvents = await eventRows(herald.database, [nowId]);
    expect(nowEvents.find((e) => e.action === EventAction.Scheduled)?.message).toBe('Scheduled to go out now');
  });

  it('checks unsubscribes again at send time: an address unsubscribed while its message waits is not sent', async () => {
    clock.set('2026-11-28T12:00:00.000Z'); // the next Saturday
    const windowed = await seedSinkDispatch(herald.database, accountId, sink);
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${windowed.policyId}`,
      { sendWindow: { ...WEEKDAYS_9_TO_5, recipientTimezone: false } },
      200,
    );
    const leaving = `leaving@window-${kind}.test`;
    const staying = `staying@window-${kind}.test`;
    const { invitations } = await requestRecords(herald, accountId, apiKey, windowed.dispatchId, [
      [
        { questionId: windowed.q.uuid, input: 'leaving-1' },
        { questionId: windowed.q.email, input: leaving },
      ],
      [
        { questionId: windowed.q.uuid, input: 'staying-1' },
        { questionId: windowed.q.email, input: staying },
      ],
    ]);
    const [leavingId, stayingId] = invitations.map((i) => i.id);
    for (const id of [leavingId!, stayingId!]) {
      expect(await waitForMessage(herald.database, id, () => true)).toMatchObject({
        status: 'scheduled',
        due_at: '2026-11-30T09:00:00.000Z',
      });
    }
    // The address is capitalised differently from the request: the list holds normalised hashes.
    await api(
      herald,
      apiKey,
      'POST',
      '/api/unsubscribes',
      { identifier: `Leaving@Window-${kind}.test`, kind: 'email' },
      201,
    );

    clock.set('2026-11-30T09:00:01.000Z');
    await waitForMessage(herald.database, stayingId!, (m) => m.status === 'sent');
    const cancelled = await waitForMessage(herald.database, leavingId!, (m) => m.status === 'cancelled');
    expect(cancelled.sent_at).toBeNull();
    expect(mailsTo(sink, staying)).toHaveLength(1);
    expect(mailsTo(sink, leaving)).toHaveLength(0);
    const events = await eventRows(herald.database, [leavingId!]);
    expect(events.filter((e) => e.action === EventAction.Suppressed).map((e) => e.message)).toEqual([
      'Not sent: The recipient has unsubscribed',
    ]);
    expect(events.some((e) => e.action === EventAction.Sent)).toBe(false);
  });

  it('a reminder that would fall outside the window waits for its next opening', async () => {
    clock.set('2026-12-04T16:30:00.000Z'); // a Friday, half an hour before the window closes
    const windowed = await seedSinkDispatch(herald.database, accountId, sink);
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${windowed.policyId}`,
      { sendWindow: { ...WEEKDAYS_9_TO_5, recipientTimezone: false }, reminders: [{ afterMinutes: 60 }] },
      200,
    );
    const address = `friday@window-${kind}.test`;
    const { invitations } = await requestRecords(herald, accountId, apiKey, windowed.dispatchId, [
      [
        { questionId: windowed.q.uuid, input: 'friday-1' },
        { questionId: windowed.q.email, input: address },
      ],
    ]);
    const invitationId = invitations[0]!.id;
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent');
    const reminder = await waitForMessage(herald.database, invitationId, () => true, { level: 1 });
    expect(reminder).toMatchObject({ status: 'scheduled', due_at: '2026-12-07T09:00:00.000Z' });

    clock.set('2026-12-07T09:00:01.000Z');
    await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent', { level: 1 });
    expect(mailsTo(sink, address)).toHaveLength(2);
  });

  it("follows the recipient's time zone (cc_timezone) when the policy asks for it", async () => {
    clock.set('2026-12-12T12:00:00.000Z'); // a Saturday, still EST in New York
    const windowed = await seedSinkDispatch(herald.database, accountId, sink);
    const zoneQuestion = await api<{ id: string }>(
      herald,
      apiKey,
      'POST',
      `/api/questionnaires/${windowed.questionnaireId}/questions`,
      { text: 'Time zone', tags: ['cc_timezone'] },
      201,
    );
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${windowed.policyId}`,
      { sendWindow: { ...WEEKDAYS_9_TO_5, recipientTimezone: true } },
      200,
    );
    const recipients = [
      { name: 'tokyo', zone: 'Asia/Tokyo', due: '2026-12-14T00:00:00.000Z' },
      { name: 'newyork', zone: 'America/New_York', due: '2026-12-14T14:00:00.000Z' },
      { name: 'nozone', zone: undefined, due: '2026-12-14T09:00:00.000Z' },
      { name: 'badzone', zone: 'Mars/Olympus_Mons', due: '2026-12-14T09:00:00.000Z' },
    ];
    const address = (name: string) => `${name}@zones-${kind}.test`;
    const { invitations } = await requestRecords(
      herald,
      accountId,
      apiKey,
      windowed.dispatchId,
      recipients.map((r) => [
        { questionId: windowed.q.uuid, input: `zone-${r.name}` },
        { questionId: windowed.q.email, input: address(r.name) },
        ...(r.zone ? [{ questionId: zoneQuestion.body.id, input: r.zone }] : []),
      ]),
    );
    const idOf = (name: string) => invitations[recipients.findIndex((r) => r.name === name)]!.id;
    for (const r of recipients) {
      const message = await waitForMessage(herald.database, idOf(r.name), () => true);
      expect({ name: r.name, due: message.due_at, status: message.status }).toEqual({
        name: r.name,
        due: r.due,
        status: 'scheduled',
      });
    }

    const received = () => recipients.filter((r) => mailsTo(sink, address(r.name)).length > 0).map((r) => r.name);
    // Monday 09:00 in Tokyo is midnight UTC.
    clock.set('2026-12-14T00:00:01.000Z');
    await waitForMessage(herald.database, idOf('tokyo'), (m) => m.status === 'sent');
    await caughtUp();
    expect(received()).toEqual(['tokyo']);
    // 09:00 UTC: the recipients with no (usable) zone get the policy's zone.
    clock.set('2026-12-14T09:00:01.000Z');
    await waitForMessage(herald.database, idOf('nozone'), (m) => m.status === 'sent');
    await waitForMessage(herald.database, idOf('badzone'), (m) => m.status === 'sent');
    await caughtUp();
    expect(received().sort()).toEqual(['badzone', 'nozone', 'tokyo']);
    // 09:00 in New York.
    clock.set('2026-12-14T14:00:01.000Z');
    await waitForMessage(herald.database, idOf('newyork'), (m) => m.status === 'sent');
    expect(received().sort()).toEqual(['badzone', 'newyork', 'nozone', 'tokyo']);
    for (const r of recipients) expect(mailsTo(sink, address(r.name))).toHaveLength(1);
  });
});
