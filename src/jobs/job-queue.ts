import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Database, Session } from '../storage/database.js';
import {
  checkHandlers,
  jobNames,
  type JobCatalogue,
  type JobHandler,
  type JobName,
  type JobSchedule,
} from './catalogue.js';
import { Wakeup } from './wakeup.js';

const BOSS_SCHEMA = 'pgboss';
const deadLetterOf = (name: string) => `${name}.dead`;

/** A job that exhausted its retries, kept for a person to inspect. */
export interface DeadLetter {
  id: string;
  job: string;
  payload: unknown;
  error: unknown;
  failedAt: string;
}

interface WorkerLoop {
  readonly name: JobName;
  readonly done: Promise<void>;
}

/** pg-boss's view of a database: one call, multi-statement scripts when there are no parameters. */
function bossDb(session: Session, database: Database): PgBoss.Db {
  return {
    async executeSql(text, values) {
      if (!values || values.length === 0) return { rows: await database.execScript(text) };
      return { rows: await session.sql.query(text, values) };
    },
  };
}

function txDb(session: Session): PgBoss.Db {
  return {
    async executeSql(text, values) {
      return { rows: await session.sql.query(text, values ?? []) };
    },
  };
}

/**
 * The durable job queue: pg-boss on Herald's own database. Jobs are enqueued on the caller's
 * session, so a domain write and the work that follows it commit together.
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #stopping = new AbortController();
  #loops: WorkerLoop[] = [];
  readonly #wakeups = new Map<JobName, Wakeup>(jobNames.map((name) => [name, new Wakeup()]));

  constructor(
    private readonly database: Database,
    private readonly config: Config,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.#boss = new PgBoss({
      db: bossDb(database, database),
      schema: BOSS_SCHEMA,
      // Herald runs its own fetch loops (see work()); pg-boss only maintains its tables.
      supervise: true,
      schedule: true,
      migrate: true,
      // How often expired jobs (their worker died) are noticed and retried.
      maintenanceIntervalSeconds: 30,
    });
    this.#boss.on('error', (error) => this.logger.error({ err: error }, 'job queue maintenance failed'));
  }

  /** Creates pg-boss's tables and one queue (plus its dead-letter queue) per catalogued job. */
  async start(): Promise<void> {
    await this.#boss.start();
    for (const name of jobNames) {
      const dead = deadLetterOf(name);
      await this.#boss.createQueue(dead, { name: dead, retentionDays: 30 });
      await this.#boss.createQueue(name, {
        name,
        retryLimit: this.config.jobRetryLimit,
        retryDelay: this.config.jobRetryDelaySeconds,
        retryBackoff: true,
        retentionDays: 30,
        // A job whose worker died is failed (and retried) this long after it started.
        expireInSeconds: 5 * 60,
        deadLetter: dead,
      });
    }
    this.metrics.setQueueDepthSource(() => this.depths());
  }

  /**
   * Tells this process's loop for `name` that a job due now has just been committed, so it fetches
   * at once rather than at its next poll.
   */
  wake(name: JobName): void {
    this.#wakeups.get(name)!.wake();
  }

  /** Adds a job in the caller's transaction: it exists if and only if that transaction commits. */
  async enqueue<N extends JobName>(
    session: Session,
    name: N,
    payload: JobCatalogue[N],
    options: { startAfterSeconds?: number; singletonKey?: string } = {},
  ): Promise<void> {
    await this.#boss.send(name, payload, {
      db: txDb(session),
      ...(options.startAfterSeconds !== undefined && { startAfter: options.startAfterSeconds }),
      ...(options.singletonKey !== undefined && { singletonKey: options.singletonKey }),
    });
  }

  async schedule(schedules: readonly JobSchedule[]): Promise<void> {
    for (const s of schedules) await this.#boss.schedule(s.name, s.cron, s.payload, { tz: 'UTC' });
  }

  /** Starts one fetch loop per job. Fails when a catalogued job has no handler, or two. */
  work(handlers: readonly JobHandler[]): void {
    checkHandlers(handlers);
    this.#loops = handlers.map((handler) => ({ name: handler.name, done: this.#loop(handler) }));
  }

  /** True while every worker loop is running (readiness). */
  get working(): boolean {
    return this.#loops.length > 0 && !this.#stopping.signal.aborted;
  }

  // pg-boss 10's work() waits a full polling interval even after a full batch; this loop fetches
  // again at once while there is work, and sleeps only when the queue is empty.
  async #loop(handler: JobHandler): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      let jobs: PgBoss.JobWithMetadata<JobCatalogue[JobName]>[] = [];
      try {
        jobs = await this.#boss.fetch(handler.name, {
          batchSize: this.config.workerBatchSize,
          includeMetadata: true,
        });
      } catch (error) {
        this.logger.error({ err: error, job: handler.name }, 'fetching jobs failed; retrying');
      }
      if (jobs.length === 0) {
        await this.#wakeups.get(handler.name)!.sleep(this.config.workerPollMs, signal);
        continue;
      }
      await Promise.all(jobs.map((job) => this.#run(handler, job)));
      // Fetch again at once, but let timers and I/O run first: PGlite answers through promises
      // alone, so back-to-back jobs would otherwise hold the event loop from the other workers.
      await yieldToEventLoop();
    }
  }

  async #run(handler: JobHandler, job: PgBoss.JobWithMetadata<JobCatalogue[JobName]>): Promise<void> {
    try {
      await handler.handle(job.data, {
        jobId: job.id,
        retryCount: job.retryCount,
        isFinalAttempt: job.retryCount >= job.retryLimit,
      });
      await this.#boss.complete(handler.name, job.id);
      this.metrics.jobOutcomes.inc({ job: handler.name, outcome: 'completed' });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ job: handler.name, jobId: job.id, retryCount: job.retryCount, error: message }, 'job failed');
      this.metrics.jobOutcomes.inc({ job: handler.name, outcome: 'failed' });
      await this.#boss
        .fail(handler.name, job.id, { message })
        // If even recording the failure fails, the job expires and pg-boss retries it.
        .catch((e: unknown) => this.logger.error({ err: e, jobId: job.id }, 'could not record job failure'));
    }
  }

  /** Jobs waiting to run, by name. */
  async depths(): Promise<Record<string, number>> {
    const rows = await this.database.sql.query<{ name: string; depth: string }>(
      `SELECT name, count(*) AS depth FROM ${BOSS_SCHEMA}.job
       WHERE state IN ('created', 'retry') AND name = ANY($1) GROUP BY name`,
      [jobNames],
    );
    return Object.fromEntries(jobNames.map((n) => [n, Number(rows.find((r) => r.name === n)?.depth ?? 0)]));
  }

  /** Dead-lettered jobs, newest first; only an account's own when `accountId` is given. */
  async deadLetters(options: { accountId?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const rows = await this.database.sql.query<{
      id: string;
      name: string;
      data: unknown;
      output: unknown;
      created_on: Date | string;
    }>(
      `SELECT id, name, data, output, created_on FROM ${BOSS_SCHEMA}.job
       WHERE name = ANY($1) AND ($2::text IS NULL OR data->>'accountId' = $2)
       ORDER BY created_on DESC LIMIT $3`,
      [jobNames.map(deadLetterOf), options.accountId ?? null, options.limit ?? 100],
    );
    return rows.map((r) => ({
      id: r.id,
      job: r.name.slice(0, -'.dead'.length),
      payload: r.data,
      error: r.output,
      failedAt: new Date(r.created_on).toISOString(),
    }));
  }

  /** Stops fetching, waits for jobs in flight (up to the shutdown timeout), then stops pg-boss. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    const drained = Promise.all(this.#loops.map((l) => l.done));
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(resolve, this.config.shutdownTimeoutMs, true).unref()),
    ]);
    // Jobs still running are left active: pg-boss expires and retries them after a restart.
    if (timedOut) this.logger.warn('shutdown timeout reached with jobs still running');
    await this.#boss.stop({ graceful: false, wait: true, close: false });
  }
}
