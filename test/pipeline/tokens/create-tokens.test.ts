import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { loadConfig, type Config } from '../../../src/config/config.js';
import { startHerald, type RunningHerald } from '../../../src/herald.js';
import { jobHandlers } from '../../../src/jobs/handlers.js';
import { JobQueue } from '../../../src/jobs/job-queue.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { acceptDispatchRequest } from '../../../src/pipeline/ingest/accept-dispatch-request.js';
import type { ExperiencePlatform } from '../../../src/platforms/experience-platform.js';
import { StandalonePlatform } from '../../../src/platforms/standalone/standalone-platform.js';
import { parseVaultKeys, Vault } from '../../../src/privacy/vault.js';
import { seedAccount } from '../../support/accounts.js';
import { createPostgresDatabase, databaseKinds, openTestDatabase, type TestDatabase } from '../../support/databases.js';
import { startTestHerald, TEST_VAULT_KEYS, type TestHerald } from '../../support/herald.js';
import {
  eventRows,
  invitationRows,
  logRows,
  postDispatchRequest,
  recordOf,
  type InvitationRow,
} from '../../support/ingest.js';
import { apiRequest } from '../../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../../support/platform.js';
import { makeTempDir, removeTempDirs } from '../../support/temp-dirs.js';
import { waitFor } from '../../support/wait.js';

const TOKEN = /^[A-Za-z0-9_-]{22,}$/;
const Action = { Requested: 0, TokenCreated: 2, Error: 4 } as const;
const createdCount = (message: string) =>
  Number(/Survey tokens created and recorded for (\d+) invitations/.exec(message)?.[1]);

/** A started job queue (no workers yet) on `database`, with quick polling, no token grouping wait and `env`. */
async function startQueue(database: TestDatabase['database'], env: Record<string, string>) {
  const config = loadConfig({
    HERALD_WORKER_POLL_MS: '50',
    HERALD_TOKEN_FLUSH_MS: '0',
    HERALD_LOG_LEVEL: 'silent',
    HERALD_VAULT_KEYS: TEST_VAULT_KEYS,
    ...env,
  });
  const queue = new JobQueue(database, config, createMetrics(), createLogger('silent'));
  await queue.start();
  return { config, queue };
}

async function allHaveTokens(
  database: RunningHerald['database'],
  accountId: string,
  batchId: string,
  expected: number,
) {
  const rows = await invitationRows(database, accountId, batchId);
  const accepted = rows.filter((r) => r.state !== 'rejected' && r.state !== 'throttled' && r.state !== 'suppressed');
  return accepted.length === expected && accepted.every((r) => r.state === 'token_created' && r.token) && rows;
}

describe.each(databaseKinds())('survey tokens in batches on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { env: { HERALD_TOKEN_BATCH_SIZE: '3', HERALD_TOKEN_FLUSH_MS: '1500' } });
  });
  afterAll(() => herald?.stop());

  async function send(apiKey: string, seeded: SeededDispatch, uuids: string[]) {
    const answer = await postDispatchRequest(herald, apiKey, {
      json: [
        {
          dispatchID: seeded.dispatchId,
          preFill: uuids.map((uuid) => recordOf(seeded, { uuid, email: `${uuid}@example.com` })),
        },
      ],
    });
    expect(answer.status).toBe(207);
    return answer.body.batchId;
  }

  it('gives 7 invitations distinct unguessable tokens, created 3 at a time, each with a TokenCreated event', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const batchId = await send(apiKey, seeded, ['t1', 't2', 't3', 't4', 't5', 't6', 't7']);
    const rows = await waitFor(() => allHaveTokens(herald.database, account.id, batchId, 7), 30_000, {
      description: 'all 7 invitations to get tokens',
    });
    const tokens = rows.map((r) => r.token!);
    for (const token of tokens) expect(token).toMatch(TOKEN);
    expect(new Set(tokens).size).toBe(7);
    const [unique] = await herald.database.sql.query<{ tokens: string | number; distinct_tokens: string | number }>(
      'SELECT count(token) AS tokens, count(DISTINCT token) AS distinct_tokens FROM invitations',
    );
    expect(Number(unique?.distinct_tokens)).toBe(Number(unique?.tokens));

    const events = await eventRows(
      herald.database,
      rows.map((r) => r.id),
    );
    for (const row of rows) {
      // The timeline starts Requested, TokenCreated (with the token); later steps (scheduling, sending) may follow.
      const timeline = events.filter((e) => e.invitation_id === row.id).map((e) => [e.action, e.target_id]);
      expect(timeline.slice(0, 2)).toEqual([
        [Action.Requested, null],
        [Action.TokenCreated, row.token],
      ]);
      expect(timeline.filter(([action]) => action === Action.TokenCreated)).toHaveLength(1);
    }
    // One platform call per batch of at most HERALD_TOKEN_BATCH_SIZE: 3 + 3, then the last one after the flush time.
    const created = (await logRows(herald.database, account.id))
      .filter((l) => l.dispatch_id === seeded.dispatchId && /Survey tokens created/.test(l.message))
      .map((l) => createdCount(l.message));
    expect(created).toEqual([3, 3, 1]);
  });

  it('holds a batch smaller than the batch size until HERALD_TOKEN_FLUSH_MS, then creates its tokens', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const batchId = await send(apiKey, seeded, ['s1', 's2']);
    // Right after the answer nothing has a token yet: the small batch waits to be grouped.
    expect((await invitationRows(herald.database, account.id, batchId)).map((r) => r.state)).toEqual([
      'requested',
      'requested',
    ]);
    await waitFor(() => allHaveTokens(herald.database, account.id, batchId, 2), 30_000);
    const [waited] = await herald.database.sql.query<{ ms: number }>(
      `SELECT min(extract(epoch FROM e.occurred_at - i.created_at) * 1000)::float8 AS ms
       FROM invitations i JOIN invitation_events e ON e.invitation_id = i.id
       WHERE i.account_id = $1 AND e.action = $2`,
      [account.id, Action.TokenCreated],
    );
    expect(Number(waited?.ms)).toBeGreaterThanOrEqual(1500);
    const created = (await logRows(herald.database, account.id))
      .filter((l) => /Survey tokens created/.test(l.message))
      .map((l) => createdCount(l.message));
    expect(created.reduce((a, b) => a + b, 0)).toBe(2);
  });
});

