import fs from 'node:fs/promises';
import { AppError } from '../errors.js';

/** How a CSV file's bytes are text: Excel's "Unicode text" is UTF-16 with a byte-order mark. */
export type TextEncoding = 'utf8' | 'utf16le' | 'utf16be';

/** What a file turned out to be, from its content (never from its name alone). */
export type FileKind = { format: 'csv'; encoding: TextEncoding } | { format: 'xlsx' };

/** Enough of the start of a file to tell text from binary and one encoding from another. */
const SAMPLE_BYTES = 64 * 1024;

const startsWith = (sample: Buffer, ...bytes: number[]) => bytes.every((b, i) => sample[i] === b);

const refuse = (message: string) => new AppError('UNSUPPORTED_MEDIA_TYPE', message);

const TAKES = 'Herald takes CSV (UTF-8 or UTF-16 "Unicode text") and XLSX files.';

/**
 * Tells CSV from XLSX by the file's first bytes, and refuses everything else with what to do
 * instead: old .xls workbooks, OpenDocument and other archives, binary data, text that is not UTF-8.
 */
export async function sniffFile(path: string): Promise<FileKind> {
  const handle = await fs.open(path, 'r');
  let sample: Buffer;
  try {
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SAMPLE_BYTES, 0);
    sample = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (sample.length === 0) throw new AppError('VALIDATION_FAILED', 'The file is empty.');
  // A ZIP archive: XLSX if it holds a workbook, which the archive check confirms before reading.
  if (startsWith(sample, 0x50, 0x4b, 0x03, 0x04)) return { format: 'xlsx' };
  if (startsWith(sample, 0xd0, 0xcf, 0x11, 0xe0)) {
    throw refuse(`This is an Excel 97–2003 (.xls) workbook: save it as .xlsx or as CSV UTF-8. ${TAKES}`);
  }
  if (startsWith(sample, 0xef, 0xbb, 0xbf)) return textOrRefuse(sample.subarray(3), 'utf8');
  if (startsWith(sample, 0xff, 0xfe)) return { format: 'csv', encoding: 'utf16le' };
  if (startsWith(sample, 0xfe, 0xff)) return { format: 'csv', encoding: 'utf16be' };
  return textOrRefuse(sample, 'utf8');
}

function textOrRefuse(sample: Buffer, encoding: 'utf8'): FileKind {
  if (sample.includes(0)) {
    throw refuse(`The file holds binary data, not text: it is not a CSV or XLSX file. ${TAKES}`);
  }
  try {
    // stream: a character cut at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
  } catch {
    throw refuse(
      'The file is not UTF-8 text. Save it from your spreadsheet as "CSV UTF-8" or as "Unicode text", or as .xlsx.',
    );
  }
  return { format: 'csv', encoding };
}
