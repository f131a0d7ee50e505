import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ExperiencePlatform } from '../../platforms/experience-platform.js';
import type { Database } from '../../storage/database.js';
import { fallbackDefinitions } from '../scheduling/channel-fallback.js';
import { queueForBulkSend, type BulkEntry } from './bulk-batches.js';
import { permanentFailuresOf, recordOutcomes, type Outcome } from './record-outcomes.js';

export interface RecorderServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface RecorderOptions {
  /** Messages handed to vendors and not yet committed, at most (HERALD_SEND_WINDOW). */
  readonly window: number;
  readonly bulkBatchSize: number;
}

interface Pending {
  result: Outcome | BulkEntry;
  /** Whether the result holds a place in the send window (it went to a vendor). */
  held: boolean;
  committed: () => void;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;
/** About half a minute of retries; then the claims are left to stale-claim recovery. */
const COMMIT_ATTEMPTS = 10;

/**
 * Commits delivery outcomes in small, frequent group commits, independent of the claim size: a
 * commit starts as soon as the previous one ends, with every outcome that arrived meanwhile. The
 * send window caps how many messages may be out at a vendor without a committed outcome, so a
 * process killed at any moment has at most that many sent and not recorded — the only messages a
 * restart sends again.
 *
 * A commit that fails (the database went away) is retried with backoff, outcomes kept: meanwhile
 * the window stays full, and sending waits for the database instead of piling up outcomes that a
 * kill would lose. When it still fails after about half a minute, the group is given up: its
 * messages stay claimed and are sent again after the claim timeout (at-least-once, at most a
 * window's worth twice), and the worker goes on instead of hanging.
 */
export class OutcomeRecorder {
  #pending: Pending[] = [];
  #flushing = false;
  #inWindow = 0;
  #waitingForPlace: (() => void)[] = [];

  constructor(
    private readonly services: RecorderServices,
    private readonly options: RecorderOptions,
  ) {}

  /** Waits for a place in the send window; `record(…, true)` gives it back once committed. */
  async enterWindow(): Promise<void> {
    if (this.#inWindow < this.options.window) {
      this.#inWindow += 1;
      return;
    }
    // The place is handed over by the commit that frees it (counted there), in arrival order.
    await new Promise<void>((resolve) => this.#waitingForPlace.push(resolve));
  }

  /** Queues one result for the next group commit; resolves once it is committed (or given up). */
  record(result: Outcome | BulkEntry, held: boolean): Promise<void> {
    return new Promise<void>((committed) => {
      this.#pending.push({ result, held, committed });
      if (this.#flushing) return;
      this.#flushing = true;
      // #flushAll does not reject: #commit catches what a commit throws.
      void this.#flushAll().finally(() => (this.#flushing = false));
    });
  }

  async #flushAll(): Promise<void> {
    while (this.#pending.length > 0) {
      const group = this.#pending;
      this.#pending = [];
      await this.#commit(group.map((p) => p.result));
      for (const p of group) {
        p.committed();
        if (p.held) this.#leaveWindow();
      }
      for (const p of group) this.services.metrics.jobOutcomes.inc({ job: 'delivery', outcome: p.result.kind });
    }
  }

  #leaveWindow(): void {
    const next = this.#waitingForPlace.shift();
    if (next) next();
    else this.#inWindow -= 1;
  }

  /** Writes one group, retrying while it fails, up to COMMIT_ATTEMPTS. */
  async #commit(results: readonly (Outcome | BulkEntry)[]): Promise<void> {
    const outcomes = results.filter((r): r is Outcome => r.kind !== 'queue');
    const queued = results.filter((r): r is BulkEntry => r.kind === 'queue');
    const { database, platform, clock, logger } = this.services;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const fallback = await fallbackDefinitions(platform, permanentFailuresOf(outcomes));
        await database.transaction(async (tx) => {
          await recordOutcomes(tx.sql, outcomes, clock.now(), fallback);
          if (queued.length > 0) await queueForBulkSend(tx.sql, queued, this.options.bulkBatchSize, clock.now());
        });
        return;
      } catch (error) {
        if (attempt >= COMMIT_ATTEMPTS) {
          logger.error(
            { err: error, outcomes: results.length, attempts: attempt },
            'recording delivery outcomes failed for good; their messages are sent again after the claim timeout',
          );
          return;
        }
        const delayMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (attempt - 1));
        logger.error(
          { err: error, outcomes: results.length, attempt, retryInMs: delayMs },
          'recording delivery outcomes failed; retrying (sending waits meanwhile)',
        );
        await sleep(delayMs);
      }
    }
  }
}
