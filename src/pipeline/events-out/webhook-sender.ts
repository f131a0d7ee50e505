import { setMaxListeners } from 'node:events';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Vault } from '../../privacy/vault.js';
import type { Database } from '../../storage/database.js';
import { serializeEnvelope, type EventEnvelope } from './envelope.js';
import { originalIdentifiers } from './original-identifiers.js';
import { postJson, type PostResult } from './http-post.js';
import { PollingLoop } from './polling-loop.js';
import { nextAttemptAt } from './retry-schedule.js';
import { signingSecrets } from './subscriptions.js';
import {
  claimDueDeliveries,
  recordDeliveryOutcomes,
  releaseClaims,
  type ClaimedDelivery,
  type DeliveryOutcome,
} from './webhook-delivery-queue.js';
import { signWebhook, WebhookHeaders } from './webhook-signature.js';

export interface WebhookSenderServices {
  readonly database: Database;
  readonly vault: Vault;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

interface Target {
  url: string;
  secrets: string[];
  /** The subscription asked for personal data and its account allows it. */
  pii: boolean;
}

/** A claimed delivery waiting in this process for a free slot of its subscription. */
interface Queued {
  delivery: ClaimedDelivery;
  target: Target;
  payload: EventEnvelope;
}

/**
 * How many rounds of HERALD_WEBHOOK_CONCURRENCY requests a subscription's local queue holds: one
 * claim (one scan of the due deliveries) then feeds many requests.
 */
const PREFETCH_ROUNDS = 10;

/** Outcomes of requests that finish close together are written in one transaction. */
const FLUSH_DELAY_MS = 10;

/**
 * Posts webhook deliveries. Each tick writes the outcomes of finished requests and tops up, with
 * one claim, the local queue of each subscription that is running low; requests go out from those
 * queues, at most HERALD_WEBHOOK_CONCURRENCY at a time per subscription, without the loop waiting
 * for them. So a slow endpoint only ever holds its own subscription's slots and queue — never the
 * loop, the other subscriptions or the pipeline. A finished request starts the next one of its
 * subscription at once and wakes the loop to write its outcome.
 */
export class WebhookSender {
  readonly #loop: PollingLoop;
  readonly #aborting = new AbortController();
  readonly #inFlight = new Map<number, { subscriptionId: string; done: Promise<void> }>();
  readonly #busy = new Map<string, number>();
  readonly #queues = new Map<string, Queued[]>();
  #outcomes: DeliveryOutcome[] = [];
  #released: number[] = [];
  /** Claim on the next tick rather than waiting for the poll interval: new work or a queue ran low. */
  #claimSoon = true;
  #lastClaim = 0;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly services: WebhookSenderServices) {
    // Every request in flight listens for the stop.
    setMaxListeners(0, this.#aborting.signal);
    this.#loop = new PollingLoop('webhook sender', () => this.tick(), services.config.eventsPollMs, services.logger);
  }

  get running(): boolean {
    return this.#loop.running;
  }

  start(): void {
    this.#loop.start();
  }

  /** New deliveries were written: look now rather than after the idle wait. */
  wake(): void {
    this.#claimSoon = true;
    this.#loop.wake();
  }

