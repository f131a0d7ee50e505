import { purgeExpiredTokens } from '../accounts/authentication.js';
import { createTokensForDispatch, type TokenServices } from '../pipeline/tokens/create-tokens.js';
import { TokenRuns } from '../pipeline/tokens/token-runs.js';
import type { JobHandler, JobSchedule } from './catalogue.js';

/** The handler of every catalogued job; job-queue.ts refuses to start unless each has exactly one. */
export function jobHandlers(services: TokenServices): JobHandler[] {
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
  return [purge, tokens];
}

export const jobSchedules: JobSchedule[] = [{ name: 'auth.purge-expired-tokens', cron: '17 * * * *', payload: {} }];
