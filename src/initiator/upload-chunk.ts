import { isUnstorable, MAX_INPUT_LENGTH, type RawPrefill } from '../pipeline/ingest/request-body.js';
import type { FileRow } from './file-rows.js';

/** A row refused before ingest, with the cells it had. */
export interface RefusedRow {
  number: number;
  reason: string;
  cells: string[];
}

/**
 * The rows of one chunk of a file: each either a record for ingest (its prefills from the mapped
 * columns) or refused with its reason. Knows where the chunk ends in the file.
 */
export class UploadChunk {
  readonly records: RawPrefill[][] = [];
  /** The file row and cells of each record, in the same order, to report ingest's refusals. */
  readonly recordRows: { number: number; cells: string[] }[] = [];
  readonly refused: RefusedRow[] = [];
  firstRow = 0;
  lastRow = 0;
  endOffset = 0;

  constructor(
    private readonly headers: readonly string[],
    /** Per column: the question it prefills, or null. */
    private readonly questionIds: readonly (string | null)[],
    /** CSV: every row has as many fields as the header. XLSX: cells may stop early, but not run past the header. */
    private readonly strictColumns: boolean,
  ) {}

  get rowsRead(): number {
    return this.records.length + this.refused.length;
  }

  add(row: FileRow): void {
    if (this.firstRow === 0) this.firstRow = row.number;
    this.lastRow = row.number;
    this.endOffset = row.endOffset;
    const reason = this.#problemOf(row);
    if (reason) {
      this.refused.push({ number: row.number, reason, cells: row.cells });
      return;
    }
    const record: RawPrefill[] = [];
    for (const [column, questionId] of this.questionIds.entries()) {
      const input = row.cells[column]?.trim() ?? '';
      if (questionId !== null && input !== '') record.push({ questionId, input });
    }
    this.records.push(record);
    this.recordRows.push({ number: row.number, cells: row.cells });
  }

  #problemOf(row: FileRow): string | undefined {
    if (row.problem) return `The ${row.problem}`;
    const width = this.headers.length;
    if (this.strictColumns && row.cells.length !== width) {
      return `The row has ${row.cells.length} columns; the header has ${width}`;
    }
    const beyond = row.cells.findIndex((cell, column) => column >= width && cell.trim() !== '');
    if (beyond >= 0) return `The row has a value in column ${beyond + 1}, beyond the header's last column (${width})`;
    for (const [column, questionId] of this.questionIds.entries()) {
      const cell = row.cells[column] ?? '';
      if (questionId === null) continue;
      if (cell.length > MAX_INPUT_LENGTH) {
        return `The cell in column "${this.headers[column]}" is longer than ${MAX_INPUT_LENGTH} characters`;
      }
      if (isUnstorable(cell)) {
        return `The cell in column "${this.headers[column]}" holds a NUL character or a broken character that cannot be stored`;
      }
    }
    return undefined;
  }
}
