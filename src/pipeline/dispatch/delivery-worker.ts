import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { recipientZone } from '../scheduling/schedule-first-messages.js';
import { nextOpening } from '../scheduling/send-window.js';
import { claimDueMessages, recoverStaleClaims } from './claim-messages.js';
import { prepareMessages, type Preparation, type PrepareServices } from './prepare-messages.js';
import { recordOutcomes, type Outcome } from './record-outcomes.js';
import type { VendorPool } from './vendor-pool.js';
import { refusal } from '../../vendors/vendor.js';

export interface DeliveryServices extends PrepareServices {
  readonly config: Config;
  readonly clock: Clock;
  readonly vendors: VendorPool;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

const RECOVERY_INTERVAL_MS = 10_000;
const PAUSED_RECHECK_MS = 60_000;

/** Exponential backoff with jitter: base·2^(n−1), between half and all of it, at most a day. */
export function retryDelayMs(baseMs: number, attempt: number, vendorAskedMs?: number): number {
  const exponential = Math.min(86_400_000, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(vendorAskedMs ?? 0, Math.round(exponential * (0.5 + Math.random() / 2)));
}

/**
 * Sends due messages: claims a batch, prepares it (vault, templates, unsubscribe check), sends
 * each through its vendor, and records every outcome. Loops at once while there is work.
 */
export class DeliveryWorker {
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #lastRecovery = 0;

  constructor(private readonly services: DeliveryServices) {}

  start(): void {
    this.#loop = this.#run();
  }

  get running(): boolean {
    return this.#loop !== undefined && !this.#stopping.signal.aborted;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    await this.services.vendors.close();
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      let handled = 0;
      try {
        handled = await this.runOnce();
      } catch (error) {
        this.services.logger.error(
          { err: error },
          'delivery batch failed; its messages are retried after the claim timeout',
        );
      }
      if (handled < this.services.config.deliveryBatchSize) {
        await sleep(this.services.config.deliveryPollMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** One batch: returns how many messages it handled. */
  async runOnce(): Promise<number> {
    const { database, config, clock } = this.services;
    const now = clock.now();
    if (now.getTime() - this.#lastRecovery > RECOVERY_INTERVAL_MS) {
      this.#lastRecovery = now.getTime();
      const recovered = await recoverStaleClaims(database.sql, now, config.sendClaimTimeoutMs);
      if (recovered > 0)
        this.services.logger.warn({ recovered }, 'messages left mid-send by a stopped worker are queued again');
    }
    const batch = await claimDueMessages(database.sql, now, config.deliveryBatchSize);
    if (batch.length === 0) return 0;
    const preparations = await prepareMessages(this.services, batch);
    const outcomes = await Promise.all(preparations.map((p) => this.#deliver(p)));
    await database.transaction((tx) => recordOutcomes(tx.sql, outcomes, this.services.clock.now()));
    for (const o of outcomes) this.services.metrics.jobOutcomes.inc({ job: 'delivery', outcome: o.kind });
    return batch.length;
  }

  async #deliver(preparation: Preparation): Promise<Outcome> {
    const { claimed } = preparation;
    const now = this.services.clock.now();
    switch (preparation.kind) {
      case 'cancel':
        return { kind: 'cancel', claimed, reason: preparation.reason };
      case 'defer':
        return { kind: 'defer', claimed, dueAt: new Date(now.getTime() + PAUSED_RECHECK_MS) };
      case 'fail':
        return {
          kind: 'error',
          claimed,
          vendorId: null,
          category: preparation.category,
          code: null,
          detail: preparation.detail,
        };
    }
    const found = await this.services.vendors.get(claimed.account_id, preparation.vendorId);
    if ('problem' in found) {
      return {
        kind: 'error',
        claimed,
        vendorId: preparation.vendorId,
        category: 'auth_or_config',
        code: null,
        detail: found.problem,
      };
    }
    const vendor = found.vendor;
    const result =
      vendor.delivery === 'single'
        ? await vendor.send(preparation.outgoing)
        : ((await vendor.sendBatch([preparation.outgoing]))[0] ??
          refusal('unknown', null, 'the vendor answered for no recipient'));
    if (result.ok) {
      const policy = preparation.dispatch.policy;
      const reminder = policy?.reminders[claimed.reminder_level];
      const sentAt = this.services.clock.now();
      return {
        kind: 'sent',
        claimed,
        vendorId: preparation.vendorId,
        via: found.kind,
        vendorMessageId: result.vendorMessageId,
        nextReminderAt: reminder
          ? nextOpening(
              new Date(sentAt.getTime() + reminder.afterMinutes * 60_000),
              policy?.sendWindow ?? null,
              recipientZone(preparation.dispatch, claimed.prefills),
            )
          : null,
      };
    }
    const { category, code, detail } = result;
    if (result.retryable && claimed.attempts < this.services.config.sendMaxAttempts) {
      const delay = retryDelayMs(this.services.config.sendRetryBaseMs, claimed.attempts, result.retryAfterMs);
      return { kind: 'retry', claimed, dueAt: new Date(now.getTime() + delay), category, code, detail };
    }
    return { kind: 'error', claimed, vendorId: preparation.vendorId, category, code, detail, gaveUp: result.retryable };
  }
}
