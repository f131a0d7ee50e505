import { loadConfig, type Config } from '../../src/config/config.js';
import type { Clock } from '../../src/clock.js';
import { startHerald, type Roles, type RunningHerald } from '../../src/herald.js';
import { fetchApi, type RequestOptions } from './api-client.js';
import { openTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';
import { stopAtEndOfFile } from './teardown.js';
import { LOOPBACK_EGRESS_ENV } from './egress.js';

/** A fixed vault key for tests (never use it elsewhere). */
export const TEST_VAULT_KEYS = `test1:${Buffer.alloc(32, 7).toString('base64')}`;

export interface TestHerald extends RunningHerald {
  readonly url: string;
  readonly test: TestDatabase;
  readonly config: Config;
  /** fetchApi() against the running API: the raw response. */
  request(path: string, options?: RequestOptions): Promise<Response>;
}

/**
 * Starts Herald on a fresh database of `kind`, on a free loopback port, quiet unless HERALD_LOG_LEVEL
 * says otherwise. It is stopped (and its database dropped) when the test file ends, if not before.
 */
export async function startTestHerald(
  kind: DatabaseKind,
  options: { env?: Record<string, string>; roles?: Roles; clock?: Clock } = {},
): Promise<TestHerald> {
  const test = await openTestDatabase(kind);
  const config: Config = loadConfig({
    HERALD_LOG_LEVEL: process.env.HERALD_LOG_LEVEL ?? 'silent',
    HERALD_WORKER_POLL_MS: '50',
    // A part that hangs at stop is left after this long instead of failing the test file's teardown.
    HERALD_SHUTDOWN_TIMEOUT_MS: '5000',
    HERALD_VAULT_KEYS: TEST_VAULT_KEYS,
    ...LOOPBACK_EGRESS_ENV,
    ...options.env,
    ...(test.url && { DATABASE_URL: test.url }),
    HERALD_PORT: '0',
  });
  const herald = await startHerald(config, options.roles ?? { api: true, workers: true }, 'test', {
    database: test.database,
    clock: options.clock,
  });
  stopAtEndOfFile(() => herald.stop());
  const url = herald.url;
  if (!url) throw new Error('the test Herald serves no API');
  return {
    ...herald,
    url,
    test,
    config,
    request: (path, options) => fetchApi(url, path, options),
  };
}
