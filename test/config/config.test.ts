import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { runCli } from '../support/cli.js';
import { TEST_VAULT_KEYS } from '../support/herald.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';

afterAll(removeTempDirs);

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('loadConfig', () => {
  it('names every bad setting in one ConfigError', () => {
    const error = configError(() =>
      loadConfig({
        HERALD_PORT: 'abc',
        HERALD_LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://root:hunter2@db/herald',
        HERALD_METRICS_PUBLIC: 'yes',
        HERALD_BODY_LIMIT_BYTES: '-5',
        HERALD_JOB_RETRY_LIMIT: '1.5',
      }),
    );
    for (const key of [
      'HERALD_PORT',
      'HERALD_LOG_LEVEL',
      'DATABASE_URL',
      'HERALD_METRICS_PUBLIC',
      'HERALD_BODY_LIMIT_BYTES',
      'HERALD_JOB_RETRY_LIMIT',
    ]) {
      expect(error.message).toContain(key);
      expect(error.problems.filter((problem) => problem.startsWith(`${key}:`))).toHaveLength(1);
    }
    // The bad values are shown, except a database URL's, which may carry a password.
    expect(error.message).toContain('"abc"');
    expect(error.message).toContain('"loud"');
    expect(error.message).not.toContain('hunter2');
  });

  it('reads the egress allowlist and names every entry it cannot read', () => {
    expect(
      loadConfig({
        HERALD_EGRESS_ALLOW: '10.20.0.0/16, fd00::1, Relay.Internal',
        HERALD_EGRESS_ALLOW_PORTS: '8080,2525-2530',
      }).egress,
    ).toEqual({
      subnets: [
        ['10.20.0.0', 16],
        ['fd00::1', 128],
      ],
      hosts: ['relay.internal'],
      ports: [
        [8080, 8080],
        [2525, 2530],
      ],
    });
    expect(loadConfig({}).egress).toEqual({ subnets: [], hosts: [], ports: [] });
    const error = configError(() =>
      loadConfig({ HERALD_EGRESS_ALLOW: '10.0.0.0/33,bad host', HERALD_EGRESS_ALLOW_PORTS: '0,90-80' }),
    );
    expect(error.problems).toEqual([
      'HERALD_EGRESS_ALLOW: "10.0.0.0/33" has a prefix length that is not 0 to 32 (got "10.0.0.0/33,bad host")',
      'HERALD_EGRESS_ALLOW: "bad host" is neither an address range (10.0.0.0/8, fd00::/8) nor a host name (got "10.0.0.0/33,bad host")',
      'HERALD_EGRESS_ALLOW_PORTS: "0" is not a port (1-65535) or a range of them (2525-2530) (got "0,90-80")',
      'HERALD_EGRESS_ALLOW_PORTS: "90-80" is not a port (1-65535) or a range of them (2525-2530) (got "0,90-80")',
    ]);
  });

  it('rejects ports outside 0–65535', () => {
    expect(configError(() => loadConfig({ HERALD_PORT: '65536' })).message).toContain('HERALD_PORT');
    expect(configError(() => loadConfig({ HERALD_PORT: '-1' })).message).toContain('HERALD_PORT');
  });

  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      dataDir: path.resolve('./data'),
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      bodyLimitBytes: 8 * 1024 * 1024,
      metricsPublic: false,
      accessTokenTtlSeconds: 3600,
      dbPoolSize: 10,
      workerBatchSize: 100,
      workerPollMs: 500,
      jobRetryLimit: 5,
      jobRetryDelaySeconds: 5,
      shutdownTimeoutMs: 15000,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://herald@db.internal:5432/herald',
      HERALD_DATA_DIR: '/var/lib/herald',
      HERALD_HOST: '0.0.0.0',
      HERALD_PORT: '9090',
      HERALD_LOG_LEVEL: 'debug',
      HERALD_BODY_LIMIT_BYTES: '1024',
      HERALD_METRICS_PUBLIC: 'true',
      HERALD_ACCESS_TOKEN_TTL_SECONDS: '60',
      HERALD_DB_POOL_SIZE: '3',
      HERALD_WORKER_BATCH_SIZE: '7',
      HERALD_WORKER_POLL_MS: '50',
      HERALD_JOB_RETRY_LIMIT: '0',
      HERALD_JOB_RETRY_DELAY_SECONDS: '2',
      HERALD_SHUTDOWN_TIMEOUT_MS: '100',
      HERALD_VAULT_KEYS: TEST_VAULT_KEYS,
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgresql://herald@db.internal:5432/herald',
      dataDir: '/var/lib/herald',
      host: '0.0.0.0',
      port: 9090,
      logLevel: 'debug',
      bodyLimitBytes: 1024,
      metricsPublic: true,
      accessTokenTtlSeconds: 60,
      dbPoolSize: 3,
      workerBatchSize: 7,
      workerPollMs: 50,
      jobRetryLimit: 0,
      jobRetryDelaySeconds: 2,
      shutdownTimeoutMs: 100,
    });
  });

  it('treats an empty string as unset', () => {
    const config = loadConfig({ HERALD_PORT: '', HERALD_LOG_LEVEL: '', DATABASE_URL: '', HERALD_METRICS_PUBLIC: '' });
    expect(config.port).toBe(8080);
    expect(config.logLevel).toBe('info');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.metricsPublic).toBe(false);
  });

  it('treats a blank string as unset too (not as port 0 or zero retries)', () => {
    const config = loadConfig({ HERALD_PORT: ' ', HERALD_JOB_RETRY_LIMIT: '  ', HERALD_LOG_LEVEL: '\t' });
    expect(config.port).toBe(8080);
    expect(config.jobRetryLimit).toBe(5);
    expect(config.logLevel).toBe('info');
  });

  it('lets command-line overrides win over the environment', () => {
    const config = loadConfig(
      { HERALD_PORT: '9090', HERALD_DATA_DIR: '/from/env', HERALD_HOST: '0.0.0.0' },
      { port: 0, dataDir: 'relative/dir', host: '127.0.0.1' },
    );
    expect(config.port).toBe(0);
    expect(config.dataDir).toBe(path.resolve('relative/dir'));
    expect(config.host).toBe('127.0.0.1');
  });

  it('keeps environment values when overrides are undefined', () => {
    const config = loadConfig({ HERALD_PORT: '9090' }, { port: undefined, dataDir: undefined });
    expect(config.port).toBe(9090);
  });
});

describe('the CLI with a bad environment', () => {
  it('exits non-zero and names every bad setting', async () => {
    const dataDir = makeTempDir();
    const result = await runCli(['serve', '--data-dir', dataDir, '--port', '0'], {
      env: { HERALD_PORT: 'abc', HERALD_LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' },
    });
    expect(result.code).toBe(2);
    for (const key of ['HERALD_PORT', 'HERALD_LOG_LEVEL', 'DATABASE_URL']) expect(result.stderr).toContain(key);
    expect(result.stdout).not.toContain('API on');
  });
});
