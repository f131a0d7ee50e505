import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { ExperiencePlatform } from '../platforms/experience-platform.js';
import { checkDispatch } from '../pipeline/ingest/dispatch-rules.js';
import type { Database } from '../storage/database.js';
import { isUuid } from '../storage/ids.js';
import type { UploadSource } from '../storage/schema.js';
import { sniffFile, type FileKind } from './file-kind.js';
import { initiatorLog, writeInitiatorEntries, type InitiatorEntry } from './initiator-log.js';
import { findUpload, insertUpload, type UploadRecord } from './uploads.js';

export interface AcceptUploadServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly queue: JobQueue;
}

/** A file the initiator has been given, already on disk where it will be read. */
export interface IncomingUpload {
  id: string;
  accountId: string;
  dispatchId: string;
  fileName: string;
  storedPath: string;
  source: UploadSource;
  feed?: string;
  sheet?: string | null;
  mapping?: Record<string, string> | null;
  /** Entries that go before "received" (a watched folder's config checks). */
  entries?: InitiatorEntry[];
}

/** A file name as shown and archived: its last path part, without control characters, at most 200 characters. */
export function cleanFileName(name: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const base = path.basename((name ?? '').replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '');
  return base === '' || base === '.' || base === '..' ? 'upload' : base.slice(-200);
}

/**
 * Checks that the dispatch can take invitations now. Throws a 400-class error saying what to do
 * (the job checks again: a dispatch paused meanwhile fails the upload with the reason).
 */
export async function checkUploadDispatch(
  platform: ExperiencePlatform,
  accountId: string,
  dispatchId: string,
): Promise<void> {
  const dispatch = isUuid(dispatchId) ? await platform.dispatch(accountId, dispatchId) : null;
  if (!dispatch) {
    throw new AppError(
      'VALIDATION_FAILED',
      `Dispatch ${dispatchId} was not found in this account. Check the dispatchId.`,
      [{ field: 'dispatchId', problem: 'is not a dispatch of this account' }],
    );
  }
  const check = checkDispatch(dispatchId, dispatch, await platform.settings(accountId));
  if (!check.ok) {
    throw new AppError('VALIDATION_FAILED', `Dispatch ${dispatchId} cannot take invitations: ${check.message}`, [
      { field: 'dispatchId', problem: check.message },
    ]);
  }
}

/**
 * Records a file the initiator takes and queues its processing, in one transaction; a second call
 * for the same upload id records nothing more. The file must already be complete on disk. One that
 * is neither CSV nor XLSX is refused at once (the file is left to the caller), unless
 * `takeUnreadable`: then it is recorded, and its processing fails with the reason (a watched
 * folder's file is archived with it).
 */
export async function acceptUpload(
  services: AcceptUploadServices,
  incoming: IncomingUpload,
  options: { takeUnreadable?: boolean } = {},
): Promise<UploadRecord> {
  let kind: FileKind | null;
  try {
    kind = await sniffFile(incoming.storedPath);
  } catch (error) {
    if (!options.takeUnreadable || !(error instanceof AppError)) throw error;
    kind = null;
  }
  const { size } = await fs.stat(incoming.storedPath);
  const { database, queue } = services;
  const origin =
    incoming.source === 'folder'
      ? { source: 'folder' as const, feed: incoming.feed ?? '' }
      : { source: 'api' as const };
  await database.transaction(async (tx) => {
    const inserted = await insertUpload(tx.db, {
      id: incoming.id,
      accountId: incoming.accountId,
      dispatchId: incoming.dispatchId,
      fileName: incoming.fileName,
      format: kind?.format ?? null,
      sheet: incoming.sheet ?? null,
      mapping: incoming.mapping ?? null,
      source: incoming.source,
      feed: incoming.feed ?? null,
      storedPath: incoming.storedPath,
      sizeBytes: size,
    });
    if (!inserted) return;
    const entries = [initiatorLog.requestReceived(origin), ...(incoming.entries ?? [])];
    await writeInitiatorEntries(tx.sql, incoming, entries);
    await queue.enqueue(tx, 'uploads.process', { accountId: incoming.accountId, uploadId: incoming.id });
  });
  queue.wake('uploads.process');
  const upload = await findUpload(database.db, incoming.accountId, incoming.id);
  if (!upload) throw new Error(`upload ${incoming.id} vanished after it was recorded`);
  return upload;
}
