import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { Database } from '../../src/storage/database.js';
import { migrationConfig } from '../../src/storage/migrations.js';
import { openPglite } from '../../src/storage/pglite-database.js';
import { openPostgres } from '../../src/storage/postgres-database.js';
import { trackPostgresDatabase } from './postgres-cleanup.js';
import { stopAtEndOfFile } from './teardown.js';

export type DatabaseKind = 'pglite' | 'postgres';

/** A fresh, migrated database, and how to reach it again (a URL for PostgreSQL). */
export interface TestDatabase {
  readonly kind: DatabaseKind;
  readonly database: Database;
  readonly url: string | undefined;
}

/** PGlite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it). */
export function databaseKinds(): DatabaseKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

let pgliteTemplate: Promise<Blob> | undefined;

/** initdb costs seconds: it runs once per test process, and each test loads the migrated snapshot. */
function migratedPgliteSnapshot(): Promise<Blob> {
  pgliteTemplate ??= (async () => {
    const client = await PGlite.create();
    await migrate(drizzle({ client }), migrationConfig);
    const snapshot = await client.dumpDataDir('none');
    await client.close();
    return snapshot;
  })();
  return pgliteTemplate;
}

/**
 * Creates an empty PostgreSQL database and returns its URL. It is dropped when the test file ends
 * (kept when a test in the file failed): see file-lifecycle.ts.
 */
export async function createPostgresDatabase(): Promise<string> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    trackPostgresDatabase(name);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** `database` with a close() that may be called again (by a test and by the end of its file). */
function closingOnce(database: Database): Database {
  let closing: Promise<void> | undefined;
  return { ...database, close: () => (closing ??= database.close()) };
}

/** A fresh, migrated database of `kind`, closed (and, on PostgreSQL, dropped) when the test file ends. */
export async function openTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const url = kind === 'postgres' ? await createPostgresDatabase() : undefined;
  const database = closingOnce(
    url ? await openPostgres(url, 5) : await openPglite(undefined, await migratedPgliteSnapshot()),
  );
  stopAtEndOfFile(() => database.close());
  if (url) await database.migrate();
  return { kind, database, url };
}
