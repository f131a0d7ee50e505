import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.js';
import { seedAccount } from '../support/accounts.js';
import { killStartedClis, runCli } from '../support/cli.js';
import {
  createCliInstallation,
  inInstallationDatabase,
  serveInstallation,
  type CliInstallation,
} from '../support/cli-installation.js';
import { databaseKinds } from '../support/databases.js';
import { pointVendorAt } from '../support/delivery.js';
import { seedDispatch } from '../support/platform.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';
import { postUpload, rejectedCsv, waitForUpload, type UploadView } from '../support/uploads.js';
import { waitFor } from '../support/wait.js';

const ROWS = 2_000;
const CHUNK = 40;
/** Every 97th row has no valid email: refused rows must be reported once, like accepted ones. */
const isBadRow = (i: number) => i % 97 === 0;
/** Four CLI starts on an embedded database take a while on a busy machine. */
const TEST_TIMEOUT_MS = 240_000;

afterAll(async () => {
  await killStartedClis();
  removeTempDirs();
});

describe.each(databaseKinds())('an upload killed mid-file on %s', (kind) => {
  let sink: SmtpSink;
  let installation: CliInstallation;

  beforeAll(async () => {
    sink = await startSmtpSink();
    installation = await createCliInstallation(kind, {
      HERALD_MAX_RECORDS: String(CHUNK),
      HERALD_WORKER_POLL_MS: '100',
      HERALD_LOG_LEVEL: 'debug',
    });
  });

  const serve = () => serveInstallation(installation);
  const inDatabase = <T>(work: (database: Database) => Promise<T>) => inInstallationDatabase(installation, work);

  it(
    'resumes after the last committed chunk: every row read once, no record accepted twice',
    async () => {
      const migrated = await runCli(['migrate', '--data-dir', installation.dataDir], { env: installation.env });
      expect(migrated.code, migrated.stderr).toBe(0);
      const { apiKey, accountId, dispatchId } = await inDatabase(async (database) => {
        const seeded = await seedAccount(database, 'operator');
        const dispatch = await seedDispatch(database, seeded.account.id);
        await pointVendorAt(database, dispatch.vendorId, sink.port);
        return { apiKey: seeded.apiKey, accountId: seeded.account.id, dispatchId: dispatch.dispatchId };
      });

      const lines = ['Customer id,Email,Name'];
      for (let i = 1; i <= ROWS; i++) {
        lines.push(`cust-${i},${isBadRow(i) ? 'nobody' : `c${i}@resume.test`},Customer ${i}`);
      }
      const file = path.join(makeTempDir(), 'customers.csv');
      fs.writeFileSync(file, lines.join('\n'));
      const badRows = Array.from({ length: ROWS }, (_, i) => i + 1).filter(isBadRow);

      const first = await serve();
      // The 202 may come after the first chunks (the embedded database shares the process's thread),
      // so the test follows the child's log, not the answer, to kill it once a chunk is in,
      // while the rest of the file is still being read.
      const posting = postUpload<UploadView>(first.url, apiKey, { dispatchId, file, fileName: 'customers.csv' });
      const chunkLines = () => first.cli.stdout.split('\n').filter((line) => line.includes('committed a chunk'));
      await waitFor(() => chunkLines().length >= 1, 60_000, { description: 'a chunk committed', intervalMs: 1 });
      first.cli.signal('SIGKILL');
      expect((await first.cli.waitForExit(30_000)).signal).toBe('SIGKILL');
      const posted = await posting.catch(() => undefined);
      if (posted) expect(posted.status, JSON.stringify(posted.body)).toBe(202);
      const uploadId = (JSON.parse(chunkLines()[0]!) as { uploadId: string }).uploadId;

      const atKill = await inDatabase((database) =>
        database.sql.query<{ status: string; committed_row: number; rows_read: number; invitations: string }>(
          `SELECT status, committed_row, rows_read,
             (SELECT count(*) FROM invitation_records WHERE dispatch_id = $2) AS invitations
           FROM uploads WHERE id = $1`,
          [uploadId, dispatchId],
        ),
      );
      expect(atKill[0]).toMatchObject({ status: 'processing' });
      // Header is row 1: a file of ROWS records ends at row ROWS + 1.
      expect(atKill[0]!.committed_row).toBeLessThan(ROWS + 1);
      // Every committed row went through ingest (refused ones too, as refused invitations); no more.
      expect(Number(atKill[0]!.invitations)).toBe(atKill[0]!.rows_read);

      const second = await serve();
      const done = await waitForUpload(second.url, apiKey, uploadId, 180_000);
      expect(done.status, JSON.stringify(done)).toBe('done');
      expect(done.rows).toEqual({
        read: ROWS,
        accepted: ROWS - badRows.length,
        rejected: badRows.length,
        throttled: 0,
        suppressed: 0,
      });
      expect(done.batchIds).toEqual(Array.from({ length: ROWS / CHUNK }, (_, i) => `${uploadId}.${i + 1}`));
      const reportedRows = (await rejectedCsv(second.url, apiKey, uploadId))
        .trim()
        .split(/\r?\n/)
        .slice(1)
        .map((line) => Number(line.split(',')[0]));
      // File row numbers count the header.
      expect(reportedRows).toEqual(badRows.map((i) => i + 1));
      second.cli.signal('SIGTERM');
      expect(await second.cli.waitForExit(60_000), second.cli.output).toEqual({ code: 0, signal: null });

      const [counts] = await inDatabase((database) =>
        database.sql.query<{ invitations: string; uuids: string; refused: string; batches: string }>(
          `SELECT count(*) AS invitations, count(DISTINCT uuid) AS uuids,
             count(*) FILTER (WHERE state = 'rejected') AS refused, count(DISTINCT batch_id) AS batches
           FROM invitation_records WHERE account_id = $1 AND dispatch_id = $2`,
          [accountId, dispatchId],
        ),
      );
      expect(Object.fromEntries(Object.entries(counts!).map(([name, n]) => [name, Number(n)]))).toEqual({
        invitations: ROWS,
        uuids: ROWS,
        refused: badRows.length,
        batches: ROWS / CHUNK,
      });
    },
    TEST_TIMEOUT_MS,
  );
});
