import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { eq } from 'drizzle-orm';
import type { Vault } from '../privacy/vault.js';
import type { Database } from '../storage/database.js';
import { uploads } from '../storage/schema.js';
import { rejectedRowsReport } from './rejected-rows.js';
import { markArchived, type UploadRecord } from './uploads.js';

/** The file names a watched folder's upload goes by while it is processed. */
export const processingName = (uploadId: string, fileName: string) => `${uploadId}--${fileName}`;

/** Beside an archived file: its rejected-rows report. */
export const reportName = (archivedFile: string) => `${archivedFile}.rejected.csv`;

const exists = (file: string) =>
  fs.promises.access(file).then(
    () => true,
    () => false,
  );

/** archive/<name>, or archive/<stem>-<upload id><ext> when an earlier file of that name is there. */
async function archiveTarget(feedDir: string, upload: UploadRecord): Promise<string> {
  const archive = path.join(feedDir, 'archive');
  await fs.promises.mkdir(archive, { recursive: true });
  const plain = path.join(archive, upload.fileName);
  if (!(await exists(plain)) && !(await exists(reportName(plain)))) return plain;
  const ext = path.extname(upload.fileName);
  return path.join(archive, `${path.basename(upload.fileName, ext)}-${upload.id}${ext}`);
}

/**
 * What follows an upload's end. An uploaded file is deleted (it holds personal data, and its
 * report comes from the database). A watched folder's file is moved to the feed's archive/ with
 * its rejected-rows report beside it. Every step can be repeated: a crash between them is finished
 * by the job's retry.
 */
export async function finishUploadFile(
  services: { database: Database; vault: Vault },
  upload: UploadRecord,
): Promise<void> {
  if (upload.source === 'api') {
    await fs.promises.rm(upload.storedPath, { force: true });
    return;
  }
  if (upload.archivedAt) return;
  // The file sits in <feed>/processing/ until archived; the archive path is recorded before the move.
  const feedDir = path.dirname(path.dirname(upload.storedPath));
  const processing = path.join(feedDir, 'processing', processingName(upload.id, upload.fileName));
  let target = upload.storedPath;
  if (target === processing) {
    target = await archiveTarget(feedDir, upload);
    await services.database.db.update(uploads).set({ storedPath: target }).where(eq(uploads.id, upload.id));
  }
  if (await exists(processing)) await fs.promises.rename(processing, target);
  const report = reportName(target);
  const partial = `${report}.part`;
  await pipeline(
    Readable.from(rejectedRowsReport(services.database.db, services.vault, upload)),
    fs.createWriteStream(partial),
  );
  await fs.promises.rename(partial, report);
  await markArchived(services.database.db, upload.id);
}
