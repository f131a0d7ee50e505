import { PGlite, type Transaction } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { Database, Db, Session, SqlExecutor } from './database.js';
import { DurableNodeFS, durableStartParams } from './durable-node-fs.js';
import { migrationConfig } from './migrations.js';

type Queryable = Pick<PGlite, 'query'> | Transaction;

function executor(client: Queryable): SqlExecutor {
  return {
    async query<Row>(text: string, params?: readonly unknown[]) {
      const result = await client.query<Row>(text, params ? [...params] : undefined);
      return result.rows;
    },
  };
}

/**
 * Opens (or creates) the embedded database in `dataDir`. PGlite holds no lock of its own: the
 * caller must own the directory (see data-dir-lock.ts). PGlite serialises queries and
 * transactions on its single connection, so a transaction never interleaves with other work.
 */
export async function openPglite(dataDir: string | undefined, loadDataDir?: Blob): Promise<Database> {
  // On disk, commits reach fsync(2) (see DurableNodeFS); in memory (tests) there is no disk.
  const client = await PGlite.create(
    dataDir
      ? { fs: new DurableNodeFS(dataDir), startParams: durableStartParams(PGlite.defaultStartParams), loadDataDir }
      : { loadDataDir },
  );
  const pgliteDb = drizzle({ client });
  const db: Db = pgliteDb;
  return {
    mode: 'embedded',
    location: dataDir ?? 'memory',
    db,
    sql: executor(client),
    transaction<T>(work: (tx: Session) => Promise<T>): Promise<T> {
      return client.transaction((tx) =>
        // Drizzle's PGlite session only calls query() on its client, which a Transaction has.
        work({ db: drizzle({ client: tx as unknown as PGlite }), sql: executor(tx) }),
      );
    },
    migrate() {
      // One process owns the directory, so no lock is needed between migrators.
      return migrate(pgliteDb, migrationConfig);
    },
    async execScript(text: string) {
      const results = await client.exec(text);
      return results.at(-1)?.rows ?? [];
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}
