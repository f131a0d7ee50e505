import path from 'node:path';
import type { Config } from '../config/config.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Database } from './database.js';
import { openPglite } from './pglite-database.js';
import { openPostgres } from './postgres-database.js';

/**
 * PostgreSQL when `DATABASE_URL` is set, else PGlite in the data directory, which this process
 * then owns until close().
 */
export async function openDatabase(config: Config, command: string): Promise<Database> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, config.dbPoolSize);
  const lock = lockDataDir(config.dataDir, command);
  try {
    const database = await openPglite(path.join(config.dataDir, 'pgdata'));
    return {
      ...database,
      location: config.dataDir,
      async close() {
        try {
          await database.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
