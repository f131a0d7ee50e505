import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as pgliteDrizzle } from 'drizzle-orm/pglite';
import { migrate as pgliteMigrate } from 'drizzle-orm/pglite/migrator';
import { drizzle as pgDrizzle } from 'drizzle-orm/node-postgres';
import { migrate as pgMigrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.js';
import { migrationConfig } from '../../src/storage/migrations.js';
import { openPglite } from '../../src/storage/pglite-database.js';
import { openPostgres } from '../../src/storage/postgres-database.js';
import type { PendingInvitation } from '../../src/storage/schema.js';
import { createPostgresDatabase, databaseKinds, type DatabaseKind } from '../support/databases.js';
import { makeTempDir } from '../support/temp-dirs.js';

/** The migrations before pending invitations existed: a copy of drizzle/ whose journal stops at 0006. */
function migrationsBeforePending(): string {
  const folder = path.join(makeTempDir('herald-migrations-'), 'drizzle');
  fs.cpSync(migrationConfig.migrationsFolder, folder, { recursive: true });
  const journalFile = path.join(folder, 'meta/_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] };
  const last = journal.entries.findIndex((e) => e.tag === '0006_event_outbox');
  expect(last).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, last + 1);
  fs.writeFileSync(journalFile, JSON.stringify(journal));
  return folder;
}

/** A database migrated up to 0006, given to `seed`, then opened as Herald opens it (not yet migrated further). */
async function databaseBeforePending(
  kind: DatabaseKind,
  seed: (query: (text: string, params?: unknown[]) => Promise<unknown>) => Promise<void>,
): Promise<{ database: Database; url: string | undefined }> {
  const config = { ...migrationConfig, migrationsFolder: migrationsBeforePending() };
  if (kind === 'pglite') {
    const client = await PGlite.create();
    await pgliteMigrate(pgliteDrizzle({ client }), config);
    await seed((text, params) => client.query(text, params));
    const snapshot = await client.dumpDataDir('none');
    await client.close();
    return { database: await openPglite(undefined, snapshot), url: undefined };
  }
  const url = await createPostgresDatabase();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await pgMigrate(pgDrizzle({ client: pool }), config);
    await seed((text, params) => pool.query(text, params));
  } finally {
    await pool.end();
  }
  return { database: await openPostgres(url, 2), url };
}

describe.each(databaseKinds())('upgrading a %s database with invitations waiting for their tokens', (kind) => {
  const opened: { database: Database; url: string | undefined }[] = [];
  afterAll(async () => {
    for (const { database } of opened) await database.close();
  });

  it('moves them, in order and unchanged, into pending groups of 1,000; refused invitations stay', async () => {
    const accountId = randomUUID();
    const dispatchId = randomUUID();
    const waiting = Array.from({ length: 2_500 }, (_, recordIndex) => ({
      id: randomUUID(),
      record_index: recordIndex,
      uuid: `sha512:uuid-${recordIndex}`,
      channel: 'email' as const,
      target: `sha512:target-${recordIndex}`,
      language: 'en',
      prefills: [{ questionId: 'q1', input: `value "${recordIndex}"\n`, hashed: false }],
      sealed_originals: `c2VhbGVk${recordIndex}`,
      sealed_key_id: 'k1',
    }));
    const refusedId = randomUUID();
    const upgraded = await databaseBeforePending(kind, async (query) => {
      await query(`INSERT INTO accounts (id, slug, name) VALUES ($1, 'upgrade', 'Upgrade')`, [accountId]);
      await query(
        `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target,
                                  language, prefills, sealed_originals, sealed_key_id)
         SELECT id, $1, 'batch-1', $2, record_index, 'requested', uuid, channel, target, language, prefills,
                sealed_originals, sealed_key_id
         FROM json_to_recordset($3::json) AS x(id uuid, record_index int, uuid text, channel text, target text,
           language text, prefills jsonb, sealed_originals text, sealed_key_id text)`,
        [accountId, dispatchId, JSON.stringify(waiting)],
      );
      await query(
        `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, prefills)
         VALUES ($1, $2, 'batch-1', $3, 2500, 'rejected', '[]')`,
        [refusedId, accountId, dispatchId],
      );
    });
    opened.push(upgraded);
    const { database } = upgraded;
    await database.migrate();

    const left = await database.sql.query<{ id: string }>(`SELECT id FROM invitations`);
    expect(left.map((r) => r.id)).toEqual([refusedId]);
    const groups = await database.sql.query<{
      batch_id: string;
      dispatch_id: string;
      invitation_count: number;
      invitations: string;
    }>(`SELECT batch_id, dispatch_id, invitation_count, invitations FROM pending_invitations ORDER BY id`);
    expect(groups.map((g) => [g.batch_id, g.dispatch_id, g.invitation_count])).toEqual([
      ['batch-1', dispatchId, 1000],
      ['batch-1', dispatchId, 1000],
      ['batch-1', dispatchId, 500],
    ]);
    const moved = groups.flatMap((g) => JSON.parse(g.invitations) as PendingInvitation[]);
    expect(moved).toEqual(waiting);

    const records = await database.sql.query<{ state: string; n: string }>(
      `SELECT state, count(*) AS n FROM invitation_records WHERE account_id = $1 GROUP BY state ORDER BY state`,
      [accountId],
    );
    expect(records.map((r) => [r.state, Number(r.n)])).toEqual([
      ['rejected', 1],
      ['requested', 2500],
    ]);
  });
});
