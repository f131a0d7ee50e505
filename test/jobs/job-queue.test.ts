import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { jobNames, type JobContext, type JobHandler, type JobName } from '../../src/jobs/catalogue.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { waitFor } from '../support/wait.js';

/** The payload these tests send: what a handler does with it is up to `fail`. */
interface TestPayload {
  tag: string;
  accountId?: string;
  fail?: boolean;
}

interface Run {
  job: JobName;
  payload: TestPayload;
  context: JobContext;
}

// Any catalogued job will do: the queue is generic over the catalogue.
const JOB: JobName = jobNames[0];
const config = loadConfig({
  HERALD_JOB_RETRY_LIMIT: '1',
  HERALD_JOB_RETRY_DELAY_SECONDS: '1',
  HERALD_WORKER_POLL_MS: '50',
  HERALD_LOG_LEVEL: 'silent',
});

describe.each(databaseKinds())('the job queue on %s', (kind) => {
  let test: TestDatabase;
  let queue: JobQueue;
  let metrics: Metrics;
  const runs: Run[] = [];
  const runsOf = (tag: string) => runs.filter((r) => r.payload.tag === tag);

  const enqueue = (payload: TestPayload) => test.database.transaction((tx) => queue.enqueue(tx, JOB, payload as never));

  async function outcomes(outcome: 'completed' | 'failed'): Promise<number | undefined> {
    const counter = await metrics.jobOutcomes.get();
    return counter.values.find((v) => v.labels.job === JOB && v.labels.outcome === outcome)?.value;
  }

  async function jobRows(tag: string): Promise<number> {
    const [row] = await test.database.sql.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM pgboss.job WHERE data->>'tag' = $1`,
      [tag],
    );
    return Number(row?.n);
  }

  beforeAll(async () => {
    test = await openTestDatabase(kind);
    metrics = createMetrics();
    queue = new JobQueue(test.database, config, metrics, createLogger('silent'));
    await queue.start();
    // One recording handler for every catalogued job; it throws when the payload asks it to.
    const handlers: JobHandler[] = jobNames.map((job) => ({
      name: job,
      async handle(payload: unknown, context: JobContext) {
        const p = payload as TestPayload;
        runs.push({ job, payload: p, context });
        if (p.fail) throw new Error(`deliberate failure of ${p.tag}`);
      },
    }));
    queue.work(handlers);
  });

  afterAll(async () => {
    await queue?.stop();
    await test?.database.close();
  });

  it('runs a job enqueued in a committed transaction, with its payload', async () => {
    const payload = { tag: randomUUID(), accountId: randomUUID() };
    await enqueue(payload);
    const [run] = await waitFor(() => runsOf(payload.tag).length > 0 && runsOf(payload.tag), 15_000);
    expect(run?.job).toBe(JOB);
    expect(run?.payload).toEqual(payload);
    expect(run?.context.retryCount).toBe(0);
    // Completed after the handler returned: recorded in pg-boss and counted.
    await waitFor(async () => {
      const [row] = await test.database.sql.query<{ state: string }>(
        `SELECT state FROM pgboss.job WHERE data->>'tag' = $1`,
        [payload.tag],
      );
      return row?.state === 'completed';
    }, 10_000);
    await waitFor(async () => (await outcomes('completed')) === 1, 10_000);
    expect((await queue.depths())[JOB]).toBe(0);
  });

  it('never runs a job whose transaction rolled back', async () => {
    const rolledBack = randomUUID();
    await expect(
      test.database.transaction(async (tx) => {
        await queue.enqueue(tx, JOB, { tag: rolledBack } as never);
        // Inside the transaction the job exists: enqueue really used the caller's session.
        const [row] = await tx.sql.query<{ n: string | number }>(
          `SELECT count(*) AS n FROM pgboss.job WHERE data->>'tag' = $1`,
          [rolledBack],
        );
        expect(Number(row?.n)).toBe(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await jobRows(rolledBack)).toBe(0);
    expect((await queue.depths())[JOB]).toBe(0);

    // A job committed afterwards runs; the rolled-back one, which would have been fetched first, never did.
    const later = randomUUID();
    await enqueue({ tag: later });
    await waitFor(() => runsOf(later).length > 0, 15_000);
    expect(runsOf(rolledBack)).toHaveLength(0);
  });

  it('dead-letters a job that keeps failing, after its retries, with the error', async () => {
    const accountA = randomUUID();
    const accountB = randomUUID();
    const failingA = { tag: randomUUID(), accountId: accountA, fail: true };
    const failingB = { tag: randomUUID(), accountId: accountB, fail: true };
    await enqueue(failingA);
    await enqueue(failingB);

    const [letter] = await waitFor(async () => {
      const letters = await queue.deadLetters({ accountId: accountA });
      return letters.length > 0 && letters;
    }, 30_000);
    expect(letter?.job).toBe(JOB);
    expect(letter?.payload).toEqual(failingA);
    expect(JSON.stringify(letter?.error)).toContain(`deliberate failure of ${failingA.tag}`);
    expect(Number.isNaN(Date.parse(letter?.failedAt ?? ''))).toBe(false);
    // Run once and retried once (HERALD_JOB_RETRY_LIMIT=1), then never again.
    expect(runsOf(failingA.tag).map((r) => r.context.retryCount)).toEqual([0, 1]);

    await waitFor(async () => (await queue.deadLetters({ accountId: accountB })).length === 1, 30_000);
    // Each account sees only its own dead letters; without a filter, both appear.
    const onlyA = await queue.deadLetters({ accountId: accountA });
    expect(onlyA.map((l) => (l.payload as TestPayload).tag)).toEqual([failingA.tag]);
    const all = (await queue.deadLetters()).map((l) => (l.payload as TestPayload).tag);
    expect(all).toEqual(expect.arrayContaining([failingA.tag, failingB.tag]));
    expect(await queue.deadLetters({ accountId: randomUUID() })).toEqual([]);
    expect(await queue.deadLetters({ limit: 1 })).toHaveLength(1);

    // Two jobs, each run twice.
    await waitFor(async () => (await outcomes('failed')) === 4, 10_000);
  });

  it('refuses to work without exactly one handler per catalogued job, naming the job', () => {
    const idle = new JobQueue(test.database, config, createMetrics(), createLogger('silent'));
    const handler = (name: JobName): JobHandler => ({ name, handle: async () => undefined });
    const complete = jobNames.map(handler);

    expect(() => idle.work(complete.filter((h) => h.name !== JOB))).toThrow(`job "${JOB}" has no handler`);
    expect(() => idle.work([...complete, handler(JOB)])).toThrow(`job "${JOB}" has 2 handlers`);
    expect(() => idle.work([])).toThrow(new RegExp(jobNames.map((n) => `"${n}" has no handler`).join('.*')));
    expect(idle.working).toBe(false);
  });
});
