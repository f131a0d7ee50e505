import { stringify } from 'csv-stringify/sync';
import type { Vault } from '../privacy/vault.js';
import type { Db } from '../storage/database.js';
import { rejectionsPage, type RejectionRow, type UploadRecord } from './uploads.js';

/** Binds a sealed row to its upload and row number: moved elsewhere, it does not open. */
const context = (accountId: string, uploadId: string, rowNumber: number) => `${accountId}:${uploadId}:${rowNumber}`;

/** A refused row ready to store: its cells sealed by the vault. */
export function sealRejection(
  vault: Vault,
  accountId: string,
  uploadId: string,
  rowNumber: number,
  reason: string,
  cells: readonly string[],
): RejectionRow {
  const { sealed, keyId } = vault.seal(JSON.stringify(cells), context(accountId, uploadId, rowNumber));
  return { rowNumber, reason, sealedCells: sealed.toString('base64'), sealedKeyId: keyId };
}

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return) as a formula:
 * such a cell is written with a leading apostrophe, so opening the report runs nothing (OWASP's
 * advice against CSV injection).
 */
export function neutralise(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

const line = (cells: readonly (string | number)[]) =>
  stringify([cells.map((c) => (typeof c === 'number' ? String(c) : neutralise(c)))]);

const PAGE = 1000;

/**
 * The rejected-rows report as CSV text, a page of rows at a time: `row`, `reason`, then the file's
 * own columns with the row's cells, every cell neutralised against formula injection.
 */
export async function* rejectedRowsReport(db: Db, vault: Vault, upload: UploadRecord): AsyncGenerator<string> {
  yield line(['row', 'reason', ...(upload.columns ?? [])]);
  let after = 0;
  for (;;) {
    const page = await rejectionsPage(db, upload.id, after, PAGE);
    if (page.length === 0) return;
    let text = '';
    for (const r of page) {
      const sealed = Buffer.from(r.sealedCells, 'base64');
      const cells = JSON.parse(
        vault.open(sealed, r.sealedKeyId, context(upload.accountId, upload.id, r.rowNumber)),
      ) as string[];
      text += line([r.rowNumber, r.reason, ...cells]);
    }
    yield text;
    after = page.at(-1)!.rowNumber;
  }
}
