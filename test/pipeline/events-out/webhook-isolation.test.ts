import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookCatcher, type WebhookCatcher } from '../../../src/demo/webhook-catcher.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestHerald } from '../../support/herald.js';
import { invitationRows } from '../../support/ingest.js';
import { seedDispatch } from '../../support/platform.js';
import { waitFor } from '../../support/wait.js';
import { deliveryLog, requestInvitations, startEventsHerald, subscribe } from '../../support/events-out.js';

const TokenCreated = 2;
const CONCURRENCY = 2;

describe.each(databaseKinds())('a stalled receiver on %s', (kind) => {
  let herald: TestHerald;
  const catchers: WebhookCatcher[] = [];
  beforeAll(async () => {
    // Requests to the stalled receiver hang for the whole test: nothing times out meanwhile.
    herald = await startEventsHerald(kind, {
      HERALD_WEBHOOK_TIMEOUT_MS: '120000',
      HERALD_WEBHOOK_CONCURRENCY: String(CONCURRENCY),
    });
  });
  afterAll(async () => {
    await Promise.all(catchers.map((c) => c.close()));
    await herald?.stop();
  });

  it("holds only its own subscription's slots: other subscriptions and new requests go on", async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    let stalledOpen = 0;
    let stalledMaxOpen = 0;
    const stalled = await startWebhookCatcher({
      respond: () => {
        stalledOpen += 1;
        stalledMaxOpen = Math.max(stalledMaxOpen, stalledOpen);
        return 'stall';
      },
    });
    const healthy = await startWebhookCatcher();
    catchers.push(stalled, healthy);
    const slow = await subscribe(herald, apiKey, { url: stalled.url });
    const fast = await subscribe(herald, apiKey, { url: healthy.url });
    stalled.setSecrets([slow.secret]);
    healthy.setSecrets([fast.secret]);

    const tokenCreatedCount = () => healthy.received.filter((w) => w.envelope.data.action === TokenCreated).length;
    const uuids = Array.from({ length: 12 }, (_, i) => `s-${i}`);
    const firstBatch = await requestInvitations(herald, apiKey, seeded, uuids);
    await waitFor(() => tokenCreatedCount() === 12, 15_000, {
      description: "the healthy subscription's TokenCreated events",
    });
    await waitFor(() => stalledOpen === CONCURRENCY, 5_000, { description: 'the stalled receiver holding its slots' });

    // A new request while the stalled receiver still holds its requests: tokens are created and the
    // healthy subscription gets its events.
    const secondBatch = await requestInvitations(herald, apiKey, seeded, ['s-late-1', 's-late-2']);
    const late = await waitFor(
      async () => {
        const rows = await invitationRows(herald.database, account.id, secondBatch);
        return rows.length === 2 && rows.every((r) => r.token) && rows;
      },
      10_000,
      { description: 'tokens of the second request' },
    );
    await waitFor(() => tokenCreatedCount() === 14, 10_000, { description: 'the second request delivered' });
    const lateIds = new Set(late.map((r) => r.id));
    expect(healthy.received.filter((w) => lateIds.has(w.envelope.data.invitationId)).length).toBeGreaterThanOrEqual(2);

    // All that while the stalled receiver never got more than its slots, and nothing came back from it.
    expect(stalledOpen).toBe(CONCURRENCY);
    expect(stalledMaxOpen).toBe(CONCURRENCY);
    const waiting = await deliveryLog(herald, apiKey, slow.subscription.id);
    expect(waiting.length).toBeGreaterThanOrEqual(14 * 2);
    expect(waiting.every((d) => d.status === 'pending' && d.attempts === 0)).toBe(true);
    expect((await invitationRows(herald.database, account.id, firstBatch)).every((r) => r.token)).toBe(true);
  });
});
