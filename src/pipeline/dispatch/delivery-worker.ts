import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Clock } from '../../clock.js';
import { Wakeup } from '../../jobs/wakeup.js';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { claimDueMessages, countDueMessages, renewClaims } from './claim-messages.js';
import { answeredOutcome, unsentOutcome, vendorProblemOutcome } from './delivery-outcomes.js';
import { OutcomeJournal, recordJournaledOutcomes } from './outcome-journal.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { prepareMessages, type Preparation, type PrepareServices } from './prepare-messages.js';
import type { Outcome } from './record-outcomes.js';
import { recoverStaleClaims } from './stale-claims.js';
import type { VendorPool } from './vendor-pool.js';

export interface DeliveryServices extends PrepareServices {
  readonly config: Config;
  readonly clock: Clock;
  readonly vendors: VendorPool;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The outcome journal's file, when this process owns an embedded data directory (see OutcomeJournal). */
  readonly journalFile?: string;
}

const RECOVERY_INTERVAL_MS = 10_000;
const JOURNALED_COMMIT_DELAY_MS = 100;
/**
 * Lanes that share the batch size. One lane alone leaves the SMTP connections idle while it
 * claims, prepares and records, and the database idle while it sends; with two, one lane's
 * messages are on the wire while the other works with the database. Claimed and not yet recorded
 * stays at most HERALD_DELIVERY_BATCH_SIZE messages per worker, as with one lane.
 */
const LANES = 2;

/**
 * Sends due messages: claims a batch, prepares it (vault, templates, unsubscribe check), sends
 * each through its vendor, and records every outcome in small group commits as outcomes arrive
 * (OutcomeRecorder), never waiting for the end of the batch. Messages for bulk-send vendors join
 * their vendor's open bulk batch instead (queued), which the BulkFlusher sends. Loops at once
 * while there is work.
 */
export class DeliveryWorker {
  readonly #stopping = new AbortController();
  #loops: Promise<void>[] = [];
  #lastRecovery = 0;
  readonly #wakeup = new Wakeup();
  #waitingForTurn: (() => void)[] = [];
  #turnsTaken = 0;
  /** The due count since the last turn, shared by everything waiting for it. */
  #dueCount?: { turn: number; upTo: number; count: Promise<number> };
  readonly #recorder: OutcomeRecorder;
  readonly #journal: OutcomeJournal | undefined;