  /**
   * Stops claiming, abandons requests in flight and gives back their claims and the queued ones,
   * then writes what finished.
   */
  async stop(): Promise<void> {
    await this.#loop.stop();
    clearTimeout(this.#flushTimer);
    for (const queue of this.#queues.values()) this.#released.push(...queue.map((q) => q.delivery.id));
    this.#queues.clear();
    this.#aborting.abort();
    await Promise.all([...this.#inFlight.values()].map((f) => f.done));
    await this.#flush();
  }

  /** One round: returns true when there may be more due right away. */
  async tick(): Promise<boolean> {
    await this.#flush();
    const { config, clock, database } = this.services;
    const now = clock.now();
    // A claim scans the due deliveries: it runs when there is reason to, or once per poll interval
    // (for retries falling due and other processes' work), not after every finished request.
    if (!this.#claimSoon && now.getTime() - this.#lastClaim < config.eventsPollMs) return false;
    this.#claimSoon = false;
    this.#lastClaim = now.getTime();
    const prefetch = config.webhookConcurrency * PREFETCH_ROUNDS;
    // A subscription whose queue is still half full is not topped up yet (nor even looked at, so
    // one with a large backlog never crowds the others out of the claim).
    const partial = new Map<string, number>();
    const full: string[] = [];
    let held = 0;
    for (const id of new Set([...this.#queues.keys(), ...this.#busy.keys()])) {
      const count = this.#held(id);
      held += count;
      if (count >= prefetch / 2) full.push(id);
      else if (count > 0) partial.set(id, prefetch - count);
    }
    const total = config.eventsBatchSize - held;
    // A claim older than the longest its delivery can wait in the queue and then take belongs to a
    // sender that died.
    const staleBefore = new Date(now.getTime() - (PREFETCH_ROUNDS + 1) * config.webhookTimeoutMs - 60_000);
    const claimed = await claimDueDeliveries(database.sql, now, staleBefore, {
      total,
      perSubscription: prefetch,
      partial,
      full,
    });
    if (claimed.length === 0) return false;
    const targets = await this.#targets(claimed, now);
    const originals = await originalIdentifiers(
      database.sql,
      this.services.vault,
      claimed.filter((d) => targets.get(d.subscriptionId)?.pii && d.invitationId).map((d) => d.invitationId as string),
    );
    for (const delivery of claimed) {
      const target = targets.get(delivery.subscriptionId);
      if (!target) {
        this.#released.push(delivery.id); // deleted meanwhile; its deliveries went with it
        continue;
      }
      let payload = delivery.payload;
      const original = target.pii && delivery.invitationId ? originals.get(delivery.invitationId) : undefined;
      if (original) payload = { ...payload, data: { ...payload.data, ...original, identifiers: 'original' } };
      const queue = this.#queues.get(delivery.subscriptionId) ?? [];
      queue.push({ delivery, target, payload });
      this.#queues.set(delivery.subscriptionId, queue);
    }
    for (const id of new Set(claimed.map((d) => d.subscriptionId))) this.#pump(id);
    this.#claimSoon = claimed.length >= total;
    return this.#claimSoon;
  }

  /** A subscription's deliveries queued or in flight here. */
  #held(subscriptionId: string): number {
    return (this.#queues.get(subscriptionId)?.length ?? 0) + (this.#busy.get(subscriptionId) ?? 0);
  }

  /** Starts queued requests of a subscription while it has free slots. */
  #pump(subscriptionId: string): void {
    const queue = this.#queues.get(subscriptionId);
    while (
      queue &&
      queue.length > 0 &&
      (this.#busy.get(subscriptionId) ?? 0) < this.services.config.webhookConcurrency
    ) {
      const next = queue.shift() as Queued;
      this.#send(next.delivery, next.target, next.payload);
    }
    if (queue?.length === 0) this.#queues.delete(subscriptionId);
  }

  async #targets(claimed: readonly ClaimedDelivery[], now: Date): Promise<Map<string, Target>> {
    const rows = await this.services.database.sql.query<{
      id: string;
      url: string;
      secret: Uint8Array;
      secret_key_id: string;
      previous_secret: Uint8Array | null;
      previous_secret_key_id: string | null;
      previous_secret_expires_at: Date | string | null;
      pii: boolean;
    }>(
      `SELECT s.id, s.url, s.secret, s.secret_key_id, s.previous_secret, s.previous_secret_key_id,
              s.previous_secret_expires_at, s.include_pii AND a.allow_pii_in_events AS pii
       FROM webhook_subscriptions s JOIN accounts a ON a.id = s.account_id WHERE s.id = ANY($1::uuid[])`,
      [[...new Set(claimed.map((d) => d.subscriptionId))]],
    );
    return new Map(
      rows.map((r) => [
        r.id,
        {
          url: r.url,
          pii: r.pii,
          secrets: signingSecrets(
            this.services.vault,
            {
              id: r.id,
              secret: r.secret,
              secretKeyId: r.secret_key_id,
              previousSecret: r.previous_secret,
              previousSecretKeyId: r.previous_secret_key_id,
              previousSecretExpiresAt: r.previous_secret_expires_at ? new Date(r.previous_secret_expires_at) : null,
            },
            now,
          ),
        },
      ]),
    );
  }

  #send(delivery: ClaimedDelivery, target: Target, payload: EventEnvelope): void {
    const { clock, config } = this.services;
    const body = serializeEnvelope(payload);
    const attemptedAt = clock.now();
    const timestamp = Math.floor(attemptedAt.getTime() / 1000);
    const headers = {
      [WebhookHeaders.eventId]: delivery.eventId,
      [WebhookHeaders.timestamp]: String(timestamp),
      [WebhookHeaders.signature]: signWebhook(body, target.secrets, timestamp),
      'herald-delivery-attempt': String(delivery.attempts + 1),
    };
    const done = postJson(target.url, body, headers, config.webhookTimeoutMs, this.#aborting.signal, config.egress)
      .then((result) => this.#finished(delivery, attemptedAt, result))
      .catch((error: unknown) => {
        this.services.logger.error({ err: error, deliveryId: delivery.id }, 'webhook request bookkeeping failed');
        this.#released.push(delivery.id);
      })
      .finally(() => {
        this.#inFlight.delete(delivery.id);
        const busy = (this.#busy.get(delivery.subscriptionId) ?? 1) - 1;
        if (busy > 0) this.#busy.set(delivery.subscriptionId, busy);
        else this.#busy.delete(delivery.subscriptionId);
        if (!this.#aborting.signal.aborted) this.#pump(delivery.subscriptionId);
        if (this.#held(delivery.subscriptionId) < (this.services.config.webhookConcurrency * PREFETCH_ROUNDS) / 2) {
          this.#claimSoon = true;
        }
        this.#flushTimer ??= setTimeout(() => {
          this.#flushTimer = undefined;
          this.#loop.wake();
        }, FLUSH_DELAY_MS);
      });
    this.#busy.set(delivery.subscriptionId, (this.#busy.get(delivery.subscriptionId) ?? 0) + 1);
    this.#inFlight.set(delivery.id, { subscriptionId: delivery.subscriptionId, done });
  }

  #finished(delivery: ClaimedDelivery, attemptedAt: Date, result: PostResult): void {
    if (result.kind === 'aborted') {
      this.#released.push(delivery.id);
      return;
    }
    const { config, clock } = this.services;
    const ok = result.kind === 'answered' && result.status >= 200 && result.status < 300;
    const statusCode = result.kind === 'answered' ? result.status : null;
    const error = ok ? null : result.kind === 'answered' ? `HTTP ${result.status}` : result.error;
    const next = ok
      ? null
      : nextAttemptAt(
          clock.now(),
          delivery.since,
          delivery.attempts + 1,
          config.webhookRetryBaseMs,
          config.webhookRetryHorizonSeconds * 1000,
        );
    const status = ok ? 'delivered' : next ? 'pending' : 'dead';
    this.#outcomes.push({
      delivery,
      attemptedAt,
      latencyMs: result.latencyMs,
      statusCode,
      error,
      status,
      nextAttemptAt: next,
    });
  }

  async #flush(): Promise<void> {
    const { database, clock, config, logger, metrics } = this.services;
    const released = this.#released;
    this.#released = [];
    await releaseClaims(database.sql, released);
    const outcomes = this.#outcomes;
    if (outcomes.length === 0) return;
    this.#outcomes = [];
    const now = clock.now();
    const disableBefore = new Date(now.getTime() - config.webhookDisableAfterSeconds * 1000);
    let disabled;
    try {
      disabled = await database.transaction((tx) => recordDeliveryOutcomes(tx.sql, outcomes, now, disableBefore));
    } catch (error) {
      // Not written: the claims go stale and the deliveries are sent again (at least once).
      logger.error({ err: error, deliveries: outcomes.length }, 'webhook outcomes could not be recorded');
      throw error;
    }
    for (const o of outcomes) metrics.jobOutcomes.inc({ job: 'webhook', outcome: o.status });
    for (const o of outcomes) {
      if (o.status === 'dead') {
        logger.warn(
          { subscriptionId: o.delivery.subscriptionId, deliveryId: o.delivery.id, eventId: o.delivery.eventId },
          'webhook delivery dead-lettered after its retry horizon',
        );
      }
    }
    for (const d of disabled) {
      // What this process still holds for it goes back: a disabled subscription gets nothing more.
      this.#released.push(...(this.#queues.get(d.id) ?? []).map((q) => q.delivery.id));
      this.#queues.delete(d.id);
      logger.warn({ subscriptionId: d.id, accountId: d.accountId }, 'webhook subscription disabled: it kept failing');
    }
  }
}
