import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/config.js';
import type { HttpApp } from './http/app-context.js';
import { buildServer } from './http/server.js';
import { checkHandlers } from './jobs/catalogue.js';
import { jobHandlers, jobSchedules } from './jobs/handlers.js';
import { JobQueue } from './jobs/job-queue.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { BulkFlusher } from './pipeline/dispatch/bulk-flusher.js';
import { DeliveryWorker } from './pipeline/dispatch/delivery-worker.js';
import { startBounceReceiver, type BounceReceiver } from './pipeline/feedback/bounce-receiver.js';
import { EventsOutWorkers } from './pipeline/events-out/events-out-workers.js';
import { VendorPool } from './pipeline/dispatch/vendor-pool.js';
import { StandalonePlatform } from './platforms/standalone/standalone-platform.js';
import { Vault } from './privacy/vault.js';
import { resolveVaultKeys } from './privacy/vault-keys.js';
import type { Database } from './storage/database.js';
import { EmbeddedVacuum } from './storage/embedded-vacuum.js';
import { resumeUploads } from './initiator/resume-uploads.js';
import { WatchedFolder } from './initiator/watched-folder.js';
import { openDatabase } from './storage/open-database.js';

/** The longest a token batch waits for delivery to catch up (see DeliveryWorker.giveTurn). */
const GIVE_WAY_CAP_MS = 5000;

/** Which halves of Herald a process runs: `serve` runs both, `api` and `worker` one each. */
export interface Roles {
  readonly api: boolean;
  readonly workers: boolean;
}

export interface RunningHerald {
  readonly database: Database;
  readonly queue: JobQueue;
  readonly vault: Vault;
  readonly logger: Logger;
  /** The API's base URL, when this process serves it. */
  readonly url: string | undefined;
  /** The port of the SMTP endpoint that receives bounces, when this process runs one. */
  readonly bouncePort: number | undefined;
  /** Stops accepting, lets in-flight requests and jobs finish, closes the database. Idempotent. */
  stop(): Promise<void>;
}

function urlOf(server: HttpApp): string {
  const address = server.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Opens storage (or takes the one given, which it then owns and closes), migrates it, and starts
 * the API and/or the workers over the same services.
 */
export async function startHerald(
  config: Config,
  roles: Roles,
  command: string,
  options: { database?: Database; clock?: Clock } = {},
): Promise<RunningHerald> {
  const logger = createLogger(config.logLevel);
  const vault = new Vault(resolveVaultKeys(config));
  const clock = options.clock ?? systemClock;
  const database = options.database ?? (await openDatabase(config, command));
  const metrics = createMetrics();
  const queue = new JobQueue(database, config, metrics, logger);
  const platform = new StandalonePlatform(database.db);
  let server: HttpApp | undefined;
  let delivery: DeliveryWorker | undefined;
  let bulkFlusher: BulkFlusher | undefined;
  let eventsOut: EventsOutWorkers | undefined;
  let bounces: BounceReceiver | undefined;
  let watchedFolder: WatchedFolder | undefined;
  const vacuum = database.mode === 'embedded' ? new EmbeddedVacuum(database, logger) : undefined;

  // Each part gets the shutdown timeout: one that hangs is logged and left, not waited for forever.
  const stopPart = async (name: string, stop: () => Promise<unknown> | undefined) => {
    const stopping = stop();
    if (!stopping) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, config.shutdownTimeoutMs, 'timeout');
    });
    const result = await Promise.race([stopping.then(() => 'stopped' as const), timedOut]).finally(() =>
      clearTimeout(timer),
    );
    if (result === 'timeout')
      logger.error({ part: name }, 'did not stop within the shutdown timeout; going on without it');
  };
  const stopAll = async () => {
    await stopPart('http server', () => server?.close());
    await stopPart('bounce endpoint', () => bounces?.close());
    await stopPart('watched folder', () => watchedFolder?.stop());
    await stopPart('delivery worker', () => delivery?.stop());
    await stopPart('bulk flusher', () => bulkFlusher?.stop());
    await stopPart('events out', () => eventsOut?.stop());
    await stopPart('job queue', () => queue.stop());
    await stopPart('embedded vacuum', () => vacuum?.stop());
    await database.close();
  };
  try {
    await database.migrate();
    vacuum?.start();
    // Checked in every process, not only in workers: a broken catalogue fails any start-up.
    const handlers = jobHandlers(
      {
        database,
        platform,
        queue,
        config,
        clock,
        giveWayToDelivery: async () => delivery?.giveTurn(config.tokenBatchSize, GIVE_WAY_CAP_MS),
      },
      { database, platform, queue, vault, config, logger },
    );
    checkHandlers(handlers);
    await queue.start();
    if (roles.api) {
      const workersHealthy = () =>
        !roles.workers ||
        (queue.working && delivery?.running === true && bulkFlusher?.running === true && eventsOut?.running === true);
      server = await buildServer({ config, database, queue, platform, metrics, vault, workersHealthy }, logger);
      await server.listen({ host: config.host, port: config.port });
    }
    if (roles.workers) {
      await queue.schedule(jobSchedules);
      queue.work(handlers);
      await resumeUploads(database, queue);
      if (config.initiatorDir) {
        watchedFolder = new WatchedFolder({ database, platform, queue, config, logger });
        watchedFolder.start();
      }
      const publicUrl = config.publicUrl ?? (server ? urlOf(server) : `http://${config.host}:${config.port}`);
      delivery = new DeliveryWorker({
        database,
        platform,
        vault,
        publicUrl,
        config,
        clock,
        logger,
        metrics,
        vendors: new VendorPool(database.db, vault, config.egress),
        // The journal lives in the embedded data directory this process opened and holds the lock of.
        ...(database.mode === 'embedded' &&
          !options.database && { journalFile: path.join(config.dataDir, 'delivery-outcomes.journal') }),
      });
      delivery.start();
      // Sends the bulk batches the delivery worker fills; its own vendor clients, closed when it stops.
      bulkFlusher = new BulkFlusher({
        database,
        platform,
        vault,
        publicUrl,
        config,
        clock,
        logger,
        metrics,
        vendors: new VendorPool(database.db, vault, config.egress),
      });
      bulkFlusher.start();
      eventsOut = new EventsOutWorkers({ database, vault, config, clock, logger, metrics });
      eventsOut.start();
      if (config.bounceSmtpPort !== undefined) {
        bounces = await startBounceReceiver(
          { database, platform, logger, clock },
          { host: config.bounceSmtpHost, port: config.bounceSmtpPort, closeTimeoutMs: config.shutdownTimeoutMs },
        );
      }
    }
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }

  const url = server ? urlOf(server) : undefined;
  logger.info(
    { command, database: database.mode, dataLocation: database.location, url, api: roles.api, workers: roles.workers },
    'Herald started',
  );
  let stopping: Promise<void> | undefined;
  return {
    database,
    queue,
    vault,
    logger,
    url,
    bouncePort: bounces?.port,
    stop() {
      stopping ??= stopAll().then(() => logger.info('Herald stopped'));
      return stopping;
    },
  };
}
