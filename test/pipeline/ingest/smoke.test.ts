import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { seedDispatch } from '../../support/platform.js';
import { waitFor } from '../../support/wait.js';

describe.each(databaseKinds())('dispatch request smoke on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { env: { HERALD_TOKEN_FLUSH_MS: '0' } });
  });
  afterAll(() => herald?.stop());

  it('accepts, hashes and creates tokens', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const { q } = seeded;
    const record = (uuid: string, email: string) => [
      { questionId: q.uuid, input: uuid },
      { questionId: q.email, input: email },
      { questionId: q.name, input: 'Ann' },
      { questionId: 'unknown-question', input: 'x' },
    ];
    const response = await herald.request('/api/dispatchRequest', {
      method: 'POST',
      token: apiKey,
      headers: { BatchID: 'batch-1' },
      json: [
        {
          dispatchID: seeded.dispatchId,
          preFill: [
            record('c1', 'Ann@Example.com'),
            record('c2', 'bad'),
            record('c3', 'x@y.com'),
            record('C3', 'z@y.com'),
          ],
        },
      ],
    });
    expect(response.status).toBe(207);
    const body = await response.json();
    expect(body).toMatchObject({
      batchId: 'batch-1',
      statusByDispatch: [{ dispatchId: seeded.dispatchId, dispatchStatus: 206 }],
    });

    type Entry = { tokenId: string | null; state: string; events: { action: number }[]; tags: string[] };
    const entries = await waitFor(
      async () => {
        const log = await herald.request('/api/EventLog', {
          method: 'POST',
          token: apiKey,
          json: { BatchId: 'batch-1' },
        });
        const found = ((await log.json()) as Entry[]).filter((e) => e.tags[0] === 'UserData');
        return found.some((e) => e.tokenId) ? found : undefined;
      },
      20_000,
      { description: 'the accepted invitation to get its token' },
    );
    expect(entries.map((e) => e.state)).toEqual(['token_created', 'rejected', 'throttled', 'throttled']);
    // Requested, TokenCreated, then Scheduled (the first message).
    expect(entries[0]!.events.map((e) => e.action)).toEqual([0, 2, 9]);
  });
});
