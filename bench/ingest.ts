import { hash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from './context.js';
import { withBenchHerald } from './bench-herald.js';
import { dispatchBody, postDispatchRequest } from './seed.js';
import { openFloorDb, type FloorDb } from './storage.js';

export const INGEST_RECORDS = 18_000;

export interface IngestResult {
  records: number;
  bodyBytes: number;
  /** Median time from sending the request to reading its 207. */
  ms: number;
  /** Median of the floor: JSON.parse + hash + one COPY of the same rows (the bar is against this one). */
  floorMs: number;
  ratio: number;
  /** Median of the same floor inserting with INSERT … SELECT FROM unnest instead of COPY. */
  unnestFloorMs: number;
  unnestRatio: number;
  runs: { ms: number; floorMs: number; unnestFloorMs: number }[];
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

/** A value in COPY's text format: backslash, tab and line breaks escaped. */
const copyText = (value: string) =>
  value.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);

const FLOOR_COLUMNS =
  'id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language, prefills';

/** The bulk insert a floor uses: COPY (the fastest on both databases) or INSERT … SELECT FROM unnest. */
export type FloorMethod = 'copy' | 'unnest';

/** Inserts rows, each in FLOOR_COLUMNS order, in one statement. */
async function bulkInsert(db: FloorDb, rows: string[][], method: FloorMethod): Promise<void> {
  if (method === 'copy') {
    const lines = rows.map((row) => row.map(copyText).join('\t'));
    await db.copy(`bench_floor_rows (${FLOOR_COLUMNS})`, `${lines.join('\n')}\n`);
    return;
  }
  const column = (c: number) => rows.map((row) => row[c]!);
  await db.query(
    `INSERT INTO bench_floor_rows (${FLOOR_COLUMNS})
     SELECT id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language, prefills::jsonb
     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::int[], $6::text[], $7::text[], $8::text[],
                 $9::text[], $10::text[], $11::text[])
       AS x(id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, target, language, prefills)`,
    Array.from({ length: 11 }, (_, c) => column(c)),
  );
}

/**
 * The floor of ingest: what any implementation must do to accept the same request durably, with
 * nothing else. Parse the body, lower-case and hash (sha512) the same two fields of every record,
 * and insert one row per record — the same columns as Herald's invitations, prefills as jsonb — in
 * one statement, into a table with a primary key and no other index. Returns its wall time in ms.
 */
async function floorOnce(
  db: FloorDb,
  body: Buffer,
  hashed: ReadonlySet<string>,
  batchId: string,
  method: FloorMethod,
): Promise<number> {
  const started = performance.now();
  const request = JSON.parse(body.toString('utf8')) as {
    dispatchID: string;
    preFill: { questionId: string; input: string }[][];
  }[];
  const accountId = randomUUID();
  const rows: string[][] = [];
  for (const { dispatchID, preFill } of request) {
    preFill.forEach((record, index) => {
      const stored = record.map(({ questionId, input }) =>
        hashed.has(questionId)
          ? { questionId, input: `sha512:${hash('sha512', input.toLowerCase(), 'hex')}`, hashed: true }
          : { questionId, input, hashed: false },
      );
      const [uuid, target] = [stored[0]!.input, stored[1]!.input];
      const prefills = JSON.stringify(stored);
      rows.push([
        randomUUID(),
        accountId,
        batchId,
        dispatchID,
        String(index),
        'requested',
        uuid,
        'email',
        target,
        'en',
        prefills,
      ]);
    });
  }
  await bulkInsert(db, rows, method);
  return performance.now() - started;
}

/**
 * Ingest: Herald's API alone (`herald api`, no workers, so nothing else competes for the database
 * while a request is timed) on a fresh database; one untimed warm-up, then `runs` requests of
 * 18,000 records, each followed by the floor on the same body in the same database.
 */
export async function benchIngest(ctx: BenchContext, runs: number): Promise<IngestResult> {
  return withBenchHerald(ctx, 'ingest', 'api', async ({ store, key, herald, platform }) => {
    const floorDb = await openFloorDb(store, ctx.tmp);
    try {
      await floorDb.query(FLOOR_TABLE);
      const hashed = new Set([platform.questions.email, platform.questions.mobile]);
      const results: { ms: number; floorMs: number; unnestFloorMs: number }[] = [];
      let bodyBytes = 0;
      for (let run = 0; run <= runs; run += 1) {
        const body = dispatchBody(platform, run * INGEST_RECORDS, INGEST_RECORDS);
        bodyBytes = body.length;
        const started = performance.now();
        await postDispatchRequest(herald.url, key, body);
        const ms = performance.now() - started;
        const floorMs = await floorOnce(floorDb, body, hashed, `floor-${run}`, 'copy');
        const unnestFloorMs = await floorOnce(floorDb, body, hashed, `floor-unnest-${run}`, 'unnest');
        const line = `${ms.toFixed(0)} ms, floor ${floorMs.toFixed(0)} ms (COPY), ${unnestFloorMs.toFixed(0)} ms (unnest)`;
        if (run === 0) {
          ctx.log(`  ingest warm-up: ${line} (not counted)`);
          continue;
        }
        ctx.log(`  ingest run ${run}/${runs}: ${line}`);
        results.push({ ms, floorMs, unnestFloorMs });
      }
      const ms = median(results.map((r) => r.ms));
      const floorMs = median(results.map((r) => r.floorMs));
      const unnestFloorMs = median(results.map((r) => r.unnestFloorMs));
      return {
        records: INGEST_RECORDS,
        bodyBytes,
        ms,
        floorMs,
        ratio: ms / floorMs,
        unnestFloorMs,
        unnestRatio: ms / unnestFloorMs,
        runs: results,
      };
    } finally {
      await floorDb.close();
    }
  });
}
