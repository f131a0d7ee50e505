import fs from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parse, type Info } from 'csv-parse';
import { AppError } from '../errors.js';
import type { TextEncoding } from './file-kind.js';
import { isEmptyRow, type FileRow, type ResumePoint } from './file-rows.js';

/** Longest record, in characters: beyond it the file is refused (often an unclosed quote). */
const MAX_RECORD_CHARS = 1_000_000;
const DELIMITERS = [',', ';', '\t'] as const;
type Delimiter = (typeof DELIMITERS)[number];

/** UTF-16BE to UTF-16LE, byte pair by byte pair: offsets in the file stay the same. */
function swapBytePairs(): Transform {
  let carry: Buffer | null = null;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const bytes = carry ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
      const even = bytes.length - (bytes.length % 2);
      carry = even < bytes.length ? bytes.subarray(even) : null;
      callback(null, bytes.subarray(0, even).swap16());
    },
    flush(callback) {
      callback(null, carry ?? undefined);
    },
  });
}

/** The file's bytes from `start`, as UTF-8 or UTF-16LE (what csv-parse decodes). */
function openBytes(path: string, encoding: TextEncoding, start: number): Readable {
  const stream = fs.createReadStream(path, { start, highWaterMark: 256 * 1024 });
  if (encoding !== 'utf16be') return stream;
  const swapped = swapBytePairs();
  stream.on('error', (error) => swapped.destroy(error));
  swapped.on('close', () => stream.destroy());
  return stream.pipe(swapped);
}

const parserEncoding = (encoding: TextEncoding) => (encoding === 'utf8' ? 'utf8' : 'utf16le');

/** Comma, semicolon or tab: whichever the first line holds most of outside quotes (comma on a tie). */
async function detectDelimiter(path: string, encoding: TextEncoding): Promise<Delimiter> {
  let text = '';
  for await (const chunk of openBytes(path, encoding, 0)) {
    text += (chunk as Buffer).toString(parserEncoding(encoding));
    if (text.length >= 64 * 1024) break;
  }
  const counts = new Map<Delimiter, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char as Delimiter))
      counts.set(char as Delimiter, counts.get(char as Delimiter)! + 1);
  }
  let best: Delimiter = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

interface Parsed {
  record: string[];
  info: Info;
}

/** Records from `start`, numbered from `firstNumber`, with the byte just past each. */
async function* records(
  path: string,
  encoding: TextEncoding,
  delimiter: Delimiter,
  start: number,
  numberBefore: number,
): AsyncGenerator<FileRow> {
  const parser = parse({
    delimiter,
    encoding: parserEncoding(encoding),
    bom: true,
    info: true,
    relax_column_count: true,
    // A stray quote inside a field (5" screen) is taken as a character, as spreadsheets do.
    relax_quotes: true,
    max_record_size: MAX_RECORD_CHARS,
  });
  const input = openBytes(path, encoding, start);
  input.on('error', (error: Error) => parser.destroy(error));
  input.pipe(parser);
  let last = numberBefore;
  try {
    for await (const { record, info } of parser as AsyncIterable<Parsed>) {
      last = numberBefore + info.records;
      yield { number: last, cells: record, endOffset: start + info.bytes };
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError(
      'VALIDATION_FAILED',
      `The CSV file cannot be read after row ${last}: ${(error as Error).message}. Check that quotes are closed and that the file is plain CSV.`,
    );
  } finally {
    input.destroy();
  }
}

/**
 * The rows of a CSV file that are not empty: its header (the first such row) always, then the
 * rows after `resume`. The file is streamed; resuming seeks straight to the byte after the last
 * committed row.
 */
export async function* readCsvRows(path: string, encoding: TextEncoding, resume: ResumePoint): AsyncGenerator<FileRow> {
  const delimiter = await detectDelimiter(path, encoding);
  if (resume.offset > 0) {
    for await (const row of records(path, encoding, delimiter, 0, 0)) {
      if (!isEmptyRow(row.cells)) {
        yield row;
        break;
      }
    }
    for await (const row of records(path, encoding, delimiter, resume.offset, resume.row)) {
      if (!isEmptyRow(row.cells)) yield row;
    }
    return;
  }
  for await (const row of records(path, encoding, delimiter, 0, 0)) {
    if (!isEmptyRow(row.cells)) yield row;
  }
}
