import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Database, Db, Session, SqlExecutor } from './database.js';
import { migrationConfig } from './migrations.js';

// Any constant will do: it only has to be the same in every Herald process.
const MIGRATION_LOCK_KEY = 7_270_001;

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

function executor(client: Queryable): SqlExecutor {
  return {
    async query<Row>(text: string, params?: readonly unknown[]) {
      const result = await client.query(text, params ? [...params] : undefined);
      return result.rows as Row[];
    },
  };
}

/** Shows a connection URL without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its connection emits 'error'; without a listener Node would crash.
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  const db: Db = drizzle({ client: pool });
  return {
    mode: 'postgres',
    location: redactUrl(url),
    db,
    sql: executor(pool),
    async transaction<T>(work: (tx: Session) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({ db: drizzle({ client }), sql: executor(client) });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async migrate() {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await migrate(drizzle({ client }), migrationConfig);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
        client.release();
      }
    },
    async execScript(text: string) {
      const results = (await pool.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
      const last = Array.isArray(results) ? results.at(-1) : results;
      return (last?.rows ?? []) as Record<string, unknown>[];
    },
    async close() {
      await pool.end();
    },
  };
}
