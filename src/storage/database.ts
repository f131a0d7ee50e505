import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/** Drizzle's query builder, the same type on both drivers. Herald uses the builder, not relational queries. */
export type Db = PgDatabase<PgQueryResultHKT>;

/** Raw SQL for hot bulk paths and for the job queue: one statement, positional parameters. */
export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
}

/** What a unit of work sees: the query builder and raw SQL, both on the same connection. */
export interface Session {
  readonly db: Db;
  readonly sql: SqlExecutor;
}

export type DatabaseMode = 'embedded' | 'postgres';

/**
 * Herald's storage, PostgreSQL through `DATABASE_URL` or PGlite in a data directory. Everything
 * above this interface runs the same queries on both.
 */
export interface Database extends Session {
  readonly mode: DatabaseMode;
  /** Where the data lives, safe to print: a directory or a URL without its password. */
  readonly location: string;
  transaction<T>(work: (tx: Session) => Promise<T>): Promise<T>;
  /** Applies the numbered migrations not yet applied; safe to run from several processes at once. */
  migrate(): Promise<void>;
  /** Runs a script of several statements, no parameters (migrations, pg-boss's own plans). */
  execScript(text: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}
