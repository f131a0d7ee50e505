import path from 'node:path';
import type { Database } from '../../src/storage/database.js';
import { openPglite } from '../../src/storage/pglite-database.js';
import { openPostgres } from '../../src/storage/postgres-database.js';
import { parseJsonOutput, runCli, startServing, type ServingCli } from './cli.js';
import { createPostgresDatabase, type DatabaseKind } from './databases.js';
import { TEST_VAULT_KEYS } from './herald.js';
import { makeTempDir } from './temp-dirs.js';

/**
 * Where Herald processes started from the CLI keep their data: a fresh data directory, and for
 * PostgreSQL a fresh database. Tests that kill and restart Herald work on one of these.
 */
export interface CliInstallation {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** What every process of the installation gets: its database and vault keys, plus the test's settings. */
  readonly env: Record<string, string>;
}

export async function createCliInstallation(
  kind: DatabaseKind,
  env: Record<string, string> = {},
): Promise<CliInstallation> {
  const databaseUrl = kind === 'postgres' ? await createPostgresDatabase() : undefined;
  return {
    dataDir: makeTempDir(),
    databaseUrl,
    env: { HERALD_VAULT_KEYS: TEST_VAULT_KEYS, ...env, ...(databaseUrl && { DATABASE_URL: databaseUrl }) },
  };
}

/** `herald serve` on the installation, on a free port, once it serves. */
export function serveInstallation(
  installation: CliInstallation,
  env: Record<string, string> = {},
): Promise<ServingCli> {
  return startServing(['serve', '--data-dir', installation.dataDir, '--port', '0'], {
    env: { ...installation.env, ...env },
  });
}

/** An account and an API key of `role` for it, made with the admin commands; returns the key. */
export async function createAccountWithKey(
  installation: CliInstallation,
  slug: string,
  role: 'admin' | 'operator' | 'viewer' = 'admin',
): Promise<string> {
  const storage = ['--data-dir', installation.dataDir];
  const { env } = installation;
  parseJsonOutput(await runCli(['account', 'create', '--slug', slug, '--name', slug, ...storage], { env }));
  const { key } = parseJsonOutput<{ key: string }>(
    await runCli(['api-key', 'create', '--account', slug, '--name', 'first', '--role', role, ...storage], { env }),
  );
  return key;
}

/** Runs `work` on the installation's database; with the embedded one, only while no process owns it. */
export async function inInstallationDatabase<T>(
  installation: CliInstallation,
  work: (database: Database) => Promise<T>,
): Promise<T> {
  const database = installation.databaseUrl
    ? await openPostgres(installation.databaseUrl, 2)
    : await openPglite(path.join(installation.dataDir, 'pgdata'));
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}
