import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookCatcher, type CatcherAnswer, type WebhookCatcher } from '../../../src/demo/webhook-catcher.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestHerald } from '../../support/herald.js';
import { invitationRows } from '../../support/ingest.js';
import { seedDispatch } from '../../support/platform.js';
import { waitFor } from '../../support/wait.js';
import {
  deliveryLog,
  requestInvitations,
  startEventsHerald,
  subscribe,
  timelines,
  type DeliveryBody,
  type SubscriptionBody,
} from '../../support/events-out.js';
import { apiClient } from '../../support/api-client.js';

/** What the catcher saw, in order: each request (with its attempt) and whether it was accepted. */
interface Seen {
  eventId: string;
  invitationId: string;
  action: number;
  answer: CatcherAnswer;
}

/** Long enough that a loaded machine answers a 500 in time; short enough to wait for. */
const TIMEOUT_MS = 1000;

describe.each(databaseKinds())('webhook retries on %s', (kind) => {
  let herald: TestHerald;
  const catchers: WebhookCatcher[] = [];
  beforeAll(async () => {
    herald = await startEventsHerald(kind, { HERALD_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  afterAll(async () => {
    await Promise.all(catchers.map((c) => c.close()));
    await herald?.stop();
  });

  it("retries after a 5xx and after a timeout, and delivers each invitation's events in order", async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const seen: Seen[] = [];
    const attempts = new Map<string, number>();
    // Every event fails twice before it is accepted: first a 500, then no answer at all.
    const receiver = await startWebhookCatcher({
      respond: (w) => {
        const attempt = (attempts.get(w.eventId) ?? 0) + 1;
        attempts.set(w.eventId, attempt);
        const answer: CatcherAnswer = attempt === 1 ? 500 : attempt === 2 ? 'stall' : 200;
        seen.push({
          eventId: w.eventId,
          invitationId: w.envelope.data.invitationId,
          action: w.envelope.data.action,
          answer,
        });
        return answer;
      },
    });
    catchers.push(receiver);
    const { subscription, secret } = await subscribe(herald, apiKey, { url: receiver.url });
    receiver.setSecrets([secret]);

    const batchId = await requestInvitations(herald, apiKey, seeded, ['r-1', 'r-2', 'r-3']);
    const rows = await waitFor(async () => {
      const found = await invitationRows(herald.database, account.id, batchId);
      return found.every((r) => r.token) && found;
    });
    const ids = rows.map((r) => r.id);
    // Done when every event of each timeline was accepted, in timeline order. (A busy machine may
    // time out a request the receiver did accept: that event is sent again, so count each once.)
    const accepted = (invitationId: string) => {
      const once = new Map<string, number>();
      for (const s of seen) {
        if (s.invitationId === invitationId && s.answer === 200 && !once.has(s.eventId)) once.set(s.eventId, s.action);
      }
      return [...once.values()];
    };
    const expected = await waitFor(
      async () => {
        const actual = await timelines(herald, ids);
        return ids.every((id) => JSON.stringify(accepted(id)) === JSON.stringify(actual.get(id))) && actual;
      },
      20_000,
      { description: 'every event accepted, each invitation in timeline order' },
    );
    expect([...expected.values()].every((actions) => actions.length >= 2)).toBe(true);

    // Never two of an invitation's events in flight: the next one's first request only came after
    // the previous one was accepted.
    for (const id of ids) {
      const mine = seen.filter((s) => s.invitationId === id);
      for (let i = 1; i < mine.length; i += 1) {
        const current = mine[i]!;
        const earlier = mine.slice(0, i);
        const firstRequestOfCurrent = !earlier.some((s) => s.eventId === current.eventId);
        if (firstRequestOfCurrent) expect(earlier.at(-1)!.answer).toBe(200);
      }
    }

    // The delivery log tells the story of each: a 500, a timeout, then success; same event id throughout.
    // The receiver's answer is written a moment after it is given.
    const log = await waitFor(async () => {
      const entries = await deliveryLog(herald, apiKey, subscription.id);
      return entries.every((d) => d.status === 'delivered') && entries;
    });
    expect(log.length).toBe([...expected.values()].flat().length);
    expect(log.some((d) => d.attemptLog[0]?.statusCode === 500)).toBe(true);
    for (const d of log) {
      expect(d).toMatchObject({ status: 'delivered', lastStatusCode: 200, lastError: null });
      expect(d.attemptLog).toHaveLength(d.attempts);
      expect(d.attempts).toBeGreaterThanOrEqual(3);
      // (On a machine so busy that the 500 came after the timeout, the first attempt reads as a timeout too.)
      const [first, second] = d.attemptLog;
      expect([
        [500, 'HTTP 500'],
        [null, `no answer within ${TIMEOUT_MS} ms`],
      ]).toContainEqual([first!.statusCode, first!.error]);
      expect([second!.statusCode, second!.error]).toEqual([null, `no answer within ${TIMEOUT_MS} ms`]);
      expect(second!.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
      expect(d.attemptLog.at(-1)!.statusCode).toBe(200);
      expect(attempts.get(d.eventId)).toBe(d.attempts);
    }
  });
});

describe.each(databaseKinds())('webhook dead letters on %s', (kind) => {
  let herald: TestHerald;
  const catchers: WebhookCatcher[] = [];
  beforeAll(async () => {
    herald = await startEventsHerald(kind, { HERALD_WEBHOOK_RETRY_HORIZON_SECONDS: '1' });
  });
  afterAll(async () => {
    await Promise.all(catchers.map((c) => c.close()));
    await herald?.stop();
  });

  it('dead-letters a delivery after the retry horizon and replays it with the same event id', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const api = apiClient(herald, apiKey);
    let failing = true;
    const accepted: string[] = [];
    const receiver = await startWebhookCatcher({
      respond: (w) => {
        if (failing) return 503;
        accepted.push(w.eventId);
        return 204;
      },
    });
    catchers.push(receiver);
    const { subscription, secret } = await subscribe(herald, apiKey, {
      url: receiver.url,
      eventTypes: ['TokenCreated'],
    });
    receiver.setSecrets([secret]);
    await requestInvitations(herald, apiKey, seeded, ['d-1', 'd-2']);

    const dead = await waitFor(
      async () => {
        const answer = await api.get<DeliveryBody[]>(`/api/webhooks/${subscription.id}/dead-letters`);
        return answer.body.length === 2 && answer.body;
      },
      15_000,
      { description: 'both deliveries dead-lettered' },
    );
    for (const d of dead) {
      expect(d.status).toBe('dead');
      expect(d.attempts).toBeGreaterThanOrEqual(2);
      expect(d.attemptLog).toHaveLength(d.attempts);
      expect(d.attemptLog.every((a) => a.statusCode === 503 && a.error === 'HTTP 503')).toBe(true);
    }
    // Nothing more is tried once dead.
    const triedBefore = receiver.received.length;
    expect(triedBefore).toBe(dead.reduce((sum, d) => sum + d.attempts, 0));

    failing = false;
    const [newest, oldest] = dead;
    const one = await api.post<{ replayed: number }>(`/api/webhooks/${subscription.id}/dead-letters/replay`, {
      ids: [oldest!.id],
    });
    expect(one.body).toEqual({ replayed: 1 });
    await waitFor(() => accepted.length === 1);
    expect(accepted).toEqual([oldest!.eventId]);

    const rest = await api.post<{ replayed: number }>(`/api/webhooks/${subscription.id}/dead-letters/replay`);
    expect(rest.body).toEqual({ replayed: 1 });
    await waitFor(() => accepted.length === 2);
    expect(accepted).toEqual([oldest!.eventId, newest!.eventId]);
    const again = await api.post<{ replayed: number }>(`/api/webhooks/${subscription.id}/dead-letters/replay`, {});
    expect(again.body).toEqual({ replayed: 0 });
    expect((await api.get<DeliveryBody[]>(`/api/webhooks/${subscription.id}/dead-letters`)).body).toEqual([]);
    const log = await waitFor(async () => {
      const entries = await deliveryLog(herald, apiKey, subscription.id);
      return entries.every((d) => d.status === 'delivered') && entries;
    });
    expect(log).toHaveLength(2);
    expect(log.every((d) => d.attemptLog.at(-1)?.statusCode === 204)).toBe(true);
  });
});

describe.each(databaseKinds())('disabling a failing subscription on %s', (kind) => {
  let herald: TestHerald;
  const catchers: WebhookCatcher[] = [];
  beforeAll(async () => {
    herald = await startEventsHerald(kind, { HERALD_WEBHOOK_DISABLE_AFTER_SECONDS: '1' });
  });
  afterAll(async () => {
    await Promise.all(catchers.map((c) => c.close()));
    await herald?.stop();
  });

  it('disables a subscription failing for longer than the limit, says why, and resumes it when re-enabled', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const api = apiClient(herald, apiKey);
    let broken = true;
    const failingReceiver = await startWebhookCatcher({ respond: () => (broken ? 500 : 204) });
    const healthyReceiver = await startWebhookCatcher();
    catchers.push(failingReceiver, healthyReceiver);
    const failing = await subscribe(herald, apiKey, { url: failingReceiver.url, eventTypes: ['TokenCreated'] });
    const healthy = await subscribe(herald, apiKey, { url: healthyReceiver.url, eventTypes: ['TokenCreated'] });
    failingReceiver.setSecrets([failing.secret]);
    healthyReceiver.setSecrets([healthy.secret]);
    await requestInvitations(herald, apiKey, seeded, ['x-1', 'x-2']);

    const disabled = await waitFor(
      async () => {
        const answer = await api.get<SubscriptionBody>(`/api/webhooks/${failing.subscription.id}`);
        return answer.body.status === 'disabled' && answer.body;
      },
      15_000,
      { description: 'the failing subscription disabled' },
    );
    expect(disabled.disabledReason).toMatch(/^Every delivery since \S+ failed \(last: HTTP 500\); disabled at /);
    expect(disabled.failingSince).not.toBeNull();
    const entries = await herald.database.sql.query<{ level: string; message: string }>(
      `SELECT level, message FROM log_entries WHERE account_id = $1 AND message LIKE 'Webhook subscription%'`,
      [account.id],
    );
    expect(entries).toEqual([
      {
        level: 'Error',
        message: `Webhook subscription ${failing.subscription.id} disabled: ${disabled.disabledReason}`,
      },
    ]);
    // The healthy one was not touched; the failing one's deliveries wait rather than die.
    expect((await api.get<SubscriptionBody>(`/api/webhooks/${healthy.subscription.id}`)).body.status).toBe('active');
    await waitFor(() => healthyReceiver.delivered === 2);
    // Disabled means no more requests: once the last one in flight is written, the log has them all.
    const waiting = await waitFor(async () => {
      const log = await deliveryLog(herald, apiKey, failing.subscription.id);
      return log.reduce((sum, d) => sum + d.attempts, 0) === failingReceiver.received.length && log;
    });
    expect(waiting.map((d) => d.status)).toEqual(['pending', 'pending']);

    broken = false;
    const enabled = await api.patch<SubscriptionBody>(`/api/webhooks/${failing.subscription.id}`, { status: 'active' });
    expect(enabled.body).toMatchObject({ status: 'active', disabledReason: null, failingSince: null });
    await waitFor(() => failingReceiver.delivered === 2, 10_000, { description: 'the waiting deliveries sent' });
    const after = await waitFor(async () => {
      const entries = await deliveryLog(herald, apiKey, failing.subscription.id);
      return entries.every((d) => d.status === 'delivered') && entries;
    });
    expect(after).toHaveLength(2);
    expect((await api.get<SubscriptionBody>(`/api/webhooks/${failing.subscription.id}`)).body.failingSince).toBeNull();
  });
});