describe.each(databaseKinds())('token creation that keeps failing on %s', (kind) => {
  const REASON = 'the survey platform is down (test)';
  let test: TestDatabase;
  let queue: JobQueue;
  let config: Config;
  const calls: { dispatchId: string; records: number }[] = [];

  beforeAll(async () => {
    test = await openTestDatabase(kind);
    ({ config, queue } = await startQueue(test.database, {
      HERALD_JOB_RETRY_LIMIT: '1',
      HERALD_JOB_RETRY_DELAY_SECONDS: '1',
    }));
    const standalone = new StandalonePlatform(test.database.db);
    const failing: ExperiencePlatform = {
      settings: (accountId) => standalone.settings(accountId),
      dispatch: (accountId, dispatchId) => standalone.dispatch(accountId, dispatchId),
      async createTokens(_accountId, dispatchId, records) {
        calls.push({ dispatchId, records: records.length });
        throw new Error(REASON);
      },
      unsubscribed: (accountId, hashes) => standalone.unsubscribed(accountId, hashes),
    };
    const services = { database: test.database, platform: failing, queue, config, clock: systemClock };
    queue.work(jobHandlers(services));
  });
  afterAll(async () => {
    await queue?.stop();
    await test?.database.close();
  });

  it('retries, then marks the invitations token_failed with an Error event and an Error log entry, and dead-letters the job', async () => {
    const { account } = await seedAccount(test.database);
    const seeded = await seedDispatch(test.database, account.id);
    const batchId = randomUUID();
    const vault = new Vault(parseVaultKeys(TEST_VAULT_KEYS).keys);
    const result = await acceptDispatchRequest(
      { database: test.database, platform: new StandalonePlatform(test.database.db), queue, vault, config },
      account.id,
      batchId,
      [
        {
          dispatchId: seeded.dispatchId,
          records: ['f1', 'f2', 'f3'].map((uuid) => recordOf(seeded, { uuid, email: `${uuid}@example.com` })),
        },
      ],
    );
    expect(result.statusByDispatch[0]?.dispatchStatus).toBe(202);

    const [letter] = await waitFor(
      async () => {
        const letters = await queue.deadLetters({ accountId: account.id });
        return letters.length > 0 && letters;
      },
      45_000,
      { description: 'the tokens.create job to be dead-lettered' },
    );
    expect(letter?.job).toBe('tokens.create');
    expect(letter?.payload).toEqual({ accountId: account.id, dispatchId: seeded.dispatchId });
    expect(JSON.stringify(letter?.error)).toContain(REASON);

    const rows: InvitationRow[] = await waitFor(async () => {
      const found = await invitationRows(test.database, account.id, batchId);
      return found.every((r) => r.state === 'token_failed') && found;
    }, 15_000);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.token === null)).toBe(true);
    const events = await eventRows(
      test.database,
      rows.map((r) => r.id),
    );
    for (const row of rows) {
      const timeline = events.filter((e) => e.invitation_id === row.id);
      expect(timeline.map((e) => e.action)).toEqual([Action.Requested, Action.Error]);
      expect(timeline[1]).toMatchObject({ level: 'Error', message: expect.stringContaining(REASON) as unknown });
    }
    const errors = (await logRows(test.database, account.id)).filter((l) => l.level === 'Error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      dispatch_id: seeded.dispatchId,
      message: expect.stringContaining(REASON) as unknown,
    });
    expect(errors[0]?.message).toMatch(/\b3 invitations\b/);
    // The first attempt and one retry (HERALD_JOB_RETRY_LIMIT=1), each one bulk call for all three.
    expect(calls.filter((c) => c.dispatchId === seeded.dispatchId)).toEqual([
      { dispatchId: seeded.dispatchId, records: 3 },
      { dispatchId: seeded.dispatchId, records: 3 },
    ]);
  });
});

