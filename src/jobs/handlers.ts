import { purgeExpiredTokens } from '../accounts/authentication.js';
import type { Database } from '../storage/database.js';
import type { JobHandler, JobSchedule } from './catalogue.js';

/** The handler of every catalogued job; job-queue.ts refuses to start unless each has exactly one. */
export function jobHandlers(database: Database): JobHandler[] {
  const purge: JobHandler<'auth.purge-expired-tokens'> = {
    name: 'auth.purge-expired-tokens',
    async handle() {
      await purgeExpiredTokens(database.db);
    },
  };
  return [purge];
}

export const jobSchedules: JobSchedule[] = [{ name: 'auth.purge-expired-tokens', cron: '17 * * * *', payload: {} }];
