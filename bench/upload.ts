import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { withBenchHerald } from './bench-herald.js';
import type { BenchContext } from './context.js';
import { dispatchBody, postDispatchRequest, recordValues, type Platform } from './seed.js';

export interface UploadResult {
  rows: number;
  fileBytes: number;
  /** Records a second: the file from the start of its upload to the upload's end (finishedAt). */
  uploadPerSecond: number;
  /** Records a second: the same records posted to /api/dispatchRequest, 18,000 a request, one after another. */
  apiPerSecond: number;
  ratio: number;
  /** Herald's peak RSS during the upload, above its RSS when the upload started. */
  uploadRssGrowthMb: number;
  /** The same for the requests, for comparison. */
  apiRssGrowthMb: number;
}

const REQUEST_RECORDS = 18_000;
const HEADER = ['Customer id', 'Email', 'Mobile', 'Name', 'Language', 'Note'];

/** The same records as dispatchBody() gives, as a CSV file whose headers are the questions' texts. */
async function writeCsv(file: string, rows: number): Promise<number> {
  function* lines() {
    yield HEADER;
    for (let i = 0; i < rows; i += 1) yield recordValues(i);
  }
  await pipeline(Readable.from(lines()), stringify(), fs.createWriteStream(file));
  return fs.statSync(file).size;
}

interface UploadView {
  id: string;
  status: string;
  rows: { read: number; accepted: number };
  errors: string[];
  finishedAt: string | null;
}

async function uploadAndWait(url: string, key: string, platform: Platform, file: string, timeoutMs: number) {
  const form = new FormData();
  form.append('dispatchId', platform.dispatchId);
  form.append('file', await fs.openAsBlob(file), path.basename(file));
  const startedAt = Date.now();
  const posted = await fetch(`${url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  const text = await posted.text();
  if (posted.status !== 202) throw new Error(`POST /api/uploads answered ${posted.status}: ${text}`);
  const { id } = JSON.parse(text) as { id: string };
  for (;;) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`upload ${id} did not end within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const answer = await fetch(`${url}/api/uploads/${id}`, { headers: { authorization: `Bearer ${key}` } });
    const upload = (await answer.json()) as UploadView;
    if (upload.status === 'processing') continue;
    if (upload.status !== 'done') throw new Error(`upload ${id} ${upload.status}: ${upload.errors.join('; ')}`);
    return { upload, ms: Date.parse(upload.finishedAt!) - startedAt };
  }
}

/**
 * Upload: a CSV file of `rows` records through POST /api/uploads against the same records posted
 * to /api/dispatchRequest, each on a fresh `herald serve` (file uploads are read by the workers).
 * The dispatch's send window is closed, so the workers create tokens in both runs but no delivery
 * competes with the measurement.
 */
export async function benchUpload(ctx: BenchContext, rows: number, timeoutMs: number): Promise<UploadResult> {
  const file = path.join(ctx.tmp, 'upload.csv');
  const fileBytes = await writeCsv(file, rows);
  ctx.log(`  upload: ${rows.toLocaleString('en-US')} rows, ${(fileBytes / 1024 ** 2).toFixed(0)} MB of CSV`);
  const options = { closedSendWindow: true };

  const api = await withBenchHerald(
    ctx,
    'upload-api',
    'serve',
    async ({ key, herald, platform }) => {
      herald.rss.resetWindow();
      const startRss = herald.rss.currentMb;
      let ms = 0;
      for (let first = 0; first < rows; first += REQUEST_RECORDS) {
        const body = dispatchBody(platform, first, Math.min(REQUEST_RECORDS, rows - first));
        const started = performance.now();
        await postDispatchRequest(herald.url, key, body);
        ms += performance.now() - started;
      }
      herald.rss.sample();
      return { ms, rssGrowthMb: herald.rss.windowPeakMb - startRss };
    },
    options,
  );
  ctx.log(`  the same records by /api/dispatchRequest: ${(api.ms / 1000).toFixed(1)} s`);

  const upload = await withBenchHerald(
    ctx,
    'upload-file',
    'serve',
    async ({ key, herald, platform }) => {
      herald.rss.resetWindow();
      const startRss = herald.rss.currentMb;
      const { upload, ms } = await uploadAndWait(herald.url, key, platform, file, timeoutMs);
      if (upload.rows.accepted !== rows) {
        throw new Error(`the upload accepted ${upload.rows.accepted} of ${rows} rows`);
      }
      herald.rss.sample();
      return { ms, rssGrowthMb: herald.rss.windowPeakMb - startRss };
    },
    options,
  );
  ctx.log(`  by upload: ${(upload.ms / 1000).toFixed(1)} s`);
  fs.rmSync(file, { force: true });

  const apiPerSecond = rows / (api.ms / 1000);
  const uploadPerSecond = rows / (upload.ms / 1000);
  return {
    rows,
    fileBytes,
    uploadPerSecond,
    apiPerSecond,
    ratio: uploadPerSecond / apiPerSecond,
    uploadRssGrowthMb: upload.rssGrowthMb,
    apiRssGrowthMb: api.rssGrowthMb,
  };
}
