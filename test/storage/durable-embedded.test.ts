import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openPglite } from '../../src/storage/pglite-database.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';

afterAll(() => removeTempDirs());

/** The file a descriptor of this process is open on. */
const fileOf = (fd: number) => fs.readlinkSync(`/proc/self/fd/${fd}`);

describe('the embedded database on disk', () => {
  it('flushes the WAL to disk with fsync(2) before a commit returns', async () => {
    const dataDir = path.join(makeTempDir(), 'pgdata');
    const database = await openPglite(dataDir);
    try {
      await database.sql.query('CREATE TABLE durable_probe (id int PRIMARY KEY)');
      // Each fsync(2) is recorded with its file, and still made.
      const synced: string[] = [];
      const real = fs.fsyncSync.bind(fs);
      const spy = vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
        synced.push(fileOf(fd));
        real(fd);
      });
      try {
        await database.sql.query('INSERT INTO durable_probe VALUES (1)');
        const walSyncs = synced.filter((file) => file.includes(`${path.sep}pg_wal${path.sep}`));
        expect(walSyncs.length, `fsync calls: ${JSON.stringify(synced)}`).toBeGreaterThanOrEqual(1);

        // A read commits nothing: nothing to flush.
        synced.length = 0;
        await database.sql.query('SELECT count(*) FROM durable_probe');
        expect(synced.filter((file) => file.includes('pg_wal'))).toEqual([]);

        // A transaction flushes once, at its commit.
        await database.transaction(async (tx) => {
          await tx.sql.query('INSERT INTO durable_probe VALUES (2)');
          await tx.sql.query('INSERT INTO durable_probe VALUES (3)');
          expect(synced.filter((file) => file.includes('pg_wal'))).toEqual([]);
        });
        expect(synced.filter((file) => file.includes('pg_wal')).length).toBeGreaterThanOrEqual(1);
      } finally {
        spy.mockRestore();
      }
    } finally {
      await database.close();
    }
  }, 60_000);
});
