import { eq, sql } from 'drizzle-orm';
import { AppError } from '../../errors.js';
import type { Db } from '../../storage/database.js';
import { accounts } from '../../storage/schema.js';
import { findSampler, samplerNames } from './samplers.js';
import { findUnsubscriber, unsubscriberNames } from './unsubscribers.js';

export type ExtendedProperties = Record<string, unknown>;

/** What an account gets before it chooses: the platform's own list, no sampling. */
export const defaultExtendedProperties = { Sampler: 'none', Unsubscriber: 'herald' } as const;

/** What the account chose, without the defaults. */
export async function readStoredExtendedProperties(db: Db, accountId: string): Promise<ExtendedProperties> {
  const [row] = await db
    .select({ properties: accounts.extendedProperties })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return row?.properties ?? {};
}

export async function readExtendedProperties(db: Db, accountId: string): Promise<ExtendedProperties> {
  return { ...defaultExtendedProperties, ...(await readStoredExtendedProperties(db, accountId)) };
}

/**
 * Keys of the original module that Herald has no use for, and why: refused rather than stored as
 * a setting that silently does nothing.
 */
const refusedKeys: Record<string, string> = {
  BatchingQueue:
    'BatchingQueue cannot be set: Herald has no batching queue to choose. It writes accepted records to its database in the same transaction as the answer, so none is lost on a restart (what a persistent queue gave the original module). Remove BatchingQueue from the request.',
};

function validate(update: ExtendedProperties): void {
  const problems: string[] = [];
  for (const key of Object.keys(update)) {
    const why = Object.entries(refusedKeys).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1];
    if (why) problems.push(why);
  }
  const { Sampler, Unsubscriber, SamplingPercentage } = update;
  if (Sampler !== undefined && (typeof Sampler !== 'string' || !findSampler(Sampler.trim()))) {
    problems.push(`Sampler must be one of ${samplerNames().join(', ')}`);
  }
  if (Unsubscriber !== undefined && (typeof Unsubscriber !== 'string' || !findUnsubscriber(Unsubscriber.trim()))) {
    problems.push(`Unsubscriber must be one of ${unsubscriberNames().join(', ')}`);
  }
  if (
    SamplingPercentage !== undefined &&
    (typeof SamplingPercentage !== 'number' || SamplingPercentage < 0 || SamplingPercentage > 100)
  ) {
    problems.push('SamplingPercentage must be a number from 0 to 100');
  }
  if (problems.length > 0) throw new AppError('VALIDATION_FAILED', `${problems.join('; ')}.`, problems);
}

/** Merges `update` into the stored properties (keys not sent are kept) and returns what is stored now. */
export async function mergeExtendedProperties(
  db: Db,
  accountId: string,
  update: ExtendedProperties,
): Promise<ExtendedProperties> {
  validate(update);
  // The original module's examples pad names with spaces (" exampleQueue "): store them trimmed.
  const trimmed = Object.fromEntries(Object.entries(update).map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v]));
  await db
    .update(accounts)
    .set({ extendedProperties: sql`${accounts.extendedProperties} || ${JSON.stringify(trimmed)}::jsonb` })
    .where(eq(accounts.id, accountId));
  return readExtendedProperties(db, accountId);
}
