/**
 * Every background job Herald runs: its name and its payload. A job belongs to an account where it
 * concerns one, so an account can list only its own dead letters.
 */
export interface JobCatalogue {
  /** Deletes access tokens past their expiry (scheduled). */
  'auth.purge-expired-tokens': Record<string, never>;
  /** Creates survey tokens for a dispatch's accepted invitations, in batches. */
  'tokens.create': { accountId: string; dispatchId: string };
  /** Reads an uploaded file into dispatch requests a chunk at a time, from where it last stopped. */
  'uploads.process': { accountId: string; uploadId: string };
}

export type JobName = keyof JobCatalogue;

/** The catalogue at run time; `satisfies` keeps it in step with the interface above. */
export const jobNames = [
  'auth.purge-expired-tokens',
  'tokens.create',
  'uploads.process',
] as const satisfies readonly JobName[];

export interface JobContext {
  readonly jobId: string;
  readonly retryCount: number;
  /** True when a failure now dead-letters the job instead of retrying it. */
  readonly isFinalAttempt: boolean;
}

/** Throw to fail the job: it is retried with backoff, then dead-lettered. */
export interface JobHandler<N extends JobName = JobName> {
  readonly name: N;
  handle(payload: JobCatalogue[N], context: JobContext): Promise<void>;
}

/** A cron schedule for a job that runs periodically (UTC). */
export interface JobSchedule<N extends JobName = JobName> {
  readonly name: N;
  readonly cron: string;
  readonly payload: JobCatalogue[N];
}

/** Fails unless every job in the catalogue has exactly one handler. */
export function checkHandlers(handlers: readonly JobHandler[]): void {
  const problems: string[] = [];
  for (const name of jobNames) {
    const count = handlers.filter((h) => h.name === name).length;
    if (count === 0) problems.push(`job "${name}" has no handler`);
    if (count > 1) problems.push(`job "${name}" has ${count} handlers`);
  }
  for (const handler of handlers) {
    if (!(jobNames as readonly string[]).includes(handler.name)) {
      problems.push(`handler for unknown job "${handler.name}"`);
    }
  }
  if (problems.length > 0) throw new Error(`The job catalogue is inconsistent: ${problems.join('; ')}.`);
}
