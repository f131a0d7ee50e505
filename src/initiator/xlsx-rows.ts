import fs from 'node:fs';
import ExcelJS from 'exceljs';
import { AppError } from '../errors.js';
import { isEmptyRow, type FileRow, type ResumePoint } from './file-rows.js';

/** The parts of exceljs's streaming reader used here (its typings omit the sheet's name and the workbook model). */
interface SheetReader extends AsyncIterable<ExcelJS.Row> {
  readonly name?: string;
}
interface BookReader extends AsyncIterable<SheetReader> {
  readonly model?: { sheets?: { name: string }[] };
}

const columnName = (column: number): string => {
  let name = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
};

const isoDate = (date: Date) =>
  date.getUTCHours() + date.getUTCMinutes() + date.getUTCSeconds() === 0
    ? date.toISOString().slice(0, 10)
    : date.toISOString();

type Converted = { text: string; problem?: string };

/** A cell's value as text; formulas and error values are kept as text but make the row a problem. */
function convert(value: ExcelJS.CellValue, address: string): Converted {
  if (value === null || value === undefined) return { text: '' };
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'number' || typeof value === 'boolean') return { text: String(value) };
  if (value instanceof Date) return { text: isoDate(value) };
  if ('formula' in value || 'sharedFormula' in value) {
    const formula = 'formula' in value ? value.formula : value.sharedFormula;
    return {
      text: `=${formula}`,
      problem: `cell ${address} holds a formula: Herald takes values only (copy the cells and paste them as values)`,
    };
  }
  if ('error' in value) {
    return { text: String(value.error), problem: `cell ${address} holds the error value ${String(value.error)}` };
  }
  if ('richText' in value) return { text: value.richText.map((part) => part.text).join('') };
  if ('text' in value) return { text: String(value.text) };
  return { text: '' };
}

function toFileRow(row: ExcelJS.Row): FileRow {
  const values = row.values as ExcelJS.CellValue[];
  const cells: string[] = [];
  let problem: string | undefined;
  for (let column = 1; column < values.length; column += 1) {
    const converted = convert(values[column], `${columnName(column)}${row.number}`);
    cells.push(converted.text);
    problem ??= converted.problem;
  }
  return { number: row.number, cells, ...(problem && { problem }), endOffset: 0 };
}

/**
 * The rows of one sheet of an XLSX workbook (the first, or the one named, case-insensitively) that
 * are not empty: its header always, then the rows after `resume` (the workbook is read from the
 * start again: XLSX cannot seek). Streamed by exceljs; check the archive with checkWorkbookArchive
 * first, which bounds what it decompresses.
 */
export async function* readXlsxRows(path: string, sheet: string | null, resume: ResumePoint): AsyncGenerator<FileRow> {
  const input = fs.createReadStream(path);
  const book = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Styles tell dates from numbers.
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  }) as unknown as BookReader;
  const seen: string[] = [];
  try {
    for await (const worksheet of book) {
      const name = worksheet.name ?? `Sheet${seen.length + 1}`;
      seen.push(name);
      const wanted = sheet ?? book.model?.sheets?.[0]?.name ?? name;
      if (name.toLowerCase() !== wanted.toLowerCase()) continue;
      let header = true;
      for await (const row of worksheet) {
        const fileRow = toFileRow(row);
        if (isEmptyRow(fileRow.cells)) continue;
        if (header || fileRow.number > resume.row) yield fileRow;
        header = false;
      }
      return;
    }
  } catch (error) {
    throw new AppError(
      'VALIDATION_FAILED',
      `The XLSX workbook cannot be read (${(error as Error).message}). Save it again as .xlsx or as CSV UTF-8.`,
    );
  } finally {
    input.destroy();
  }
  throw new AppError(
    'VALIDATION_FAILED',
    sheet === null
      ? 'The workbook has no worksheet.'
      : `The workbook has no sheet named "${sheet}"; its sheets: ${seen.join(', ') || 'none'}.`,
  );
}
