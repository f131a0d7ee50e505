import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { eq } from 'drizzle-orm';
import { apiKeys } from '../../../src/storage/schema.js';
import { keyFor, logRows, postDispatchRequest, recordOf } from '../../support/ingest.js';
import { apiRequest } from '../../support/api-client.js';
import { seedDispatch } from '../../support/platform.js';

const sha512 = (value: string) => `sha512:${createHash('sha512').update(value.toLowerCase()).digest('hex')}`;

describe.each(databaseKinds())('the dispatch request log catalogue (§6.1.1) on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it("writes the original's lines, levels and tags for a request of two dispatches", async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const added = await apiRequest(herald.url, '/api/unsubscribes', {
      method: 'POST',
      token: apiKey,
      json: { identifier: 'gone@example.com', kind: 'email' },
    });
    expect(added.status).toBe(201);
    const unknown = randomUUID();
    const answer = await postDispatchRequest(herald, apiKey, {
      json: [
        {
          dispatchID: seeded.dispatchId,
          preFill: [
            recordOf(seeded, { uuid: 'a1', email: 'a1@example.com' }, [{ questionId: 'no-such-question', input: 'x' }]),
            recordOf(seeded, { uuid: 'a2', email: 'not-an-email' }),
            recordOf(seeded, { email: 'a3@example.com' }),
            recordOf(seeded, { uuid: 'a4', email: 'gone@example.com' }),
          ],
        },
        { dispatchID: unknown, preFill: [[]] },
      ],
    });
    expect(answer.status).toBe(207);
    const logs = await logRows(herald.database, account.id, answer.body.batchId);
    expect(logs.map((l) => [l.tag, l.dispatch_id, l.level, l.message, l.exception])).toEqual([
      [
        'DispatchAPI',
        null,
        'Warning',
        'Sampling type is not configured hence all records in the payload are processed. Please ensure sampling type is configured in ACM backend using the “extendedproperties” API.',
        null,
      ],
      ['DispatchAPI', seeded.dispatchId, 'Debug', 'Hashing algorithm for PII is configured as: sha512', null],
      ['DispatchAPI', seeded.dispatchId, 'Debug', '4 records accepted for further validation', null],
      [
        'DispatchAPI',
        seeded.dispatchId,
        'Warning',
        'Some of the prefills with following question IDs are ignored while processing the records. This may be due to missing question in the questionnaire. Please verify and reconfigure this in the Experience Management. no-such-question',
        null,
      ],
      [
        'DispatchAPI',
        seeded.dispatchId,
        'Fatal',
        `Invites were not sent to the following records from the data file: ${sha512('a2')}`,
        null,
      ],
      [
        'DispatchAPI',
        seeded.dispatchId,
        'Fatal',
        'Invites were not sent for some records with missing email or mobile number. Please check the data file for missing data for more details.',
        null,
      ],
      [
        'DispatchAPI',
        seeded.dispatchId,
        'Information',
        `Invites were not sent to the following records from the data file: ${sha512('a4')}`,
        null,
      ],
      [
        'DispatchAPI',
        seeded.dispatchId,
        'Debug',
        '1 records added to queue pending_invitations for bulk token generation',
        null,
      ],
      ['DispatchAPI', seeded.dispatchId, 'Debug', 'Accepted for processing 1, Rejected 3', null],
      [
        'DispatchAPI',
        unknown,
        'Error',
        'Dispatch passed in the API request is not valid. Please ensure a valid dispatch is configured in Account Configuration Module and same is passed in the API request as well.',
        `Dispatch ${unknown}: Dispatch ${unknown} was not found in this account. Check the dispatchID.`,
      ],
      ['DispatchAPI', null, 'Debug', 'Multiple dispatch status returned', null],
    ]);
    // Personal data stays out of the log: the address is nowhere, the UUIDs only hashed.
    expect(JSON.stringify(logs)).not.toMatch(/not-an-email|gone@example|"a2"|"a4"/);
  });

  it('says when every record of a dispatch is rejected, and when no dispatch of a request is valid', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    await apiRequest(herald.url, '/api/config/extendedproperties', {
      method: 'POST',
      token: apiKey,
      json: { Sampler: 'none' },
    });
    const rejected = await postDispatchRequest(herald, apiKey, {
      json: [{ dispatchID: seeded.dispatchId, preFill: [recordOf(seeded, { uuid: 'r1', email: 'bad' })] }],
    });
    const lines = (await logRows(herald.database, account.id, rejected.body.batchId)).map((l) => [l.level, l.message]);
    // A chosen sampler: no sampling warning.
    expect(lines.map(([level]) => level)).not.toContain('Warning');
    expect(lines.at(-1)).toEqual([
      'Error',
      'All the records received in the API requests are rejected. Please ensure the channels and UUID are configured correctly in the Delivery policy in Experience Management. Also ensure the Email or SMS values are sent in correct format.',
    ]);

    const none = await postDispatchRequest(herald, apiKey, { json: [{ dispatchID: randomUUID(), preFill: [[]] }] });
    const noneLines = (await logRows(herald.database, account.id, none.body.batchId)).map((l) => [l.level, l.message]);
    expect(noneLines.at(-1)).toEqual([
      'Error',
      'No valid dispatch in the batch found. Please setup a valid dispatch configuration in Account Configuration Module.',
    ]);
  });

  it('logs a failed authentication on the account whose revoked key it was; an unknown secret on none', async () => {
    const { account } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const key = await keyFor(herald.database, account.id, 'operator');
    await herald.database.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.accountId, account.id));
    const body = {
      json: [{ dispatchID: seeded.dispatchId, preFill: [recordOf(seeded, { uuid: 'k1', email: 'k1@example.com' })] }],
    };
    expect((await postDispatchRequest(herald, key, body)).status).toBe(401);
    expect((await logRows(herald.database, account.id)).map((l) => [l.tag, l.level, l.message])).toEqual([
      [
        'DispatchAPI',
        'Error',
        'Authentication Bearer token in the incoming request header is invalid. Please ensure you are using correct user credentials or a valid Authentication Bearer token.',
      ],
    ]);
    const [before] = await herald.database.sql.query<{ n: string | number }>('SELECT count(*) AS n FROM log_entries');
    expect((await postDispatchRequest(herald, 'hk_never-issued', body)).status).toBe(401);
    const [after] = await herald.database.sql.query<{ n: string | number }>('SELECT count(*) AS n FROM log_entries');
    expect(Number(after!.n)).toBe(Number(before!.n));
  });
});