  constructor(private readonly services: DeliveryServices) {
    this.#journal = services.journalFile ? new OutcomeJournal(services.journalFile) : undefined;
    this.#recorder = new OutcomeRecorder(services, {
      window: services.config.sendWindow,
      bulkBatchSize: services.config.bulkBatchSize,
      journal: this.#journal,
      // With the journal, commits group about a lane's batch (as many messages as one claim of a
      // lane), at most 100 ms apart: on the embedded database every commit runs on this thread.
      groupTarget: Math.ceil(services.config.deliveryBatchSize / LANES),
      maxDelayMs: JOURNALED_COMMIT_DELAY_MS,
    });
  }

  start(): void {
    const size = this.services.config.deliveryBatchSize;
    const lanes = Math.min(LANES, size);
    // 100 → 50 + 50, 3 → 1 + 2, 1 → 1.
    const recovered = this.#recoverOnStart();
    this.#loops = Array.from({ length: lanes }, async (_, lane) => {
      await recovered;
      await this.#run(Math.floor((size + lane) / lanes));
    });
  }

  /**
   * One process owns an embedded data directory, so at start every message left `sending` was
   * claimed by a process that is gone: it is queued again at once, not after the claim timeout.
   */
  async #recoverOnStart(): Promise<void> {
    if (this.services.database.mode !== 'embedded') return;
    try {
      if (this.#journal) {
        const recorded = await recordJournaledOutcomes(this.services, OutcomeJournal.read(this.#journal.file));
        this.#journal.clear();
        if (recorded > 0)
          this.services.logger.warn(
            { recorded },
            'outcomes of messages sent before a stop are recorded from the journal',
          );
      }
      await this.#recover(this.services.clock.now(), 0);
    } catch (error) {
      this.services.logger.error({ err: error }, 'recovering messages left mid-send failed; retried later');
    }
  }

  async #recover(now: Date, timeoutMs: number): Promise<void> {
    const { database, config, logger } = this.services;
    const { requeued, stuck } = await database.transaction((tx) =>
      recoverStaleClaims(tx.sql, now, timeoutMs, { maxAttempts: config.sendMaxAttempts }),
    );
    if (requeued > 0) logger.warn({ requeued }, 'messages left mid-send by a stopped worker are queued again');
    if (stuck > 0) logger.error({ stuck }, 'messages claimed too often without an outcome are marked Error');
  }

  /**
   * Lets delivery go first: wakes the worker (messages were just scheduled in this process) and
   * resolves once fewer than `backlog` messages are due, or after `capMs`. Token creation waits
   * for this between its batches: creating tokens far ahead of what can be sent gains nothing,
   * and on the embedded database a token batch holds the only connection for its whole
   * transaction, so back-to-back batches would keep delivery — and the SMTP thread's core — idle.
   */
  async giveTurn(backlog: number, capMs: number): Promise<void> {
    const deadline = Date.now() + capMs;
    while (this.running && Date.now() < deadline) {
      await this.#nextTurn(deadline - Date.now());
      if ((await this.#countDue(backlog)) < backlog) return;
    }
  }

  /** Token runs of several dispatches wait for the same turns: one count a turn serves them all. */
  #countDue(upTo: number): Promise<number> {
    const counted = this.#dueCount;
    if (counted?.turn === this.#turnsTaken && counted.upTo === upTo) return counted.count;
    const count = countDueMessages(this.services.database.sql, this.services.clock.now(), upTo);
    this.#dueCount = { turn: this.#turnsTaken, upTo, count };
    return count;
  }

  /** Resolves once the worker has handed a batch to the senders or found nothing due, or after `ms`. */
  async #nextTurn(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#waitingForTurn.push(resolve);
      timer = setTimeout(resolve, ms);
      this.#wakeup.wake();
    });
    clearTimeout(timer);
  }

  #turnTaken(): void {
    this.#turnsTaken += 1;
    const waiting = this.#waitingForTurn;
    this.#waitingForTurn = [];
    for (const resolve of waiting) resolve();
  }

  get running(): boolean {
    return this.#loops.length > 0 && !this.#stopping.signal.aborted;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#loops);
    await this.services.vendors.close();
    this.#journal?.close();
  }

  async #run(limit: number): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      let handled = 0;
      try {
        handled = await this.runOnce(limit);
      } catch (error) {
        this.services.logger.error(
          { err: error },
          'delivery batch failed; its messages are retried after the claim timeout',
        );
      }
      if (handled < limit) {
        await this.#wakeup.sleep(this.services.config.deliveryPollMs, signal);
      } else {
        // A full batch: claim the next at once, but let timers and I/O run first (PGlite answers
        // through promises alone, so back-to-back batches would hold the event loop).
        await yieldToEventLoop();
      }
    }
  }

  /** One batch of at most `limit` messages: returns how many it handled, once all are recorded. */
  async runOnce(limit = this.services.config.deliveryBatchSize): Promise<number> {
    const { database, config, clock } = this.services;
    const now = clock.now();
    if (now.getTime() - this.#lastRecovery > RECOVERY_INTERVAL_MS) {
      this.#lastRecovery = now.getTime();
      await this.#recover(now, config.sendClaimTimeoutMs);
    }
    const batch = await claimDueMessages(database.sql, now, limit);
    if (batch.length === 0) {
      this.#turnTaken();
      return 0;
    }
    const renewing = this.#renewWhileSending(batch.map((m) => m.id));
    try {
      const preparations = await prepareMessages(this.services, batch);
      const recording = preparations.map((p) => this.#deliverAndRecord(p));
      this.#turnTaken();
      await Promise.all(recording);
    } finally {
      renewing.stop();
    }
    return batch.length;
  }

  /** Renews the batch's claims every third of the claim timeout until stopped. */
  #renewWhileSending(ids: string[]): { stop(): void } {
    const { database, clock, config, logger } = this.services;
    const timer = setInterval(
      () => {
        renewClaims(database.sql, ids, clock.now()).catch((error: unknown) =>
          logger.warn({ err: error }, 'renewing the claims of a delivery batch failed'),
        );
      },
      Math.max(1, Math.floor(config.sendClaimTimeoutMs / 3)),
    );
    return { stop: () => clearInterval(timer) };
  }

  /**
   * Sends one message inside the send window and hands its outcome to the recorder. The vendor is
   * looked up before the window: a batch's messages all ask at once and share one read of it.
   */
  async #deliverAndRecord(preparation: Preparation): Promise<void> {
    const { clock, vendors } = this.services;
    if (preparation.kind !== 'send') {
      await this.#recorder.record(unsentOutcome(preparation, clock.now()), false);
      return;
    }
    const { claimed, vendorId } = preparation;
    let found: Awaited<ReturnType<VendorPool['get']>>;
    try {
      found = await vendors.get(claimed.account_id, vendorId);
    } catch (error) {
      // A vendor client that cannot be built fails this message alone.
      found = { problem: vendorFailure(vendorId, error) };
    }
    if ('problem' in found) {
      await this.#recorder.record(vendorProblemOutcome(preparation, found.problem), false);
      return;
    }
    // A bulk-send vendor takes many recipients a call: the message waits in its vendor's bulk batch.
    if (found.vendor.delivery === 'bulk') {
      await this.#recorder.record({ kind: 'queue', claimed, vendorId, via: found.kind }, false);
      return;
    }
    await this.#recorder.enterWindow();
    let result: Outcome;
    try {
      result = answeredOutcome(this.services, preparation, found.kind, await found.vendor.send(preparation.outgoing));
    } catch (error) {
      // A vendor that throws instead of answering fails this message alone.
      result = vendorProblemOutcome(preparation, vendorFailure(vendorId, error));
    }
    await this.#recorder.record(result, true);
  }
}

function vendorFailure(vendorId: string, error: unknown): string {
  return `Herald could not use the vendor ${vendorId}: ${(error as Error).message}. Check the vendor's settings and secrets (PUT /api/vendors/${vendorId}), then retry the message.`;
}
