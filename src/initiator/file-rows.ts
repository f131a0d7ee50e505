/** One row of a customer file, as the initiator's readers hand it over. */
export interface FileRow {
  /** The row number a spreadsheet shows: 1 is the first line (CSV record) or row 1 (XLSX). */
  readonly number: number;
  readonly cells: string[];
  /** Why the row cannot be taken as it is (a cell holding a formula or an error), if anything. */
  readonly problem?: string;
  /** Where reading can resume after this row: the byte just past it (CSV); 0 when it cannot (XLSX). */
  readonly endOffset: number;
}

/** Where a reader starts again: after the last row of the last committed chunk. */
export interface ResumePoint {
  readonly row: number;
  readonly offset: number;
}

export const fromTheStart: ResumePoint = { row: 0, offset: 0 };

/** A row with nothing in it is skipped, not counted. */
export const isEmptyRow = (cells: readonly string[]) => cells.every((cell) => cell.trim() === '');
