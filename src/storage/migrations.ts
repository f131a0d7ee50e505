import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationConfig } from 'drizzle-orm/migrator';

/** The numbered migrations generated from schema.ts; the same folder serves src/ and dist/. */
export const migrationConfig: MigrationConfig = {
  migrationsFolder: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle'),
  migrationsSchema: 'herald_meta',
  migrationsTable: 'migrations',
};
