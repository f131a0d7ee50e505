import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { progressReporter, type UploadState } from './upload-progress.js';

interface SendOptions {
  dispatch: string;
  url?: string;
  apiKey?: string;
  sheet?: string;
  mapping?: string;
  rejectedOut?: string;
  pollMs: number;
}

interface Upload extends UploadState {
  id: string;
  fileName: string;
  batchIds: string[];
  warnings: string[];
  errors: string[];
}

/** How many refused rows are listed at the end; the report holds them all. */
const LISTED = 50;

/** A refusal `herald send` reports in one line and exits non-zero for. */
export class SendError extends Error {}

function parsePollMs(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 50) throw new InvalidArgumentError('a whole number of milliseconds, at least 50');
  return ms;
}

/** --mapping takes JSON or @file.json. */
function readMapping(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.startsWith('@') ? fs.readFileSync(value.slice(1), 'utf8') : value;
}

const count = (n: number) => n.toLocaleString('en-US');

async function call(url: string, apiKey: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, headers: { authorization: `Bearer ${apiKey}` } });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new SendError(
      `cannot reach Herald at ${new URL(url).origin} (${cause?.code ?? cause?.message ?? String(error)})`,
    );
  }
}

/** The message of Herald's error body, or the status. */
async function problemOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON
  }
  return `${response.status} ${response.statusText}`;
}

async function upload(base: string, apiKey: string, file: string, o: SendOptions): Promise<Upload> {
  const form = new FormData();
  form.append('dispatchId', o.dispatch);
  const mapping = readMapping(o.mapping);
  if (mapping !== undefined) form.append('mapping', mapping);
  if (o.sheet !== undefined) form.append('sheet', o.sheet);
  // A file-backed blob: the file is streamed, never read into memory.
  form.append('file', await fs.openAsBlob(file), path.basename(file));
  const response = await call(`${base}/api/uploads`, apiKey, { method: 'POST', body: form });
  if (response.status !== 202) throw new SendError(`Herald refused the file: ${await problemOf(response)}`);
  return (await response.json()) as Upload;
}

async function follow(
  base: string,
  apiKey: string,
  id: string,
  o: SendOptions,
  report: (u: Upload) => void,
): Promise<Upload> {
  for (;;) {
    const response = await call(`${base}/api/uploads/${id}`, apiKey);
    if (response.status !== 200) throw new SendError(`following upload ${id} failed: ${await problemOf(response)}`);
    const state = (await response.json()) as Upload;
    report(state);
    if (state.status !== 'processing') return state;
    await sleep(o.pollMs);
  }
}

/** Lists the refused rows (row and reason, not their cells) and writes the whole report when asked. */
async function listRejections(base: string, apiKey: string, done: Upload, o: SendOptions, out: (l: string) => void) {
  const response = await call(`${base}/api/uploads/${done.id}/rejected.csv`, apiKey);
  if (response.status !== 200) throw new SendError(`reading the rejected rows failed: ${await problemOf(response)}`);
  const text = await response.text();
  if (o.rejectedOut) fs.writeFileSync(o.rejectedOut, text);
  // "row,reason,…": the row number is the first field, the reason the second (quoted when it holds a comma).
  const rows = [...text.matchAll(/^(\d+),("(?:[^"]|"")*"|[^,\n]*)/gm)];
  for (const [, row, reason] of rows.slice(0, LISTED)) {
    out(`  row ${row}: ${reason!.startsWith('"') ? reason!.slice(1, -1).replaceAll('""', '"') : reason}`);
  }
  if (rows.length > LISTED) out(`  … and ${count(rows.length - LISTED)} more`);
  out(
    o.rejectedOut
      ? `every refused row with its cells: ${o.rejectedOut}`
      : `every refused row with its cells: GET ${base}/api/uploads/${done.id}/rejected.csv (or --rejected-out FILE)`,
  );
}

async function send(file: string, o: SendOptions): Promise<void> {
  const base = (o.url ?? process.env.HERALD_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const apiKey = o.apiKey ?? process.env.HERALD_API_KEY;
  if (!apiKey) throw new SendError('give an API key with --api-key or HERALD_API_KEY (an operator key)');
  try {
    if (!fs.statSync(file).isFile()) throw new SendError(`${file} is not a file`);
  } catch (error) {
    if (error instanceof SendError) throw error;
    throw new SendError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const terminal = process.stderr.isTTY === true;
  const info = (line: string) => process.stderr.write(`${line}\n`);
  const out = (line: string) => process.stdout.write(`${line}\n`);

  info(`uploading ${path.basename(file)} (${count(fs.statSync(file).size)} bytes) to ${base}`);
  const accepted = await upload(base, apiKey, file, o);
  info(`upload ${accepted.id} accepted; Herald is reading it`);
  const onInterrupt = () => {
    info(`\nstopped following; Herald goes on with the file: GET ${base}/api/uploads/${accepted.id}`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const reporter = progressReporter(terminal, info);
  let done: Upload;
  try {
    done = await follow(base, apiKey, accepted.id, o, (state) => reporter.update(state));
  } finally {
    reporter.stop();
    process.off('SIGINT', onInterrupt);
  }

  const { read, accepted: ok, rejected, throttled, suppressed } = done.rows;
  for (const warning of done.warnings) info(`warning: ${warning}`);
  const figures = `${count(read)} rows read: ${count(ok)} accepted, ${count(rejected)} rejected, ${count(throttled)} throttled, ${count(suppressed)} suppressed`;
  if (done.status === 'failed') {
    if (read > 0) info(figures);
    throw new SendError(`the file was not processed: ${done.errors.join('; ')}`);
  }
  out(`done: ${figures}`);
  out(`batches: ${done.batchIds.join(', ') || 'none'}`);
  if (rejected + throttled + suppressed > 0) {
    out('not accepted:');
    await listRejections(base, apiKey, done, o, out);
  }
}

export function sendCommand(program: Command): void {
  program
    .command('send')
    .description(
      'send a CSV or XLSX file of records to a running Herald for a dispatch, and follow it to the end (exit 0 when processed)',
    )
    .argument('<file>', 'the CSV or XLSX file')
    .requiredOption('--dispatch <id>', 'the dispatch the records are for')
    .option('--url <url>', "Herald's address (env HERALD_URL, default http://127.0.0.1:8080)")
    .option('--api-key <key>', 'an operator API key (prefer env HERALD_API_KEY: arguments show in process lists)')
    .option('--sheet <name>', 'XLSX: the sheet to read (default: the first)')
    .option('--mapping <json>', 'header → question id or text, as JSON or @file.json')
    .option('--rejected-out <file>', 'write the rejected-rows report (CSV) here')
    .addOption(
      program
        .createOption('--poll-ms <ms>', 'how often to ask for progress')
        .argParser(parsePollMs)
        .default(500)
        .hideHelp(),
    )
    .action((file: string, options: SendOptions) => send(file, options));
}
