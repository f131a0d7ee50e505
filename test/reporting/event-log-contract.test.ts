import { createHash, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { EventLogDocument, EventLogEntry } from '../../src/reporting/event-log.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeLogEntries } from '../../src/log/log-writer.js';
import { contentTemplates, dispatches } from '../../src/storage/schema.js';
import { EventAction, EventChannel } from '../../src/timeline/event-numbers.js';
import { writeTimelineEntries } from '../../src/timeline/timeline-writer.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { requestRecords, seedSinkDispatch, startDeliveryHarness, waitForMessage } from '../support/delivery.js';
import type { TestHerald } from '../support/herald.js';
import { invitationRows } from '../support/ingest.js';
import { apiRequest } from '../support/api-client.js';
import { waitFor } from '../support/wait.js';
import type { SeededDispatch } from '../support/platform.js';
import type { SmtpSink } from '../support/smtp-sink.js';

const sha512 = (value: string) => `sha512:${createHash('sha512').update(value.toLowerCase()).digest('hex')}`;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The numbers as the original module and Herald's documentation state them, written out here:
 * comparing with the code's own constants would prove nothing about the contract.
 */
const ACTION_NUMBERS = {
  Requested: 0,
  Rejected: 1,
  TokenCreated: 2,
  Sent: 3,
  Error: 4,
  Suppressed: 5,
  DispatchSuccessful: 6,
  DispatchUnsuccessful: 7,
  Throttled: 8,
  Scheduled: 9,
  RateLimited: 10,
  Delivered: 11,
  Read: 12,
  Bounced: 13,
  Opened: 14,
  Answered: 15,
  Completed: 16,
  Unsubscribed: 17,
  ManualRetry: 18,
  Replied: 19,
  Queued: 20,
} as const;
const CHANNEL_NUMBERS = { Email: 0, SMS: 1, DispatchAPI: 2, Unknown: 3, Invalid: 4, WhatsApp: 5 } as const;

/** What POST /api/EventLog answers: invitations, then log entries. */
type Document = EventLogEntry | EventLogDocument;
type Event = EventLogEntry['events'][number];

describe.each(databaseKinds())('the event log keeps the original module’s contract on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  let accountId: string;
  let apiKey: string;
  let seeded: SeededDispatch;

  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind));
    const account = await seedAccount(herald.database);
    accountId = account.account.id;
    apiKey = account.apiKey;
    seeded = await seedSinkDispatch(herald.database, accountId, sink);
  });

  const eventLog = (filter: unknown) =>
    apiRequest<Document[]>(herald.url, '/api/EventLog', { method: 'POST', token: apiKey, json: filter });

  it('pins every action number 0–20 and channel number 0–5 to literal numbers, read back through the API', async () => {
    const { batchId, invitations } = await requestRecords(herald, accountId, apiKey, seeded.dispatchId, [
      [
        { questionId: seeded.q.uuid, input: 'numbers-1' },
        { questionId: seeded.q.email, input: 'numbers@example.com' },
      ],
    ]);
    const invitationId = invitations[0]!.id;
    // Until its token is created an invitation's timeline is only its Requested entry.
    await waitFor(async () => (await invitationRows(herald.database, accountId, batchId))[0]?.token, 20_000, {
      description: 'the invitation to get its token',
    });
    const marker = randomUUID();
    // One entry per name, carrying its name: the API must answer each with the literal number.
    await writeTimelineEntries(herald.database.sql, [
      ...Object.keys(ACTION_NUMBERS).map((name) => ({
        accountId,
        invitationId,
        action: EventAction[name as keyof typeof EventAction],
        channel: EventChannel.DispatchAPI,
        message: `${marker} action ${name}`,
      })),
      ...Object.keys(CHANNEL_NUMBERS).map((name) => ({
        accountId,
        invitationId,
        action: EventAction.Requested,
        channel: EventChannel[name as keyof typeof EventChannel],
        message: `${marker} channel ${name}`,
      })),
    ]);
    const answer = await eventLog({ UUID: 'numbers-1' });
    expect(answer.status).toBe(200);
    const events = answer.body[0]!.events!.filter((e) => e.message?.startsWith(marker));
    const named = (kind: string, number: (e: Event) => number): Record<string, number> =>
      Object.fromEntries(
        events
          .filter((e) => e.message!.includes(` ${kind} `))
          .map((e): [string, number] => [e.message!.split(' ').at(-1)!, number(e)]),
      );
    const actions = named('action', (e) => e.action);
    const channels = named('channel', (e) => e.channel);
    expect(actions).toEqual(ACTION_NUMBERS);
    expect(channels).toEqual(CHANNEL_NUMBERS);
  });

  it('writes DispatchSuccessful in the original words: template id, c= and n=, "Successfully Dispatched (via: …)"', async () => {
    const [template] = await herald.database.db
      .insert(contentTemplates)
      .values({
        accountId,
        name: 'Invitation',
        channel: 'email',
        variants: [{ language: 'en', subject: 'Your view', text: 'Tell us: {{surveyLink}}' }],
      })
      .returning();
    const withTemplate = await seedSinkDispatch(herald.database, accountId, sink);
    await herald.database.db
      .update(dispatches)
      .set({ templates: { email: { initial: template!.id } } })
      .where(eq(dispatches.id, withTemplate.dispatchId));
    const address = `success-${kind}@example.com`;
    const { invitations } = await requestRecords(herald, accountId, apiKey, withTemplate.dispatchId, [
      [
        { questionId: withTemplate.q.uuid, input: 'success-1' },
        { questionId: withTemplate.q.email, input: address },
      ],
    ]);
    await waitForMessage(herald.database, invitations[0]!.id, (m) => m.status === 'sent');
    const [entry] = (await eventLog({ UUID: 'success-1' })).body;
    const successful = entry!.events!.filter((e) => e.action === 6);
    expect(successful).toEqual([
      {
        timeStamp: expect.stringMatching(ISO) as unknown,
        channel: 0,
        action: 6,
        message: `Message Template Id: ${template!.id} | Additional Token Parameters: &c=0&n=0`,
        targetId: sha512(address),
        eventStatus: null,
        logMessage: { message: 'Successfully Dispatched (via: smtp)', level: 'Information', exception: null },
      },
    ]);
    // The target itself only for an admin asking for personal data.
    const revealed = await eventLog({ UUID: 'success-1', IncludePii: true });
    expect(revealed.body[0]!.events!.find((e) => e.action === 6)?.targetId).toBe(address);
  });

  it('returns the DIWEF log entries beside the invitations, tagged by component, with LogMessage', async () => {
    const { batchId, invitations } = await requestRecords(herald, accountId, apiKey, seeded.dispatchId, [
      [
        { questionId: seeded.q.uuid, input: 'logs-1' },
        { questionId: seeded.q.email, input: 'logs@example.com' },
      ],
    ]);
    await writeLogEntries(herald.database.sql, [
      {
        accountId,
        batchId,
        dispatchId: seeded.dispatchId,
        tag: 'Initiator',
        level: 'Error',
        message: 'The uploaded file was Empty',
        exception: 'no rows',
      },
    ]);
    const answer = await eventLog({ BatchId: batchId });
    expect(answer.status).toBe(200);
    const tags = answer.body.map((d) => d.tags[0]);
    expect(tags[0]).toBe('UserData');
    expect(tags.at(-1)).toBe('Initiator');
    expect(new Set(tags.slice(1, -1))).toEqual(new Set(['DispatchAPI']));
    expect(answer.body[0]!.id).toBe(invitations[0]!.id);
    const accepted = answer.body.find((d) => d.logMessage?.message.startsWith('Accepted for processing'));
    expect(accepted).toEqual({
      id: expect.any(String) as unknown,
      tokenId: null,
      deliveryWorkFlowId: null,
      dispatchId: seeded.dispatchId,
      batchId,
      user: null,
      location: null,
      created: expect.stringMatching(ISO) as unknown,
      updated: expect.stringMatching(ISO) as unknown,
      events: null,
      target: null,
      targetHashed: null,
      logMessage: { message: 'Accepted for processing 1 records', level: 'Debug', exception: null },
      tags: ['DispatchAPI'],
    });
    expect(answer.body.at(-1)?.logMessage).toEqual({
      message: 'The uploaded file was Empty',
      level: 'Error',
      exception: 'no rows',
    });
    // Showing personal data is itself an Account entry.
    await eventLog({ BatchId: batchId, IncludePii: true });
    const today = await eventLog({ FromDate: new Date(Date.now() - 60_000).toISOString() });
    const account = today.body.filter((d) => d.tags[0] === 'Account');
    expect(account.length).toBeGreaterThan(0);
    for (const d of account)
      expect(d.logMessage?.message).toMatch(/Original personal data of \d+ invitations was shown/);
    // Filters a log entry cannot match (Token, Target, UUID) return invitations only.
    expect((await eventLog({ BatchId: batchId, UUID: 'logs-1' })).body.map((d) => d.tags[0])).toEqual(['UserData']);
  });
});
