import fs from 'node:fs';
import unzipper from 'unzipper';
import { AppError } from '../errors.js';

const MiB = 1024 * 1024;

const tooLarge = (max: number) =>
  new AppError(
    'PAYLOAD_TOO_LARGE',
    `The workbook decompresses to more than ${Math.round(max / MiB)} MiB, the most Herald reads (a possible zip bomb): split it into smaller files or save it as CSV.`,
  );

const unreadable = (error: Error) =>
  new AppError(
    'UNSUPPORTED_MEDIA_TYPE',
    `The file looks like a ZIP archive but cannot be read as an XLSX workbook (${error.message}). Save it again as .xlsx or as CSV UTF-8.`,
  );

/**
 * Reads every entry of an XLSX archive once, with the same unzip parser the workbook reader uses,
 * counting the bytes it decompresses: past `maxUnzippedBytes` the file is refused as a possible zip
 * bomb, before anything of it is accepted and without holding it in memory. Also refuses archives
 * that are not workbooks (OpenDocument, Word, any other ZIP).
 */
export async function checkWorkbookArchive(path: string, maxUnzippedBytes: number): Promise<void> {
  // What the archive's directory declares settles most cases at once; the count below catches an
  // archive whose directory understates its entries.
  const directory = await unzipper.Open.file(path).catch((error: Error) => {
    throw unreadable(error);
  });
  const declared = directory.files.reduce((sum, file) => sum + file.uncompressedSize, 0);
  if (declared > maxUnzippedBytes) throw tooLarge(maxUnzippedBytes);
  const names = new Set<string>();
  let unzipped = 0;
  const input = fs.createReadStream(path);
  const zip = input.pipe(unzipper.Parse({ forceStream: true }));
  input.on('error', (error) => zip.destroy(error));
  try {
    for await (const entry of zip as AsyncIterable<unzipper.Entry>) {
      names.add(entry.path);
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        unzipped += chunk.length;
        if (unzipped > maxUnzippedBytes) throw tooLarge(maxUnzippedBytes);
      }
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw unreadable(error as Error);
  } finally {
    input.destroy();
    zip.destroy();
  }
  if (names.has('mimetype') && names.has('content.xml')) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'This is an OpenDocument spreadsheet (.ods): save it as .xlsx or as CSV UTF-8.',
    );
  }
  if (!names.has('xl/workbook.xml')) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'The file is a ZIP archive but not an XLSX workbook. Herald takes CSV and XLSX files.',
    );
  }
}
