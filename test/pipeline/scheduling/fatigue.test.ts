import { beforeAll, describe, expect, it } from 'vitest';
import type { EventLogEntry } from '../../../src/reporting/event-log.js';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import {
  api,
  mailsTo,
  messageRows,
  requestRecords,
  seedSinkDispatch,
  SinkRules,
  waitForMessage,
  startDeliveryHarness,
} from '../../support/delivery.js';
import type { TestHerald } from '../../support/herald.js';
import { eventRows } from '../../support/ingest.js';
import type { SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';

describe.each(databaseKinds())('the fatigue rule on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  const rules = new SinkRules();

  beforeAll(async () => {
    ({ herald, sink } = await startDeliveryHarness(kind, { rule: rules.rule }));
  });

  it('throttles a second invitation to the same UUID within the period, in a later batch', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const dispatch = await seedSinkDispatch(herald.database, account.id, sink);
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${dispatch.policyId}`,
      { fatigue: { maxInvitations: 1, perDays: 30 } },
      200,
    );
    const tired = `tired@fatigue-${kind}.test`;
    const fresh = `fresh@fatigue-${kind}.test`;
    const record = (uuid: string, email: string) => [
      { questionId: dispatch.q.uuid, input: uuid },
      { questionId: dispatch.q.email, input: email },
    ];

    const first = await requestRecords(herald, account.id, apiKey, dispatch.dispatchId, [record('cust-1', tired)]);
    await waitForMessage(herald.database, first.invitations[0]!.id, (m) => m.status === 'sent');

    // A new batch: the same customer again, and another customer who has had nothing yet.
    const second = await requestRecords(herald, account.id, apiKey, dispatch.dispatchId, [
      record('cust-1', tired),
      record('cust-2', fresh),
    ]);
    expect(second.answer.statusByDispatch[0]).toMatchObject({ dispatchStatus: 202 });
    const [again, other] = second.invitations;
    await waitForMessage(herald.database, other!.id, (m) => m.status === 'sent');
    const throttledEvents = await waitFor(async () => {
      const events = await eventRows(herald.database, [again!.id]);
      return events.some((e) => e.action === EventAction.Throttled) ? events : undefined;
    });
    expect(throttledEvents.map((e) => e.action)).toEqual([
      EventAction.Requested,
      EventAction.TokenCreated,
      EventAction.Throttled,
    ]);
    expect(await messageRows(herald.database, [again!.id])).toEqual([]);

    // The event log names the rule.
    const log = await api<EventLogEntry[]>(herald, apiKey, 'POST', '/api/EventLog', { UUID: 'cust-1' }, 200);
    expect(log.body).toHaveLength(2);
    const throttledEntry = log.body.find((entry) => entry.id === again!.id);
    expect(throttledEntry?.state).toBe('throttled');
    const throttled = throttledEntry?.events.find((e) => e.action === EventAction.Throttled);
    expect(throttled?.logMessage?.level).toBe('Information');
    expect(throttled?.logMessage?.message).toMatch(/fatigue rule/);
    expect(throttled?.logMessage?.message).toMatch(/at most 1 invitations per 30 days/);

    expect(mailsTo(sink, tired)).toHaveLength(1);
    expect(mailsTo(sink, fresh)).toHaveLength(1);
  });

  it('counts a first invitation that is still waiting for a retry (rate limited)', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const dispatch = await seedSinkDispatch(herald.database, account.id, sink);
    await api(
      herald,
      apiKey,
      'PATCH',
      `/api/delivery-policies/${dispatch.policyId}`,
      { fatigue: { maxInvitations: 1, perDays: 30 } },
      200,
    );
    const slow = `slow@fatigue-${kind}.test`;
    const other = `other@fatigue-${kind}.test`;
    rules.refuse(slow, 452, '4.5.3 Too many recipients, rate limited');
    const record = (email: string) => [
      { questionId: dispatch.q.uuid, input: 'cust-rate' },
      { questionId: dispatch.q.email, input: email },
    ];
    const first = await requestRecords(herald, account.id, apiKey, dispatch.dispatchId, [record(slow)]);
    // The default retry base (30 s) keeps it waiting for the rest of this test.
    await waitForMessage(herald.database, first.invitations[0]!.id, (m) => m.status === 'rate_limited');

    // The same customer at another address, in a new batch: still one invitation in the period.
    const second = await requestRecords(herald, account.id, apiKey, dispatch.dispatchId, [record(other)]);
    const events = await waitFor(async () => {
      const rows = await eventRows(herald.database, [second.invitations[0]!.id]);
      return rows.some((e) => e.action === EventAction.Throttled || e.action === EventAction.Scheduled)
        ? rows
        : undefined;
    });
    expect(events.map((e) => e.action)).toContain(EventAction.Throttled);
    expect(await messageRows(herald.database, [second.invitations[0]!.id])).toEqual([]);
  });

  it('counts per account and not across accounts, and not where the policy has no rule', async () => {
    const tired = `shared@fatigue-${kind}.test`;
    const sent: string[] = [];
    for (const fatigue of [{ maxInvitations: 1, perDays: 30 }, null]) {
      const { account, apiKey } = await seedAccount(herald.database);
      const dispatch = await seedSinkDispatch(herald.database, account.id, sink);
      await api(herald, apiKey, 'PATCH', `/api/delivery-policies/${dispatch.policyId}`, { fatigue }, 200);
      for (let round = 0; round < 2; round++) {
        const { invitations } = await requestRecords(herald, account.id, apiKey, dispatch.dispatchId, [
          [
            { questionId: dispatch.q.uuid, input: 'cust-1' },
            { questionId: dispatch.q.email, input: tired },
          ],
        ]);
        const id = invitations[0]!.id;
        await waitFor(async () => {
          const events = await eventRows(herald.database, [id]);
          const done = events.find((e) => e.action === EventAction.Throttled || e.action === EventAction.Sent);
          if (done?.action === EventAction.Sent) sent.push(`${fatigue ? 'rule' : 'none'}-${round}`);
          return done;
        });
      }
    }
    // cust-1 had an invitation in the first test's account: this account's rule does not see it.
    expect(sent).toEqual(['rule-0', 'none-0', 'none-1']);
    expect(mailsTo(sink, tired)).toHaveLength(3);
  });
});
