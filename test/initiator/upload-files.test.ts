import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../support/accounts.js';
import { repoRoot } from '../support/cli.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { invitationRows } from '../support/ingest.js';
import { type ErrorBody } from '../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../support/platform.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';
import {
  postUpload,
  rejectedCsv,
  uploadLog,
  waitForUpload,
  type UploadForm,
  type UploadView,
} from '../support/uploads.js';

/** Written by LibreOffice and Python (test/fixtures/uploads/make-fixtures.sh), read here by csv-parse and exceljs. */
const fixture = (name: string) => path.join(repoRoot, 'test/fixtures/uploads', name);

afterAll(() => removeTempDirs());

describe.each(databaseKinds())('files of every kind through the upload API on %s', (kind) => {
  let herald: TestHerald;
  let apiKey: string;
  let accountId: string;
  let seeded: SeededDispatch;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = makeTempDir();
    herald = await startTestHerald(kind, {
      // A low bound on what a workbook may decompress to, so the bomb that hides its size is found quickly.
      env: { HERALD_DATA_DIR: dataDir, HERALD_UPLOAD_MAX_UNZIPPED_BYTES: String(64 * 1024 * 1024) },
    });
    const account = await seedAccount(herald.database, 'operator');
    apiKey = account.apiKey;
    accountId = account.account.id;
    seeded = await seedDispatch(herald.database, accountId);
  });
  afterAll(() => herald?.stop());

  async function upload(form: UploadForm): Promise<UploadView> {
    const posted = await postUpload(herald.url, apiKey, { dispatchId: seeded.dispatchId, ...form });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    return waitForUpload(herald.url, apiKey, posted.body.id);
  }

  /** The accepted invitations of an upload: name (not hashed) and note by UUID. */
  async function acceptedOf(done: UploadView): Promise<Record<string, { name?: string; note?: string }>> {
    const rows = (await invitationRows(herald.database, accountId)).filter(
      (r) => done.batchIds.includes(r.batch_id) && r.state !== 'rejected',
    );
    const valueOf = (prefills: { questionId: string; input: string }[], id: string) =>
      prefills.find((p) => p.questionId === id)?.input;
    const entries = rows.map((r): [string, { name?: string; note?: string }] => [
      r.uuid ?? '',
      { name: valueOf(r.prefills, seeded.q.name), note: valueOf(r.prefills, seeded.q.note) },
    ]);
    return Object.fromEntries(entries);
  }

  it('reads the named sheet of a LibreOffice workbook: dates, numbers, two-line cells; refuses formulas and cells beyond the header', async () => {
    const done = await upload({
      file: fixture('customers-libreoffice.xlsx'),
      fileName: 'customers.xlsx',
      sheet: 'customers',
    });
    expect(done).toMatchObject({ status: 'done', format: 'xlsx' });
    expect(done.rows).toEqual({ read: 6, accepted: 3, rejected: 3, throttled: 0, suppressed: 0 });
    expect(done.warnings).toEqual([
      'These columns match no question of the dispatch and were ignored: Visit date, Score',
    ]);
    expect(await acceptedOf(done)).toEqual({
      c1: { name: 'Ann', note: 'plain' },
      1002: { name: 'Bob "B"', note: 'first line\nsecond line' },
      c5: { name: 'Zoë', note: '日本語のメモ' },
    });
    const report = (await rejectedCsv(herald.url, apiKey, done.id)).trim().split('\n');
    expect(report[0]).toBe('row,reason,Customer id,Email,Mobile,Name,Visit date,Score,Note');
    expect(report[1]).toBe(
      "4,The cell F4 holds a formula: Herald takes values only (copy the cells and paste them as values),c3,cy@example.com,,Cy,,'=F2+F3",
    );
    expect(report[2]).toMatch(/^6,Failed due to an invalid email address.*,c4,not-an-email,,Dee$/);
    expect(report[3]).toBe(
      `8,"The row has a value in column 8, beyond the header's last column (7)",c6,fay@example.com,,,,,,beyond the header`,
    );
  });

  it("takes a workbook's first sheet when none is named, and says when a named one is missing", async () => {
    const first = await upload({ file: fixture('customers-libreoffice.xlsx'), fileName: 'customers.xlsx' });
    expect(first.status).toBe('failed');
    expect(first.errors[0]).toMatch(/^None of the file's headers matches a question of the dispatch\..*"Customer id"/);
    const log = await uploadLog(herald.database, first.id);
    expect(log.at(-1)).toMatchObject({
      level: 'Error',
      message: expect.stringMatching(
        /^The uploaded file cannot be processed as none of the headers could be mapped to a Question-Id that belongs to the corresponding Dispatch\. Available Headers for the corresponding Dispatch: /,
      ) as unknown,
    });
    const missing = await upload({ file: fixture('customers-libreoffice.xlsx'), fileName: 'c.xlsx', sheet: 'Clients' });
    expect(missing).toMatchObject({
      status: 'failed',
      errors: ['The workbook has no sheet named "Clients"; its sheets: Read me, Customers.'],
    });
  });

  it('reads Unicode text (UTF-16, tab-separated) and semicolon CSV written by a spreadsheet', async () => {
    for (const name of ['customers-unicode-text.txt', 'customers-semicolon.csv']) {
      const done = await upload({ file: fixture(name), fileName: name });
      // A text export holds the formula's value; the cell beyond the header sits under an empty header.
      expect(done.rows, name).toEqual({ read: 6, accepted: 5, rejected: 1, throttled: 0, suppressed: 0 });
      expect(await acceptedOf(done), name).toMatchObject({
        c5: { name: 'Zoë', note: '日本語のメモ' },
        1002: { name: 'Bob "B"', note: 'first line\nsecond line' },
      });
    }
  });

  it('reads UTF-8 with a byte-order mark and CRLF, and UTF-16BE, and maps headers by the given mapping', async () => {
    const text = 'Client;E-mail address;Name\r\nk1;k1@example.com;Kay\r\nk2;k2@example.com;Lou\r\n';
    const mapping = JSON.stringify({ client: 'Customer id', 'E-MAIL ADDRESS': seeded.q.email });
    const bom = await upload({ file: Buffer.from(`\ufeff${text}`), mapping });
    expect(bom.rows).toMatchObject({ read: 2, accepted: 2 });
    expect(await acceptedOf(bom)).toEqual({ k1: { name: 'Kay' }, k2: { name: 'Lou' } });
    const utf16be = Buffer.from(`\ufeff${text.replaceAll('k', 'm')}`, 'utf16le').swap16();
    const be = await upload({ file: utf16be, mapping });
    expect(await acceptedOf(be)).toEqual({ m1: { name: 'Kay' }, m2: { name: 'Lou' } });
  });

  it('fails a file whose headers repeat, match nothing, or which has no rows, naming the problem', async () => {
    const duplicate = await upload({
      file: Buffer.from('Customer id,Email,email,Name\nc1,a@example.com,b@example.com,A\n'),
    });
    expect(duplicate).toMatchObject({
      status: 'failed',
      rows: { read: 0, accepted: 0 },
      errors: ['The file has duplicate headers: Email, email. Rename or remove them and upload it again.'],
    });
    expect((await uploadLog(herald.database, duplicate.id)).at(-1)?.message).toBe(
      'The uploaded file cannot be processed as it has the following duplicate headers: Email, email',
    );
    const unmapped = await upload({ file: Buffer.from('Foo,Bar\n1,2\n') });
    expect(unmapped.errors[0]).toMatch(/^None of the file's headers matches a question/);
    const headerOnly = await upload({ file: Buffer.from('Customer id,Email\n\n\n') });
    expect(headerOnly).toMatchObject({ status: 'failed', errors: ['The file has a header but no rows.'] });
    expect((await uploadLog(herald.database, headerOnly.id)).at(-1)?.message).toBe(
      'The uploaded file cannot be processed as none of the rows are correctly configured.',
    );
    const everyRowBroken = await upload({ file: Buffer.from('Customer id,Email\nc1\nc2\n') });
    expect(everyRowBroken).toMatchObject({ status: 'failed', rows: { read: 2, rejected: 2 } });
  });

  it('fails a CSV that breaks mid-file after what it could read, with the row', async () => {
    const done = await upload({ file: Buffer.from('Customer id,Email\nq1,q1@example.com\nq2,"q2@example.com\n') });
    expect(done.status).toBe('failed');
    expect(done.errors[0]).toMatch(/^The CSV file cannot be read after row 2: .*Check that quotes are closed/);
  });

  it('refuses zip bombs, an OpenDocument spreadsheet and a damaged workbook, before accepting anything', async () => {
    for (const name of ['zip-bomb.xlsx', 'zip-bomb-understated.xlsx']) {
      const bomb = await upload({ file: fixture(name), fileName: name });
      expect(bomb, name).toMatchObject({
        status: 'failed',
        rows: { read: 0, accepted: 0 },
        errors: [
          'The workbook decompresses to more than 64 MiB, the most Herald reads (a possible zip bomb): split it into smaller files or save it as CSV.',
        ],
      });
    }
    const ods = await upload({ file: fixture('customers-libreoffice.ods'), fileName: 'customers.ods' });
    expect(ods).toMatchObject({
      status: 'failed',
      errors: ['This is an OpenDocument spreadsheet (.ods): save it as .xlsx or as CSV UTF-8.'],
    });
    const xlsx = fs.readFileSync(fixture('customers-libreoffice.xlsx'));
    const damaged = await upload({
      file: Buffer.concat([xlsx.subarray(0, 2000), Buffer.alloc(3000, 7)]),
      fileName: 'd.xlsx',
    });
    expect(damaged.status).toBe('failed');
    expect(damaged.errors[0]).toMatch(/cannot be read as an XLSX workbook|cannot be read/);
  });

  it('refuses a 200 MB file with 413, at once when its length is announced and while it streams otherwise, keeping none of it', async () => {
    const line = 'c,someone@example.com,A name that pads the line out to about a hundred bytes or so....\n';
    const block = Buffer.from(line.repeat(10_000));
    const size = 200 * 1024 * 1024;
    const big = path.join(makeTempDir(), 'big.csv');
    const out = fs.openSync(big, 'w');
    for (let written = 0; written < size; written += block.length) fs.writeSync(out, block);
    fs.closeSync(out);
    const announced = await postUpload<ErrorBody>(herald.url, apiKey, { dispatchId: seeded.dispatchId, file: big });
    expect(announced.status).toBe(413);
    const message = 'The file is larger than 150 MiB, the most Herald takes: split it into smaller files.';
    expect(announced.body.error.message).toBe(message);

    // Chunked: no length to go by, so the cap is applied to the bytes as they arrive.
    const boundary = `herald-test-${Date.now()}`;
    async function* parts() {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="dispatchId"\r\n\r\n${seeded.dispatchId}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`,
      );
      for (let sent = 0; sent < size; sent += block.length) yield block;
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }
    const streamed = await fetch(`${herald.url}/api/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: ReadableStream.from(parts()),
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as ErrorBody).error.message).toBe(message);
    // Nothing of either is kept; the files uploaded before were deleted once read.
    expect(fs.readdirSync(path.join(dataDir, 'uploads'))).toEqual([]);
  });
});
