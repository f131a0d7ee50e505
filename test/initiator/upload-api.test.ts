import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatches } from '../../src/storage/schema.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { keyFor } from '../support/ingest.js';
import { apiRequest, type ErrorBody } from '../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../support/platform.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';
import {
  invitationStates,
  postUpload,
  rejectedCsv,
  uploadLog,
  waitForUpload,
  type UploadView,
} from '../support/uploads.js';

afterAll(() => removeTempDirs());

describe.each(databaseKinds())('the upload API on %s', (kind) => {
  let herald: TestHerald;
  let apiKey: string;
  let accountId: string;
  let seeded: SeededDispatch;

  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      // Chunks of 4 rows, so a small file goes through ingest in several transactions.
      env: { HERALD_DATA_DIR: makeTempDir(), HERALD_MAX_RECORDS: '4', HERALD_TOKEN_FLUSH_MS: '0' },
    });
    const seededAccount = await seedAccount(herald.database, 'operator');
    apiKey = seededAccount.apiKey;
    accountId = seededAccount.account.id;
    seeded = await seedDispatch(herald.database, accountId);
  });
  afterAll(() => herald?.stop());

  it('answers 202 at once, then reads the file in chunks through ingest, with counts, batches and log entries', async () => {
    const csv = [
      'Customer id,EMAIL,name,Loyalty tier',
      'c1,ann@example.com,Ann,gold',
      'c2,bob@example.com,Bob,silver',
      'c3,not-an-email,Cy,gold',
      '',
      'c4,"dee@example.com","Dee ""D"" Smith",gold',
      'c5,eve@example.com,"Eve',
      'on two lines",bronze',
      'c6,fay@example.com,Fay',
      'c1,ann.again@example.com,Ann,gold',
      'c7,gus@example.com,Gus,gold',
    ].join('\r\n');
    const posted = await postUpload(herald.url, apiKey, {
      dispatchId: seeded.dispatchId,
      file: Buffer.from(csv),
      fileName: 'crm export.csv',
    });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    expect(posted.headers.get('location')).toBe(`/api/uploads/${posted.body.id}`);
    expect(posted.body).toMatchObject({ fileName: 'crm export.csv', format: 'csv', source: 'api' });

    const upload = await waitForUpload(herald.url, apiKey, posted.body.id);
    expect(upload.status, JSON.stringify(upload)).toBe('done');
    // 8 data rows (the empty one skipped): c3's address is invalid, c6 is short of a column.
    expect(upload.rows).toEqual({ read: 8, accepted: 6, rejected: 2, throttled: 0, suppressed: 0 });
    expect(upload.progress).toBe(1);
    expect(upload.columns).toEqual(['Customer id', 'EMAIL', 'name', 'Loyalty tier']);
    expect(upload.warnings).toEqual(['These columns match no question of the dispatch and were ignored: Loyalty tier']);
    // 8 rows in chunks of 4: two dispatch requests, each its own batch.
    expect(upload.batchIds).toEqual([`${upload.id}.1`, `${upload.id}.2`]);
    expect(await invitationStates(herald.database, accountId)).toMatchObject({ rejected: 1 });

    const report = await rejectedCsv(herald.url, apiKey, upload.id);
    const lines = report.trim().split('\n');
    expect(lines[0]).toBe('row,reason,Customer id,EMAIL,name,Loyalty tier');
    expect(lines[1]).toMatch(/^4,Failed due to an invalid email address.*,c3,not-an-email,Cy,gold$/);
    // Row numbers are a spreadsheet's: the empty row 5 counts, the two-line cell is one row (7).
    expect(lines[2]).toBe('8,The row has 3 columns; the header has 4,c6,fay@example.com,Fay');
    expect(lines).toHaveLength(3);

    const log = await uploadLog(herald.database, upload.id);
    const messages = log.map((l) => `${l.level[0]} ${l.message}`);
    expect(messages.slice(0, 5)).toEqual([
      'D A request to initiate a dispatch was received from the upload API',
      'D The uploaded file was successfully retrieved',
      'D The required Dispatch details, along with its Questions, were successfully fetched',
      expect.stringMatching(
        /^I The uploaded file's headers are ready for processing\. Details => "Customer id" → .*"EMAIL" → .*"name" → .* \. Available Headers for the corresponding Dispatch: "Customer id"/,
      ) as unknown,
      'W These columns match no question of the dispatch and were ignored: Loyalty tier',
    ]);
    expect(messages.slice(5)).toEqual([
      "I The uploaded file's rows are ready for processing. Details => rows 2–6: 4 records, 0 rows refused as read",
      'I The HTTP Response received: 206 Accepted for processing 3, Rejected 1 (invalid 1, throttled 0, suppressed 0)',
      "I The uploaded file's rows are ready for processing. Details => rows 7–10: 3 records, 1 rows refused as read",
      'I The HTTP Response received: 202 Accepted for processing 3',
    ]);
    expect(log.slice(5).map((l) => l.batch_id)).toEqual([
      `${upload.id}.1`,
      `${upload.id}.1`,
      `${upload.id}.2`,
      `${upload.id}.2`,
    ]);

    const listed = await apiRequest<UploadView[]>(herald.url, '/api/uploads', { token: apiKey });
    expect(listed.body.map((u) => u.id)).toContain(upload.id);
  });

  it('neutralises formula injection in the rejected-rows report', async () => {
    // A CSV cell is text, read as it is; the report neutralises the cells a spreadsheet would run.
    const csv = [
      'Customer id,Email,Name,=cmd',
      '"=HYPERLINK(""http://evil.example"",""x"")",not-an-email,@SUM(1+1),x',
      '-2+3,also-not-an-email,+cmd|calc,y',
    ].join('\n');
    const posted = await postUpload(herald.url, apiKey, { dispatchId: seeded.dispatchId, file: Buffer.from(csv) });
    expect(posted.status).toBe(202);
    const upload = await waitForUpload(herald.url, apiKey, posted.body.id);
    expect(upload.rows).toMatchObject({ read: 2, accepted: 0, rejected: 2 });
    const report = (await rejectedCsv(herald.url, apiKey, upload.id)).trim().split('\n');
    expect(report[0]).toBe("row,reason,Customer id,Email,Name,'=cmd");
    expect(report[1]).toMatch(
      /^2,Failed due to an invalid email address[^,]*,"'=HYPERLINK\(""http:\/\/evil\.example"",""x""\)",not-an-email,'@SUM\(1\+1\),x$/,
    );
    expect(report[2]).toMatch(
      /^3,Failed due to an invalid email address[^,]*,'-2\+3,also-not-an-email,'\+cmd\|calc,y$/,
    );
  });

  it('refuses what it cannot take with a 4xx and a clear message, keeping nothing', async () => {
    const before = await apiRequest<UploadView[]>(herald.url, '/api/uploads', { token: apiKey });
    const refusal = async (form: Parameters<typeof postUpload>[2]) => {
      const answer = await postUpload<ErrorBody>(herald.url, apiKey, form);
      return { status: answer.status, code: answer.body.error?.code, message: answer.body.error?.message };
    };
    const csv = Buffer.from('Customer id,Email\nc1,a@example.com\n');

    expect(await refusal({ dispatchId: '0b8f2c1e-0000-4000-8000-000000000000', file: csv })).toMatchObject({
      status: 400,
      message: expect.stringContaining('was not found in this account') as unknown,
    });
    expect(await refusal({ dispatchId: 'not-a-uuid', file: csv })).toMatchObject({ status: 400 });
    expect(await refusal({ file: csv })).toMatchObject({ status: 400, message: 'Add the form field dispatchId.' });
    expect(await refusal({ dispatchId: seeded.dispatchId })).toMatchObject({
      status: 400,
      message: 'Add the file in the form field "file".',
    });
    expect(await refusal({ dispatchId: seeded.dispatchId, file: csv, mapping: '[1]' })).toMatchObject({
      status: 400,
      message: expect.stringContaining('mapping field must be a JSON object') as unknown,
    });
    expect(
      await refusal({
        dispatchId: seeded.dispatchId,
        file: Buffer.from([0x00, 0x01, 0x02, 0xff, 0x00]),
        fileName: 'x.csv',
      }),
    ).toMatchObject({ status: 415, message: expect.stringContaining('binary data') as unknown });
    expect(
      await refusal({
        dispatchId: seeded.dispatchId,
        file: Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(100)]),
        fileName: 'old.xls',
      }),
    ).toMatchObject({ status: 415, message: expect.stringContaining('Excel 97–2003') as unknown });
    expect(
      await refusal({
        dispatchId: seeded.dispatchId,
        file: Buffer.from('Name;Email\nZo\xe9;z@example.com\n', 'latin1'),
      }),
    ).toMatchObject({ status: 415, message: expect.stringContaining('not UTF-8 text') as unknown });
    expect(await refusal({ dispatchId: seeded.dispatchId, file: Buffer.alloc(0) })).toMatchObject({
      status: 400,
      message: 'The file is empty.',
    });

    const json = await apiRequest<ErrorBody>(herald.url, '/api/uploads', {
      method: 'POST',
      token: apiKey,
      json: { dispatchId: seeded.dispatchId },
    });
    expect(json.status).toBe(415);
    expect(json.body.error.message).toContain('multipart/form-data');

    await herald.database.db.update(dispatches).set({ paused: true }).where(eq(dispatches.id, seeded.dispatchId));
    try {
      expect(await refusal({ dispatchId: seeded.dispatchId, file: csv })).toMatchObject({
        status: 400,
        message: expect.stringContaining('The dispatch is paused') as unknown,
      });
    } finally {
      await herald.database.db.update(dispatches).set({ paused: false }).where(eq(dispatches.id, seeded.dispatchId));
    }

    const after = await apiRequest<UploadView[]>(herald.url, '/api/uploads', { token: apiKey });
    expect(after.body.length).toBe(before.body.length);
  });

  it('needs an operator to upload and to read the rejected rows; a viewer sees the uploads', async () => {
    const viewerKey = await keyFor(herald.database, accountId, 'viewer');
    const csv = Buffer.from('Customer id,Email\nc1,a@example.com\n');
    const forbidden = await postUpload(herald.url, viewerKey, { dispatchId: seeded.dispatchId, file: csv });
    expect(forbidden.status).toBe(403);
    const anonymous = await postUpload(herald.url, undefined, { dispatchId: seeded.dispatchId, file: csv });
    expect(anonymous.status).toBe(401);
    const listed = await apiRequest<UploadView[]>(herald.url, '/api/uploads', { token: viewerKey });
    expect(listed.status).toBe(200);
    const [first] = listed.body;
    expect((await apiRequest(herald.url, `/api/uploads/${first!.id}/rejected.csv`, { token: viewerKey })).status).toBe(
      403,
    );
    expect((await apiRequest(herald.url, '/api/uploads/not-an-id', { token: viewerKey })).status).toBe(404);
  });
});
