import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookCatcher, type CaughtWebhook, type WebhookCatcher } from '../../../src/demo/webhook-catcher.js';
import { verifyWebhookSignature } from '../../../src/pipeline/events-out/webhook-signature.js';
import { hashPii } from '../../../src/privacy/pii-hash.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { invitationRows, postDispatchRequest, recordOf } from '../../support/ingest.js';
import { seedDispatch } from '../../support/platform.js';
import { waitFor } from '../../support/wait.js';
import {
  deliveryLog,
  requestInvitations,
  startEventsHerald,
  subscribe,
  type SubscriptionBody,
} from '../../support/events-out.js';
import { apiClient } from '../../support/api-client.js';

const TokenCreated = 2;

/** The TokenCreated webhooks a catcher received for each of `invitationIds`, once all arrived. */
function tokenCreatedFor(catcher: WebhookCatcher, invitationIds: readonly string[]) {
  const found = new Map<string, CaughtWebhook>();
  for (const w of catcher.received) {
    if (w.envelope.data.action === TokenCreated) found.set(w.envelope.data.invitationId, w);
  }
  return invitationIds.every((id) => found.has(id)) && found;
}

describe.each(databaseKinds())('webhook delivery on %s', (kind) => {
  let herald: TestHerald;
  const catchers: WebhookCatcher[] = [];
  beforeAll(async () => {
    herald = await startEventsHerald(kind);
  });
  afterAll(async () => {
    await Promise.all(catchers.map((c) => c.close()));
    await herald?.stop();
  });

  async function catcher(options: Parameters<typeof startWebhookCatcher>[0] = {}) {
    const started = await startWebhookCatcher(options);
    catchers.push(started);
    return started;
  }

  it('delivers the events of a real dispatch request, signed, with hashed identifiers and a delivery log', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const receiver = await catcher();
    const { subscription, secret } = await subscribe(herald, apiKey, { url: receiver.url, description: 'CRM' });
    expect(secret).toMatch(/^whsec_[\w-]{40,}$/);
    receiver.setSecrets([secret]);
    // The secret is shown once: no read answers it.
    const read = await apiClient(herald, apiKey).get<Record<string, unknown>>(`/api/webhooks/${subscription.id}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain(secret);

    const batchId = await requestInvitations(herald, apiKey, seeded, ['cust-1', 'cust-2', 'cust-3']);
    const invitations = await waitFor(async () => {
      const rows = await invitationRows(herald.database, account.id, batchId);
      return rows.length === 3 && rows.every((r) => r.token) && rows;
    });
    const ids = invitations.map((r) => r.id);
    const byInvitation = await waitFor(() => tokenCreatedFor(receiver, ids), 15_000, {
      description: 'a TokenCreated webhook for each invitation',
    });

    expect(receiver.unverified).toBe(0);
    for (const row of invitations) {
      const webhook = byInvitation.get(row.id)!;
      expect(verifyWebhookSignature(webhook.signature, webhook.body, secret).ok).toBe(true);
      expect(webhook.eventId).toBe(webhook.envelope.id);
      expect(webhook.envelope).toMatchObject({
        resource: 'invitation',
        eventType: 'invitation.status',
        eventSubType: 'TokenCreated',
        accountSlug: account.slug,
        version: '1',
        data: {
          invitationId: row.id,
          token: row.token,
          dispatchId: seeded.dispatchId,
          batchId,
          channel: 'dispatchApi',
          action: TokenCreated,
          status: 'TokenCreated',
          messageId: null,
          isRootMessage: null,
          identifiers: 'hashed',
          // The UUID question is not PII-hash: stored raw, it is hashed on the way out.
          uuid: hashPii(`cust-${row.record_index + 1}`, 'sha512'),
          // The email question is PII-hash: its stored hash goes out as it is.
          target: hashPii(`cust-${row.record_index + 1}@example.com`, 'sha512'),
        },
      });
      expect(Date.parse(webhook.envelope.occurredAt)).not.toBeNaN();
    }
    // Nothing personal in any body Herald sent, whatever the event.
    for (const w of receiver.received) {
      expect(w.body).not.toMatch(/cust-\d@example\.com|"cust-\d"|Name cust/);
    }

    // The delivery log: each event delivered, its attempt with the status code and the latency.
    const log = await waitFor(async () => {
      const entries = await deliveryLog(herald, apiKey, subscription.id);
      return entries.length >= 6 && entries.every((d) => d.status === 'delivered') && entries;
    });
    const tokenDeliveries = log.filter((d) => d.eventSubType === 'TokenCreated');
    expect(tokenDeliveries.map((d) => d.invitationId).sort()).toEqual([...ids].sort());
    for (const d of tokenDeliveries) {
      expect(d.attempts).toBe(1);
      expect(d.attemptLog).toHaveLength(1);
      expect(d.attemptLog[0]).toMatchObject({ statusCode: 204, error: null });
      expect(Date.parse(d.attemptLog[0]!.attemptedAt)).not.toBeNaN();
      expect(d.attemptLog[0]!.latencyMs).toBeGreaterThanOrEqual(0);
      expect(d.eventId).toBe(byInvitation.get(d.invitationId!)!.eventId);
    }
  });

  it('filters by event type and dispatch', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const first = await seedDispatch(herald.database, account.id);
    const second = await seedDispatch(herald.database, account.id);
    const receiver = await catcher();
    const { subscription, secret } = await subscribe(herald, apiKey, {
      url: receiver.url,
      eventTypes: ['TokenCreated'],
      dispatchIds: [second.dispatchId],
    });
    receiver.setSecrets([secret]);
    const firstBatch = await requestInvitations(herald, apiKey, first, ['f-1']);
    const batchId = await requestInvitations(herald, apiKey, second, ['f-2']);
    const [wanted] = await invitationRows(herald.database, account.id, batchId);
    await waitFor(() => tokenCreatedFor(receiver, [wanted!.id]));
    // Once both requests' tokens are created and relayed, only the wanted event was queued and sent.
    await waitFor(async () => {
      const [unwanted] = await invitationRows(herald.database, account.id, firstBatch);
      const [pending] = await herald.database.sql.query<{ n: string | number }>(
        'SELECT count(*) AS n FROM event_outbox o JOIN invitation_events e ON e.id = o.event_id WHERE e.account_id = $1',
        [account.id],
      );
      return unwanted?.token && Number(pending?.n) === 0;
    });
    const queued = await herald.database.sql.query<{ sub_type: string; dispatch_id: string }>(
      `SELECT payload->>'eventSubType' AS sub_type, payload->'data'->>'dispatchId' AS dispatch_id
       FROM webhook_deliveries WHERE subscription_id = $1`,
      [subscription.id],
    );
    expect(queued).toEqual([{ sub_type: 'TokenCreated', dispatch_id: second.dispatchId }]);
    expect(receiver.received.map((w) => [w.envelope.eventSubType, w.envelope.data.dispatchId])).toEqual([
      ['TokenCreated', second.dispatchId],
    ]);
  });

  it('sends original identifiers only to a subscription that asks, when the account allows it', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const api = apiClient(herald, apiKey);
    const plain = await catcher();
    const personal = await catcher();

    const refused = await api.post<{ error: { code: string; message: string } }>('/api/webhooks', {
      url: personal.url,
      includePii: true,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('PUT /api/account/event-privacy');
    expect((await api.put('/api/account/event-privacy', { allowPiiInEvents: true })).status).toBe(200);

    const hashed = await subscribe(herald, apiKey, { url: plain.url });
    plain.setSecrets([hashed.secret]);
    const withPii = await subscribe(herald, apiKey, { url: personal.url, includePii: true });
    personal.setSecrets([withPii.secret]);
    expect(withPii.subscription.includePii).toBe(true);

    const batchId = await requestInvitations(herald, apiKey, seeded, ['pii-1']);
    const [row] = await invitationRows(herald.database, account.id, batchId);
    const ids = [row!.id];
    const original = (await waitFor(() => tokenCreatedFor(personal, ids))).get(row!.id)!;
    const masked = (await waitFor(() => tokenCreatedFor(plain, ids))).get(row!.id)!;
    expect(original.envelope.data).toMatchObject({
      uuid: 'pii-1',
      target: 'pii-1@example.com',
      identifiers: 'original',
    });
    expect(masked.envelope.data).toMatchObject({
      uuid: hashPii('pii-1', 'sha512'),
      target: hashPii('pii-1@example.com', 'sha512'),
      identifiers: 'hashed',
    });
    // Originals are opened at send time: the queue itself only ever holds hashes.
    const stored = await herald.database.sql.query<{ payload: unknown }>(
      'SELECT payload FROM webhook_deliveries WHERE account_id = $1',
      [account.id],
    );
    expect(stored.length).toBeGreaterThan(0);
    expect(JSON.stringify(stored)).not.toContain('pii-1@example.com');

    // Withdrawn by the account: the same subscription gets hashes again.
    expect((await api.put('/api/account/event-privacy', { allowPiiInEvents: false })).status).toBe(200);
    const laterBatch = await requestInvitations(herald, apiKey, seeded, ['pii-2']);
    const [later] = await invitationRows(herald.database, account.id, laterBatch);
    const afterwards = (await waitFor(() => tokenCreatedFor(personal, [later!.id]))).get(later!.id)!;
    expect(afterwards.envelope.data).toMatchObject({ uuid: hashPii('pii-2', 'sha512'), identifiers: 'hashed' });
  });

  it('signs with both secrets during a rotation overlap, then only with the new one', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const api = apiClient(herald, apiKey);
    const receiver = await catcher();
    const { subscription, secret: first } = await subscribe(herald, apiKey, { url: receiver.url });
    receiver.setSecrets([first]);

    const rotated = await api.post<{ subscription: SubscriptionBody; secret: string }>(
      `/api/webhooks/${subscription.id}/rotate-secret`,
      { overlapSeconds: 3600 },
    );
    expect(rotated.status).toBe(200);
    const second = rotated.body.secret;
    expect(second).not.toBe(first);
    expect(Date.parse(rotated.body.subscription.previousSecretExpiresAt!)).toBeGreaterThan(Date.now() + 3500_000);
    // A receiver that has only switched to the new secret verifies; so does one still on the old.
    receiver.setSecrets([second]);
    const batch = await requestInvitations(herald, apiKey, seeded, ['rot-1']);
    const [row] = await invitationRows(herald.database, account.id, batch);
    const during = (await waitFor(() => tokenCreatedFor(receiver, [row!.id]))).get(row!.id)!;
    expect(during.signature.match(/v1=/g)).toHaveLength(2);
    expect(verifyWebhookSignature(during.signature, during.body, first).ok).toBe(true);
    expect(verifyWebhookSignature(during.signature, during.body, second).ok).toBe(true);

    const ended = await api.post<{ subscription: SubscriptionBody; secret: string }>(
      `/api/webhooks/${subscription.id}/rotate-secret`,
      { overlapSeconds: 0 },
    );
    expect(ended.status).toBe(200);
    expect(ended.body.subscription.previousSecretExpiresAt).toBeNull();
    const third = ended.body.secret;
    receiver.setSecrets([third]);
    const laterBatch = await requestInvitations(herald, apiKey, seeded, ['rot-2']);
    const [later] = await invitationRows(herald.database, account.id, laterBatch);
    const after = (await waitFor(() => tokenCreatedFor(receiver, [later!.id]))).get(later!.id)!;
    expect(after.signature.match(/v1=/g)).toHaveLength(1);
    expect(verifyWebhookSignature(after.signature, after.body, third).ok).toBe(true);
    expect(verifyWebhookSignature(after.signature, after.body, second)).toEqual({
      ok: false,
      reason: 'no v1 signature matches the secret',
    });
    expect(receiver.unverified).toBe(0);
  });

  it('manages subscriptions per account: validation, changes, other accounts, deletion', async () => {
    const { apiKey } = await seedAccount(herald.database);
    const other = await seedAccount(herald.database);
    const api = apiClient(herald, apiKey);
    for (const [body, field] of [
      [{ url: 'ftp://example.com/hook' }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: 'https://example.com/hook', eventTypes: ['Sent', 'Teleported'] }, 'eventTypes'],
      [{ url: 'https://example.com/hook', dispatchIds: ['00000000-0000-4000-8000-000000000000'] }, 'dispatchIds'],
    ] as const) {
      const answer = await api.post<{ error: { code: string; message: string } }>('/api/webhooks', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.message).toContain(field);
    }
    const { subscription } = await subscribe(herald, apiKey, { url: 'https://example.com/hook' });
    expect(subscription).toMatchObject({ status: 'active', eventTypes: [], dispatchIds: [], includePii: false });

    const changed = await api.patch<SubscriptionBody>(`/api/webhooks/${subscription.id}`, {
      eventTypes: ['Sent', 'Error'],
      status: 'disabled',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ eventTypes: ['Sent', 'Error'], status: 'disabled' });
    expect(changed.body.disabledReason).toContain('API');
    const enabled = await api.patch<SubscriptionBody>(`/api/webhooks/${subscription.id}`, { status: 'active' });
    expect(enabled.body).toMatchObject({ status: 'active', disabledReason: null });

    // Another account sees none of it.
    const stranger = apiClient(herald, other.apiKey);
    expect((await stranger.get(`/api/webhooks/${subscription.id}`)).status).toBe(404);
    expect((await stranger.get(`/api/webhooks/${subscription.id}/deliveries`)).status).toBe(404);
    expect((await stranger.post(`/api/webhooks/${subscription.id}/dead-letters/replay`, {})).status).toBe(404);
    expect((await stranger.get<unknown[]>('/api/webhooks')).body).toEqual([]);

    expect((await api.get<unknown[]>('/api/webhooks')).body).toHaveLength(1);
    expect((await api.delete(`/api/webhooks/${subscription.id}`)).status).toBe(204);
    expect((await api.get(`/api/webhooks/${subscription.id}`)).status).toBe(404);
  });
});

describe.each(databaseKinds())('the event outbox on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    // No workers, so no relay empties the outbox while it is looked at.
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('queues the events of accounts with an active subscription, and only theirs', async () => {
    const queuedFor = async (accountId: string) => {
      const [row] = await herald.database.sql.query<{ n: string | number }>(
        'SELECT count(*) AS n FROM event_outbox o JOIN invitation_events e ON e.id = o.event_id WHERE e.account_id = $1',
        [accountId],
      );
      return Number(row?.n);
    };
    const rejectOne = async (apiKey: string, accountId: string) => {
      const seeded = await seedDispatch(herald.database, accountId);
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [{ dispatchID: seeded.dispatchId, preFill: [recordOf(seeded, { uuid: 'r1', email: 'broken' })] }],
      });
      expect(answer.status).toBe(207); // one Rejected event, written with the request
    };
    const listened = await seedAccount(herald.database);
    await subscribe(herald, listened.apiKey, { url: 'http://127.0.0.1:9/events' });
    const quiet = await seedAccount(herald.database);
    await rejectOne(listened.apiKey, listened.account.id);
    await rejectOne(quiet.apiKey, quiet.account.id);
    expect(await queuedFor(listened.account.id)).toBe(1);
    expect(await queuedFor(quiet.account.id)).toBe(0);
  });
});
