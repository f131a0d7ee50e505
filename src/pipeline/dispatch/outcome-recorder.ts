import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ExperiencePlatform } from '../../platforms/experience-platform.js';
import type { Database } from '../../storage/database.js';
import { fallbackDefinitions } from '../scheduling/channel-fallback.js';
import { queueForBulkSend, type BulkEntry } from './bulk-batches.js';
import type { OutcomeJournal } from './outcome-journal.js';
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
  /** On the embedded database: outcomes are journaled as they arrive, and leave the window then. */
  readonly journal?: OutcomeJournal;
  /** With a journal: outcomes a commit waits for (at most `maxDelayMs`) while answers are awaited. */
  readonly groupTarget?: number;
  readonly maxDelayMs?: number;
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
 * restart sends again. With a journal (embedded database), an outcome is recorded the moment it is
 * written there and leaves the window at once; commits then group whatever arrived meanwhile.
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
  #timer: NodeJS.Timeout | undefined;
  #inWindow = 0;
  /** Outcomes waiting for a commit that still hold their place in the window (no journal). */
  #heldPending = 0;
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
    const { journal } = this.options;
    if (held && journal && result.kind !== 'queue') {
      journal.append(result);
      this.#leaveWindow();
      held = false;
    }
    return new Promise<void>((committed) => {
      this.#pending.push({ result, held, committed });
      if (held) this.#heldPending += 1;
      this.#scheduleFlush();
    });
  }

  /**
   * Starts a commit now when the group is big enough or no answer is awaited (nothing more will
   * join soon); otherwise within `maxDelayMs`. Without a journal the group target is one: a commit
   * starts as soon as the previous one ends, since the window waits for it.
   */
  #scheduleFlush(): void {
    if (this.#flushing || this.#pending.length === 0) return;
    const { groupTarget = 1, maxDelayMs = 0 } = this.options;
    const awaitingAnswers = this.#inWindow - this.#heldPending;
    if (this.#pending.length >= groupTarget || awaitingAnswers <= 0) this.#startFlush();
    else this.#timer ??= setTimeout(() => this.#startFlush(), maxDelayMs);
  }

  #startFlush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing) return;
    this.#flushing = true;
    // #flush does not reject: #commit catches what a commit throws.
    void this.#flush().finally(() => {
      this.#flushing = false;
      this.#scheduleFlush();
    });
  }

  async #flush(): Promise<void> {
    const group = this.#pending;
    this.#pending = [];
    if (await this.#commit(group.map((p) => p.result)))
      this.options.journal?.committed(group.map((p) => p.result.claimed.id));
    for (const p of group) {
      p.committed();
      if (p.held) {
        this.#heldPending -= 1;
        this.#leaveWindow();
      }
    }
    for (const p of group) this.services.metrics.jobOutcomes.inc({ job: 'delivery', outcome: p.result.kind });
  }

  #leaveWindow(): void {
    const next = this.#waitingForPlace.shift();
    if (next) next();
    else this.#inWindow -= 1;
  }

  /** Writes one group, retrying while it fails, up to COMMIT_ATTEMPTS; whether it committed. */
  async #commit(results: readonly (Outcome | BulkEntry)[]): Promise<boolean> {
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
        return true;
      } catch (error) {
        if (attempt >= COMMIT_ATTEMPTS) {
          logger.error(
            { err: error, outcomes: results.length, attempts: attempt },
            'recording delivery outcomes failed for good; their messages are sent again after the claim timeout',
          );
          return false;
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
