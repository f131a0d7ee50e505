import type { AddressInfo } from 'node:net';
import type { Config } from './config/config.js';
import { checkHandlers } from './jobs/catalogue.js';
import { jobHandlers, jobSchedules } from './jobs/handlers.js';
import { JobQueue } from './jobs/job-queue.js';
import type { HttpApp } from './http/app-context.js';
import { buildServer } from './http/server.js';
import { StandalonePlatform } from './platforms/standalone/standalone-platform.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { Vault } from './privacy/vault.js';
import { resolveVaultKeys } from './privacy/vault-keys.js';
import type { Database } from './storage/database.js';
import { openDatabase } from './storage/open-database.js';

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
  /** Stops accepting, lets in-flight requests and jobs finish, closes the database. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Opens storage (or takes the one given, which it then owns and closes), migrates it, and starts the API and/or the workers over the same services. */
export async function startHerald(
  config: Config,
  roles: Roles,
  command: string,
  options: { database?: Database } = {},
): Promise<RunningHerald> {
  const logger = createLogger(config.logLevel);
  const vault = new Vault(resolveVaultKeys(config));
  const database = options.database ?? (await openDatabase(config, command));
  let server: HttpApp | undefined;
  let queue: JobQueue | undefined;
  try {
    await database.migrate();
    const metrics = createMetrics();
    queue = new JobQueue(database, config, metrics, logger);
    const platform = new StandalonePlatform(database.db);
    // Checked in every process, not only in workers: a broken catalogue fails any start-up.
    const workHandlers = jobHandlers({ database, platform, queue, config });
    checkHandlers(workHandlers);
    await queue.start();
    if (roles.workers) {
      await queue.schedule(jobSchedules);
      queue.work(workHandlers);
    }
    const runningQueue = queue;
    if (roles.api) {
      server = await buildServer(
        {
          config,
          database,
          queue,
          platform,
          metrics,
          vault,
          workersHealthy: () => !roles.workers || runningQueue.working,
        },
        logger,
      );
      await server.listen({ host: config.host, port: config.port });
    }
  } catch (error) {
    await server?.close();
    await queue?.stop().catch(() => undefined);
    await database.close();
    throw error;
  }

  const address = server?.server.address() as AddressInfo | null | undefined;
  const url = address
    ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
    : undefined;
  logger.info(
    { command, database: database.mode, dataLocation: database.location, url, api: roles.api, workers: roles.workers },
    'Herald started',
  );

  let stopping: Promise<void> | undefined;
  const finalQueue = queue;
  return {
    database,
    queue: finalQueue,
    vault,
    logger,
    url,
    stop() {
      stopping ??= (async () => {
        await server?.close();
        await finalQueue.stop();
        await database.close();
        logger.info('Herald stopped');
      })();
      return stopping;
    },
  };
}