describe.each(databaseKinds())('a restart between accepting and creating tokens on %s', (kind) => {
  const running: RunningHerald[] = [];
  afterAll(async () => {
    for (const herald of running) await herald.stop();
    removeTempDirs();
  });

  it('loses no accepted invitation: each gets its token once workers run', async () => {
    let env: Record<string, string> = {
      HERALD_VAULT_KEYS: TEST_VAULT_KEYS,
      HERALD_PORT: '0',
      HERALD_LOG_LEVEL: 'silent',
      HERALD_TOKEN_FLUSH_MS: '0',
      HERALD_WORKER_POLL_MS: '50',
    };
    if (kind === 'pglite') env = { ...env, HERALD_DATA_DIR: makeTempDir('herald-restart-') };
    else env = { ...env, DATABASE_URL: await createPostgresDatabase() };

    const first = await startHerald(loadConfig(env), { api: true, workers: false }, 'test');
    running.push(first);
    const { account, apiKey } = await seedAccount(first.database);
    const seeded = await seedDispatch(first.database, account.id);
    const uuids = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const answer = await postDispatchRequest({ url: first.url! }, apiKey, {
      json: [
        {
          dispatchID: seeded.dispatchId,
          preFill: [
            ...uuids.map((uuid) => recordOf(seeded, { uuid, email: `${uuid}@example.com` })),
            recordOf(seeded, { uuid: 'bad', email: 'x' }),
          ],
        },
      ],
    });
    expect(answer.status).toBe(207);
    expect(answer.body.statusByDispatch[0]?.dispatchStatus).toBe(206);
    const batchId = answer.body.batchId;
    const before = await invitationRows(first.database, account.id, batchId);
    expect(before.map((r) => r.state)).toEqual([...uuids.map(() => 'requested'), 'rejected']);
    expect((await first.queue.depths())['tokens.create']).toBeGreaterThanOrEqual(1);
    await first.stop();

    const second = await startHerald(loadConfig(env), { api: true, workers: true }, 'test');
    running.push(second);
    const after = await waitFor(() => allHaveTokens(second.database, account.id, batchId, uuids.length), 30_000, {
      description: 'every invitation accepted before the restart to get a token',
    });
    expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
    expect(after.map((r) => [r.uuid, r.state])).toEqual([
      ...uuids.map((u) => [u, 'token_created']),
      ['bad', 'rejected'],
    ]);
    for (const row of after.slice(0, 5)) expect(row.token).toMatch(TOKEN);
    // The API of the restarted process reports the same.
    const log = await apiRequest<{ tokenId: string | null; tags: string[] }[]>(second.url!, '/api/EventLog', {
      method: 'POST',
      token: apiKey,
      json: { BatchId: batchId },
    });
    const invitations = log.body.filter((e) => e.tags[0] === 'UserData');
    expect(invitations.map((e) => e.tokenId)).toEqual(after.map((r) => r.token));
  });
});

describe.each(databaseKinds())('token creation paced by delivery on %s', (kind) => {
  let test: TestDatabase;
  let queue: JobQueue;

  beforeAll(async () => {
    test = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await queue?.stop();
    await test?.database.close();
  });

  it('lets delivery go first after each batch, and waits for it before the next', async () => {
    let config: Config;
    ({ config, queue } = await startQueue(test.database, { HERALD_TOKEN_BATCH_SIZE: '3' }));
    const { account } = await seedAccount(test.database);
    const seeded = await seedDispatch(test.database, account.id);
    const platform = new StandalonePlatform(test.database.db);
    const withTokens = async () =>
      (await invitationRows(test.database, account.id)).filter((r) => r.token !== null).length;
    // Each turn sees how far token creation got, and holds it until delivery has "caught up".
    const seenAtTurns: number[] = [];
    let releaseTurn: (() => void) | undefined;
    const services = {
      database: test.database,
      platform,
      queue,
      config,
      clock: systemClock,
      giveWayToDelivery: async () => {
        seenAtTurns.push(await withTokens());
        await new Promise<void>((resolve) => (releaseTurn = resolve));
      },
    };
    queue.work(jobHandlers(services));
    const vault = new Vault(parseVaultKeys(TEST_VAULT_KEYS).keys);
    const uuids = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
    await acceptDispatchRequest({ database: test.database, platform, queue, vault, config }, account.id, randomUUID(), [
      {
        dispatchId: seeded.dispatchId,
        records: uuids.map((uuid) => recordOf(seeded, { uuid, email: `${uuid}@example.com` })),
      },
    ]);

    for (const [turn, expected] of [3, 6, 7].entries()) {
      await waitFor(async () => seenAtTurns.length === turn + 1, 20_000, {
        description: `token creation to give way after ${expected} tokens`,
      });
      // Held: no further batch while delivery has its turn.
      expect(await withTokens()).toBe(expected);
      releaseTurn!();
    }
    expect(seenAtTurns).toEqual([3, 6, 7]);
  });
});
