import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Config } from '../config/config.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Metrics } from '../observability/metrics.js';
import type { ExperiencePlatform } from '../platforms/experience-platform.js';
import type { Vault } from '../privacy/vault.js';
import type { Database } from '../storage/database.js';

/** The Fastify instance routes are declared on: TypeBox schemas give both validation and types. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What routes may use. Workers are optional: an `api`-only process has none. */
export interface HttpContext {
  readonly config: Config;
  readonly database: Database;
  readonly queue: JobQueue;
  readonly platform: ExperiencePlatform;
  readonly metrics: Metrics;
  readonly vault: Vault;
  /** True while this process's workers run, or when it runs none (api-only). */
  readonly workersHealthy: () => boolean;
}
