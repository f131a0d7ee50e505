import type { JobQueue } from '../jobs/job-queue.js';
import type { Database } from '../storage/database.js';
import { unfinishedUploads } from './uploads.js';

/**
 * Queues a job for every upload a stopped or killed process left unfinished, so it resumes at once
 * rather than when its job expires. A job that finds another run ahead of it ends without writing.
 */
export async function resumeUploads(database: Database, queue: JobQueue): Promise<number> {
  const left = await unfinishedUploads(database.sql);
  for (const upload of left) {
    await queue.enqueue(database, 'uploads.process', { accountId: upload.account_id, uploadId: upload.id });
  }
  if (left.length > 0) queue.wake('uploads.process');
  return left.length;
}
