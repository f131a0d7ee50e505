import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { EmbeddedVacuum } from '../../src/storage/embedded-vacuum.js';
import { openTestDatabase, type TestDatabase } from '../support/databases.js';

describe('vacuuming the embedded database', () => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await openTestDatabase('pglite');
  });
  afterAll(() => test.database.close());

  // Counters reach pg_stat_user_tables when a backend flushes them (at most once a second): force it.
  const flushStats = async () => {
    await test.database.sql.query('SELECT pg_stat_force_next_flush()');
    await test.database.sql.query('SELECT 1');
  };
  const stats = async (table: string) => {
    await flushStats();
    const [row] = await test.database.sql.query<{ dead: number; analyzed: boolean }>(
      `SELECT n_dead_tup AS dead, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname = $1`,
      [table],
    );
    return { dead: Number(row?.dead), analyzed: row?.analyzed };
  };

  it('vacuums and analyses the tables whose updates left old row versions behind, and only those', async () => {
    const { sql } = test.database;
    await sql.query('CREATE TABLE churned (id int PRIMARY KEY, n int)');
    await sql.query('CREATE TABLE quiet (id int PRIMARY KEY)');
    await sql.query('INSERT INTO churned SELECT g, 0 FROM generate_series(1, 2000) g');
    await sql.query('INSERT INTO quiet SELECT g FROM generate_series(1, 20) g');
    const vacuum = new EmbeddedVacuum(test.database, createLogger('silent'));
    await flushStats();
    await vacuum.runOnce(); // what migrations and the inserts left
    await sql.query('UPDATE churned SET n = n + 1');
    expect((await stats('churned')).dead).toBe(2000);

    const vacuumed = await vacuum.runOnce();
    expect(vacuumed).toContain('public.churned');
    expect(vacuumed).not.toContain('public.quiet');
    expect(await stats('churned')).toEqual({ dead: 0, analyzed: true });
  });
});
