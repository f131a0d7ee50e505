import type { Logger } from '../observability/logger.js';
import type { Database } from './database.js';

const INTERVAL_MS = 30_000;

/**
 * Vacuums and analyses the embedded database. PGlite runs no autovacuum (one process, no
 * background workers): without this every update leaves its old row version behind for good and
 * the planner never gets statistics, so claims and lookups slow down as the tables grow. Each
 * interval, the tables past autovacuum's default thresholds are vacuumed and analysed.
 */
export class EmbeddedVacuum {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.error({ err: error }, 'vacuuming the embedded database failed'))
        .finally(() => (this.#running = undefined));
    }, INTERVAL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** Vacuums and analyses every table that needs it; returns their names. */
  async runOnce(): Promise<string[]> {
    const due = await this.database.sql.query<{ name: string }>(
      `SELECT format('%I.%I', schemaname, relname) AS name FROM pg_stat_user_tables
       WHERE n_dead_tup > 50 + 0.2 * n_live_tup OR n_mod_since_analyze > 50 + 0.1 * n_live_tup`,
    );
    for (const { name } of due) await this.database.sql.query(`VACUUM (ANALYZE) ${name}`);
    return due.map((d) => d.name);
  }
}
