import { purgeExpiredTokens } from '../accounts/authentication.js';
import { finishUploadFile } from '../initiator/finish-upload-file.js';
import { processUpload, type UploadServices } from '../initiator/process-upload.js';
import { createTokensForDispatch, type TokenServices } from '../pipeline/tokens/create-tokens.js';
import { TokenRuns } from '../pipeline/tokens/token-runs.js';
import type { JobHandler, JobSchedule } from './catalogue.js';

/**
 * The handler of every catalogued job; job-queue.ts refuses to start unless each has exactly one.
 * `uploads` are the initiator's services: a process given none fails its upload jobs (they are retried).
 */
export function jobHandlers(services: TokenServices, uploads?: UploadServices): JobHandler[] {
  const purge: JobHandler<'auth.purge-expired-tokens'> = {
    name: 'auth.purge-expired-tokens',
    handle: async () => {
      await purgeExpiredTokens(services.database.db);
    },
  };
  const tokenRuns = new TokenRuns();
  const tokens: JobHandler<'tokens.create'> = {
    name: 'tokens.create',
    handle: (payload, context) =>
      tokenRuns.run(payload.dispatchId, (release) => createTokensForDispatch(services, payload, context, release)),
  };
  // One run per upload in a process: a second job for it (a restart's, a retry's) ends at once.
  const uploadRuns = new Set<string>();
  const upload: JobHandler<'uploads.process'> = {
    name: 'uploads.process',
    handle: async (payload, context) => {
      if (!uploads) throw new Error('this process was started without the initiator, so it cannot read uploads');
      if (uploadRuns.has(payload.uploadId)) return;
      uploadRuns.add(payload.uploadId);
      try {
        const ended = await processUpload(uploads, payload, context);
        if (ended && ended.status !== 'processing') await finishUploadFile(uploads, ended);
      } finally {
        uploadRuns.delete(payload.uploadId);
      }
    },
  };
  return [purge, tokens, upload];
}

export const jobSchedules: JobSchedule[] = [{ name: 'auth.purge-expired-tokens', cron: '17 * * * *', payload: {} }];
