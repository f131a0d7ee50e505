import type { Clock } from '../../clock.js';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Vault } from '../../privacy/vault.js';
import type { Database } from '../../storage/database.js';
import { reportDueCampaigns } from './report-due-campaigns.js';
import { relayEvents } from './outbox-relay.js';
import { PollingLoop } from './polling-loop.js';
import { ReporterSender } from './reporter-sender.js';
import { WebhookSender } from './webhook-sender.js';

export interface EventsOutServices {
  readonly database: Database;
  readonly vault: Vault;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Everything that pushes events out, as four loops: the outbox relay (timeline → webhook
 * deliveries), the webhook sender, the campaign reporter (every HERALD_REPORTER_TICK_MS, serving
 * reporters whose interval elapsed) and its sender. Each wakes the next when it wrote work.
 */
export class EventsOutWorkers {
  readonly #relay: PollingLoop;
  readonly #webhooks: WebhookSender;
  readonly #reporter: PollingLoop;
  readonly #reports: ReporterSender;

  constructor(services: EventsOutServices) {
    const { database, config, clock, logger } = services;
    this.#webhooks = new WebhookSender(services);
    this.#reports = new ReporterSender(services);
    this.#relay = new PollingLoop(
      'outbox relay',
      async () => {
        const published = await relayEvents(database, config.eventsBatchSize, clock.now());
        if (published > 0) this.#webhooks.wake();
        return published >= config.eventsBatchSize;
      },
      config.eventsPollMs,
      logger,
    );
    this.#reporter = new PollingLoop(
      'campaign reporter',
      async () => {
        if ((await reportDueCampaigns(database, clock.now())) > 0) this.#reports.wake();
        return false;
      },
      config.reporterTickMs,
      logger,
    );
  }

  get running(): boolean {
    return this.#relay.running && this.#webhooks.running && this.#reporter.running && this.#reports.running;
  }

  start(): void {
    this.#relay.start();
    this.#webhooks.start();
    this.#reporter.start();
    this.#reports.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#relay.stop(), this.#reporter.stop()]);
    await Promise.all([this.#webhooks.stop(), this.#reports.stop()]);
  }
}
