import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { createVendor } from '../../src/vendor-config/vendor-store.js';
import type { Database } from '../../src/storage/database.js';
import { dispatches } from '../../src/storage/schema.js';
import type { TestHerald } from './herald.js';
import { recordOf, type Prefill } from './ingest.js';
import { seedDispatch, type SeededDispatch } from './platform.js';
import { waitFor } from './wait.js';
import type { FakeSparkPost } from './fake-sparkpost.js';

/**
 * seedDispatch() whose email vendor is a SparkPost vendor pointed at `fake` (created through the
 * platform, so its API key is sealed like any vendor's).
 */
export async function seedSparkPostDispatch(
  herald: TestHerald,
  accountId: string,
  fake: FakeSparkPost,
  settings: Record<string, unknown> = {},
): Promise<SeededDispatch> {
  const seeded = await seedDispatch(herald.database, accountId);
  const vendor = await createVendor(
    herald.database.db,
    herald.vault,
    accountId,
    {
      name: 'SparkPost',
      kind: 'sparkpost',
      settings: { baseUrl: fake.baseUrl, fromAddress: 'surveys@herald.test', fromName: 'Herald Surveys', ...settings },
      secrets: { apiKey: fake.apiKey },
    },
    herald.config.egress,
  );
  await herald.database.db
    .update(dispatches)
    .set({ channelVendors: { email: vendor.id } })
    .where(eq(dispatches.id, seeded.dispatchId));
  return { ...seeded, vendorId: vendor.id };
}

/** `count` email records for a seeded dispatch, addressed `<prefix>-<i>@example.com`. */
export function emailRecords(seeded: SeededDispatch, count: number, prefix: string): Prefill[][] {
  return Array.from({ length: count }, (_, i) =>
    recordOf(seeded, { uuid: `${prefix}-${i}`, email: addressOf(prefix, i), name: `Person ${i}` }),
  );
}

export const addressOf = (prefix: string, i: number) => `${prefix}-${i}@example.com`;

/** One row of `bulk_batches`, timestamps as milliseconds. */
export interface BatchRow {
  id: string;
  vendor_id: string;
  status: string;
  message_count: number;
  attempts: number;
  created_at: number;
  claimed_at: number | null;
  flushed_at: number | null;
}

const ms = (value: unknown) => (value === null ? null : new Date(value as string | Date).getTime());

/** A vendor's bulk batches, oldest first. */
export async function batchRows(database: Database, vendorId: string): Promise<BatchRow[]> {
  const rows = await database.sql.query<Record<string, unknown>>(
    `SELECT id, vendor_id, status, message_count, attempts, created_at, claimed_at, flushed_at
     FROM bulk_batches WHERE vendor_id = $1 ORDER BY created_at, id`,
    [vendorId],
  );
  return rows.map((r) => ({
    id: r.id as string,
    vendor_id: r.vendor_id as string,
    status: r.status as string,
    message_count: Number(r.message_count),
    attempts: Number(r.attempts),
    created_at: ms(r.created_at)!,
    claimed_at: ms(r.claimed_at),
    flushed_at: ms(r.flushed_at),
  }));
}

/** A message as the bulk tests look at it. */
export interface BulkMessageRow {
  id: string;
  invitation_id: string;
  status: string;
  attempts: number;
  bulk_batch_id: string | null;
  vendor_message_id: string | null;
  error_category: string | null;
  error_code: string | null;
  error_message: string | null;
}

/** The first messages of some invitations, in the order given. */
export async function bulkMessages(database: Database, invitationIds: readonly string[]): Promise<BulkMessageRow[]> {
  const rows = await database.sql.query<BulkMessageRow>(
    `SELECT id, invitation_id, status, attempts, bulk_batch_id, vendor_message_id, error_category, error_code,
            error_message
     FROM messages WHERE invitation_id = ANY($1::uuid[]) AND reminder_level = 0
     ORDER BY array_position($1::uuid[], invitation_id)`,
    [[...invitationIds]],
  );
  return rows.map((r) => ({ ...r, attempts: Number(r.attempts) }));
}

/** Waits until every invitation has its first message and all of them satisfy `until`. */
export async function waitForMessages(
  database: Database,
  invitationIds: readonly string[],
  until: (message: BulkMessageRow) => boolean,
  description: string,
  timeoutMs = 30_000,
): Promise<BulkMessageRow[]> {
  let last: BulkMessageRow[] = [];
  try {
    return await waitFor(
      async () => {
        last = await bulkMessages(database, invitationIds);
        return last.length === invitationIds.length && last.every(until) ? last : undefined;
      },
      timeoutMs,
      { description },
    );
  } catch (error) {
    const statuses = last.map((m) => m.status).join(', ');
    throw new Error(`${(error as Error).message}; statuses: [${statuses}]`);
  }
}

/** How many times each address received a message across the transmissions SparkPost accepted. */
export function receivedCounts(fake: FakeSparkPost): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of fake.generated()) counts.set(m.to, (counts.get(m.to) ?? 0) + 1);
  return counts;
}

/** Asserts that each of `addresses` received exactly one message, and nobody else received any. */
export function expectEachReceivedOnce(fake: FakeSparkPost, addresses: readonly string[]): void {
  const counts = receivedCounts(fake);
  expect([...counts.keys()].sort()).toEqual([...addresses].sort());
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
}

/** Makes an open batch old enough to be flushed at once (the tests that use it flush only by hand). */
export async function releaseBatch(database: Database, batchId: string): Promise<void> {
  await database.sql.query(`UPDATE bulk_batches SET created_at = created_at - interval '10 hours' WHERE id = $1`, [
    batchId,
  ]);
}
