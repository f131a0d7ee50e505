import { hash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from './context.js';
import { dispatchBody, postDispatchRequest, seedPlatform, createAccountAndKey, type Platform } from './seed.js';
import { startHerald } from './processes.js';
import { freshStore, openFloorDb, type FloorDb } from './storage.js';

export const INGEST_RECORDS = 18_000;

export interface IngestResult {
  records: number;
  bodyBytes: number;
  /** Median time from sending the request to reading its 207. */
  ms: number;
  /** Median of the floor: JSON.parse + hash + one bulk INSERT of the same rows. */
  floorMs: number;
  ratio: number;
  runs: { ms: number; floorMs: number }[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const FLOOR_TABLE = `CREATE TABLE IF NOT EXISTS bench_floor_rows (
  id uuid PRIMARY KEY, account_id uuid NOT NULL, batch_id text NOT NULL, dispatch_id uuid NOT NULL,
  record_index integer NOT NULL, state text NOT NULL, uuid text, channel text, target text, language text,
  prefills jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;

/**
 * The floor of ingest: what any implementation must do to accept the same request durably, with
 * nothing else. Parse the body, lower-case and hash (sha512) the same two fields of every record,
 * and insert one row per record — the same columns as Herald's invitations, prefills as jsonb — with
 * one INSERT … SELECT FROM unnest. Returns its wall time in ms.
 */
async function floorOnce(db: FloorDb, body: Buffer, hashed: ReadonlySet<string>, batchId: string): Promise<number> {
  const started = performance.now();
  const request = JSON.parse(body.toString('utf8')) as {
    dispatchID: string;
    preFill: { questionId: string; input: string }[][];
  }[];
  const ids: string[] = [];
  const dispatchIds: string[] = [];
  const indexes: number[] = [];
  const uuids: string[] = [];
  const targets: string[] = [];
  const prefills: string[] = [];
  for (const { dispatchID, preFill } of request) {
    preFill.forEach((record, index) => {
      const stored = record.map(({ questionId, input }) =>
        hashed.has(questionId)
          ? { questionId, input: `sha512:${hash('sha512', input.toLowerCase(), 'hex')}`, hashed: true }
          : { questionId, input, hashed: false },
      );
      ids.push(randomUUID());
      dispatchIds.push(dispatchID);
      indexes.push(index);
      uuids.push(stored[0]!.input);
      targets.push(stored[1]!.input);
      prefills.push(JSON.stringify(stored));
    });
  }
  await db.query(
    `INSERT INTO bench_floor_rows (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language, prefills)
     SELECT id, $1, $2, dispatch_id, record_index, 'requested', uuid, 'email', target, 'en', prefills::jsonb
     FROM unnest($3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::text[], $8::text[])
       AS x(id, dispatch_id, record_index, uuid, target, prefills)`,
    [randomUUID(), batchId, ids, dispatchIds, indexes, uuids, targets, prefills],
  );
  return performance.now() - started;
}

/**
 * Ingest: Herald's API alone (`herald api`, no workers, so nothing else competes for the database
 * while a request is timed) on a fresh database; one untimed warm-up, then `runs` requests of
 * 18,000 records, each followed by the floor on the same body in the same database.
 */
export async function benchIngest(ctx: BenchContext, runs: number): Promise<IngestResult> {
  const store = await freshStore(ctx.databaseUrl, ctx.tmp, 'ingest');
  let floorDb: FloorDb | undefined;
  try {
    const key = await createAccountAndKey(ctx.main, store, ctx.heraldEnv);
    const herald = await startHerald({
      main: ctx.main,
      command: 'api',
      env: { ...ctx.heraldEnv, ...store.env },
      dataDir: store.dataDir,
      nodeOptions: ctx.heraldNodeOptions,
    });
    try {
      const platform: Platform = await seedPlatform(herald.url, key, ctx.sink.smtpPort);
      floorDb = await openFloorDb(store, ctx.tmp);
      await floorDb.query(FLOOR_TABLE);
      const hashed = new Set([platform.questions.email, platform.questions.mobile]);
      const results: { ms: number; floorMs: number }[] = [];
      let bodyBytes = 0;
      for (let run = 0; run <= runs; run += 1) {
        const body = dispatchBody(platform, run * INGEST_RECORDS, INGEST_RECORDS);
        bodyBytes = body.length;
        const started = performance.now();
        await postDispatchRequest(herald.url, key, body);
        const ms = performance.now() - started;
        const floorMs = await floorOnce(floorDb, body, hashed, `floor-${run}`);
        if (run === 0) {
          ctx.log(`  ingest warm-up: ${ms.toFixed(0)} ms, floor ${floorMs.toFixed(0)} ms (not counted)`);
          continue;
        }
        ctx.log(`  ingest run ${run}/${runs}: ${ms.toFixed(0)} ms, floor ${floorMs.toFixed(0)} ms`);
        results.push({ ms, floorMs });
      }
      const ms = median(results.map((r) => r.ms));
      const floorMs = median(results.map((r) => r.floorMs));
      return { records: INGEST_RECORDS, bodyBytes, ms, floorMs, ratio: ms / floorMs, runs: results };
    } finally {
      await herald.stop();
    }
  } finally {
    await floorDb?.close();
    await store.drop();
  }
}
