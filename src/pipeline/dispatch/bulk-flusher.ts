import { setTimeout as sleep } from 'node:timers/promises';
import { refusal } from '../../vendors/vendor.js';
import { fallbackDefinitions } from '../scheduling/channel-fallback.js';
import type { ClaimedMessage } from './claim-messages.js';
import { batchMessages, claimBulkBatches, completeBulkBatch, type ClaimedBulkBatch } from './bulk-batches.js';
import type { DeliveryServices } from './delivery-worker.js';
import { answeredOutcome, unsentOutcome, vendorProblemOutcome, type SendPreparation } from './delivery-outcomes.js';
import { prepareMessages } from './prepare-messages.js';
import { permanentFailuresOf, recordOutcomes, type Outcome } from './record-outcomes.js';

/**
 * Sends bulk batches (the original module's Time-Trigger, architecture §4.9): claims one batch
 * that is full, has waited HERALD_BULK_FLUSH_MS, or was left mid-send by a stopped flusher;
 * prepares its messages again (unsubscribes, answers and pauses are checked at send time), sends
 * them in one vendor call, and records every recipient's outcome and the batch's completion in one
 * transaction.
 *
 * Crash safety: a flusher that dies after claiming leaves the batch `sending` with its messages
 * still `queued`. Once the claim is older than HERALD_SEND_CLAIM_TIMEOUT_MS another flusher claims
 * it again and sends the messages that have no outcome — the only case where a recipient may get
 * the message twice. A batch interrupted more than HERALD_SEND_MAX_ATTEMPTS times is not sent
 * again: its messages become errors. Either way the batch ends `sent` and is kept.
 */
export class BulkFlusher {
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(private readonly services: DeliveryServices) {}

  start(): void {
    this.#loop = this.#run();
  }

  get running(): boolean {
    return this.#loop !== undefined && !this.#stopping.signal.aborted;
  }

  /** Lets the batch in hand finish (its vendor call is bounded by the vendor's timeout), then closes the vendors. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    await this.services.vendors.close();
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      let flushed = 0;
      try {
        flushed = await this.runOnce();
      } catch (error) {
        this.services.logger.error(
          { err: error },
          'bulk batch failed; it is sent again once its claim times out (HERALD_SEND_CLAIM_TIMEOUT_MS)',
        );
      }
      if (flushed === 0) {
        await sleep(this.services.config.deliveryPollMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Claims and sends at most one ready batch; returns how many it sent (0 or 1). */
  async runOnce(): Promise<number> {
    const { database, config, clock } = this.services;
    const [batch] = await claimBulkBatches(database.sql, clock.now(), {
      batchSize: config.bulkBatchSize,
      flushMs: config.bulkFlushMs,
      claimTimeoutMs: config.sendClaimTimeoutMs,
      limit: 1,
    });
    if (!batch) return 0;
    await this.#flush(batch);
    return 1;
  }

  async #flush(batch: ClaimedBulkBatch): Promise<void> {
    const { database, config, clock, logger, metrics } = this.services;
    const log = { batchId: batch.id, vendorId: batch.vendor_id, attempt: batch.attempts };
    if (batch.attempts > 1) logger.warn(log, 'a bulk batch left mid-send by a stopped worker is sent again');
    const messages = await batchMessages(database.sql, batch.id);
    const outcomes =
      batch.attempts > config.sendMaxAttempts
        ? messages.map((claimed): Outcome => ({
            kind: 'error',
            claimed,
            vendorId: batch.vendor_id,
            category: 'unknown',
            code: null,
            detail: `Sending this bulk batch was interrupted ${batch.attempts - 1} times; it is not sent again, so that no recipient gets it once more.`,
          }))
        : await this.#send(batch, messages);

    const fallback = await fallbackDefinitions(this.services.platform, permanentFailuresOf(outcomes));
    const recorded = await database.transaction(async (tx) => {
      const now = clock.now();
      const held = await completeBulkBatch(
        tx.sql,
        batch,
        outcomes.map((o) => o.claimed.id),
        now,
      );
      if (!held) return false;
      if (outcomes.length > 0) await recordOutcomes(tx.sql, outcomes, now, fallback);
      return true;
    });
    if (!recorded) {
      logger.warn(log, 'a bulk batch was taken over by another worker while this one sent it; its outcomes are theirs');
      return;
    }
    const counts: Record<string, number> = {};
    for (const o of outcomes) {
      counts[o.kind] = (counts[o.kind] ?? 0) + 1;
      metrics.jobOutcomes.inc({ job: 'bulk-delivery', outcome: o.kind });
    }
    logger.info({ ...log, messages: outcomes.length, outcomes: counts }, 'bulk batch sent');
  }

  /** Prepares the messages and sends those that should go in one vendor call. */
  async #send(batch: ClaimedBulkBatch, messages: readonly ClaimedMessage[]): Promise<Outcome[]> {
    if (messages.length === 0) return [];
    const { clock, vendors } = this.services;
    const outcomes: Outcome[] = [];
    const sending: SendPreparation[] = [];
    for (const preparation of await prepareMessages(this.services, messages)) {
      if (preparation.kind !== 'send') outcomes.push(unsentOutcome(preparation, clock.now()));
      // The dispatch now sends through another vendor: back in line, to be routed again at once.
      else if (preparation.vendorId !== batch.vendor_id)
        outcomes.push({ kind: 'defer', claimed: preparation.claimed, dueAt: clock.now() });
      else sending.push(preparation);
    }
    if (sending.length === 0) return outcomes;

    const found = await vendors.get(batch.account_id, batch.vendor_id);
    if ('problem' in found) return [...outcomes, ...sending.map((p) => vendorProblemOutcome(p, found.problem))];
    const vendor = found.vendor;
    if (vendor.delivery !== 'bulk') {
      // The vendor's kind no longer sends in bulk: the delivery worker sends these one by one.
      return [...outcomes, ...sending.map((p): Outcome => ({ kind: 'defer', claimed: p.claimed, dueAt: clock.now() }))];
    }
    const results = await vendor.sendBatch(sending.map((p) => p.outgoing));
    return [
      ...outcomes,
      ...retriedTogether(
        sending.map((p, i) =>
          answeredOutcome(
            this.services,
            p,
            found.kind,
            results[i] ?? refusal('unknown', null, 'the vendor answered for no recipient'),
          ),
        ),
      ),
    ];
  }
}

/**
 * The recipients of one call that are to be retried go again at the same time (the latest of
 * their jittered retry times), so their retry is again one call rather than several.
 */
function retriedTogether(outcomes: Outcome[]): Outcome[] {
  const retries = outcomes.flatMap((o) => (o.kind === 'retry' ? [o.dueAt.getTime()] : []));
  if (retries.length < 2) return outcomes;
  const dueAt = new Date(Math.max(...retries));
  return outcomes.map((o) => (o.kind === 'retry' ? { ...o, dueAt } : o));
}
