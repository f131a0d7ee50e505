import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLogEntry } from '../../src/reporting/event-log.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import {
  invitationRows,
  keyFor,
  logRows,
  postDispatchRequest,
  recordOf,
  type InvitationRow,
  type MultiStatus,
} from '../support/ingest.js';
import { apiRequest, type ErrorBody } from '../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../support/platform.js';
import { waitFor } from '../support/wait.js';

const sha512 = (value: string) => `sha512:${createHash('sha512').update(value.toLowerCase()).digest('hex')}`;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe.each(databaseKinds())('POST /api/EventLog and GET /api/dispatchSingle on %s', (kind) => {
  let herald: TestHerald;
  // Account A: batch "log-b1" (D1: u1, u2, u3 rejected; D2: u1) and a generated batch (D2: u4, u5).
  // Account B: its own batch, also called "log-b1" (D3: u1).
  let a: { id: string; key: string; d1: SeededDispatch; d2: SeededDispatch; b2: string; rows: InvitationRow[] };
  let b: { id: string; key: string; d3: SeededDispatch; rows: InvitationRow[] };
  let startedAt: Date;

  async function tokensFor(accountId: string, accepted: number) {
    return waitFor(async () => {
      const rows = await invitationRows(herald.database, accountId);
      return rows.filter((r) => r.token).length === accepted && rows;
    }, 30_000);
  }

  beforeAll(async () => {
    herald = await startTestHerald(kind, { env: { HERALD_TOKEN_FLUSH_MS: '0' } });
    startedAt = new Date(Date.now() - 60_000);
    const accountA = await seedAccount(herald.database);
    const accountB = await seedAccount(herald.database);
    const d1 = await seedDispatch(herald.database, accountA.account.id);
    const d2 = await seedDispatch(herald.database, accountA.account.id);
    const d3 = await seedDispatch(herald.database, accountB.account.id);
    const rec = (s: SeededDispatch, uuid: string, email: string) => recordOf(s, { uuid, email, name: `name-${uuid}` });

    const first = await postDispatchRequest(
      herald,
      accountA.apiKey,
      {
        json: [
          {
            dispatchID: d1.dispatchId,
            preFill: [rec(d1, 'u1', 'ann@example.com'), rec(d1, 'u2', 'bo@example.com'), rec(d1, 'u3', 'bad')],
          },
          { dispatchID: d2.dispatchId, preFill: [rec(d2, 'u1', 'cy@example.com')] },
        ],
      },
      { BatchID: 'log-b1' },
    );
    expect(first.status).toBe(207);
    const second = await postDispatchRequest(herald, accountA.apiKey, {
      json: [
        { dispatchID: d2.dispatchId, preFill: [rec(d2, 'u4', 'dee@example.com'), rec(d2, 'u5', 'Ann@Example.com')] },
      ],
    });
    expect(second.status).toBe(207);
    const third = await postDispatchRequest(
      herald,
      accountB.apiKey,
      { json: [{ dispatchID: d3.dispatchId, preFill: [rec(d3, 'u1', 'ann@example.com')] }] },
      { BatchID: 'log-b1' },
    );
    expect(third.status).toBe(207);
    a = {
      id: accountA.account.id,
      key: accountA.apiKey,
      d1,
      d2,
      b2: second.body.batchId,
      rows: await tokensFor(accountA.account.id, 5),
    };
    b = { id: accountB.account.id, key: accountB.apiKey, d3, rows: await tokensFor(accountB.account.id, 1) };
  });
  afterAll(() => herald?.stop());

  /** The answer split as the original's clients read it: invitations ("UserData") and log documents. */
  async function eventLog(token: string | undefined, filter: unknown) {
    const answer = await apiRequest<EventLogEntry[]>(herald.url, '/api/EventLog', {
      method: 'POST',
      token,
      json: filter,
    });
    const all = Array.isArray(answer.body) ? answer.body : [];
    const body = all.filter((e) => e.tags[0] === 'UserData');
    const logs = all.filter((e) => e.tags[0] !== 'UserData');
    return { ...answer, all, body, logs, total: answer.headers.get('x-total-count') };
  }
  const ids = (entries: EventLogEntry[]) => entries.map((e) => e.id).sort();
  const rowIds = (rows: InvitationRow[]) => rows.map((r) => r.id).sort();
  const rowsWhere = (predicate: (r: InvitationRow) => boolean) => a.rows.filter(predicate);

  describe('filters', () => {
    it('finds a batch by BatchId, only in the caller’s account', async () => {
      const answer = await eventLog(a.key, { BatchId: 'log-b1' });
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveLength(4);
      expect(answer.total).toBe(String(4 + answer.logs.length));
      expect(ids(answer.body)).toEqual(rowIds(rowsWhere((r) => r.batch_id === 'log-b1')));
      const other = await eventLog(b.key, { BatchId: 'log-b1' });
      expect(ids(other.body)).toEqual(rowIds(b.rows));
    });

    it("answers an empty list for another account's batch", async () => {
      const answer = await eventLog(b.key, { BatchId: a.b2 });
      expect(answer.status).toBe(200);
      expect(answer.all).toEqual([]);
      expect(answer.total).toBe('0');
      expect((await eventLog(a.key, { BatchId: a.b2 })).body).toHaveLength(2);
    });

    it('finds by DispatchId (and nothing for another account’s dispatch or a malformed id)', async () => {
      const answer = await eventLog(a.key, { DispatchId: a.d2.dispatchId });
      expect(ids(answer.body)).toEqual(rowIds(rowsWhere((r) => r.dispatch_id === a.d2.dispatchId)));
      expect(answer.body).toHaveLength(3);
      expect((await eventLog(a.key, { DispatchId: b.d3.dispatchId })).all).toEqual([]);
      const malformed = await eventLog(a.key, { DispatchId: 'not-a-uuid' });
      expect(malformed.status).toBe(200);
      expect(malformed.all).toEqual([]);
    });

    it('finds one invitation by Token, only in its own account', async () => {
      const row = a.rows.find((r) => r.uuid === 'u2')!;
      const answer = await eventLog(a.key, { Token: row.token });
      expect(ids(answer.body)).toEqual([row.id]);
      expect(answer.body[0]?.tokenId).toBe(row.token);
      expect((await eventLog(b.key, { Token: row.token })).body).toEqual([]);
    });

    it('finds by Target given as the raw email address (any case), as the hash, or as an invalid address', async () => {
      const anns = rowIds(
        rowsWhere((r) => r.uuid === 'u1' && r.dispatch_id === a.d1.dispatchId).concat(
          rowsWhere((r) => r.uuid === 'u5'),
        ),
      );
      for (const target of ['ann@example.com', 'ANN@Example.COM', ' ann@example.com ', sha512('ann@example.com')]) {
        const answer = await eventLog(a.key, { Target: target });
        expect(answer.status).toBe(200);
        expect(ids(answer.body)).toEqual(anns);
        expect(answer.body.every((e) => e.target === sha512('ann@example.com'))).toBe(true);
      }
      expect(ids((await eventLog(a.key, { Target: 'bad' })).body)).toEqual(rowIds(rowsWhere((r) => r.uuid === 'u3')));
      expect((await eventLog(a.key, { Target: 'nobody@example.com' })).body).toEqual([]);
    });

    it('finds by UUID', async () => {
      const answer = await eventLog(a.key, { UUID: 'u1' });
      expect(ids(answer.body)).toEqual(rowIds(rowsWhere((r) => r.uuid === 'u1')));
      expect(answer.body).toHaveLength(2);
    });

    it('finds by creation time: FromDate, ToDate, and Created (one day)', async () => {
      const future = new Date(Date.now() + 86_400_000).toISOString();
      const past = new Date(startedAt.getTime() - 86_400_000).toISOString();
      expect((await eventLog(a.key, { FromDate: future })).body).toEqual([]);
      expect((await eventLog(a.key, { ToDate: past })).body).toEqual([]);
      const window = await eventLog(a.key, {
        FromDate: startedAt.toISOString(),
        ToDate: new Date(Date.now() + 60_000).toISOString(),
      });
      expect(ids(window.body)).toEqual(rowIds(a.rows));
      expect(window.total).toBe(String(6 + window.logs.length));
      const today = new Date();
      const dmy = `${String(today.getUTCDate()).padStart(2, '0')}-${String(today.getUTCMonth() + 1).padStart(2, '0')}-${today.getUTCFullYear()}`;
      expect(ids((await eventLog(a.key, { Created: dmy })).body)).toEqual(rowIds(a.rows));
      expect(ids((await eventLog(a.key, { Created: today.toISOString().slice(0, 10) })).body)).toEqual(rowIds(a.rows));
      expect((await eventLog(a.key, { Created: '01-01-2001' })).body).toEqual([]);
    });

    it('combines filters: every one given must hold', async () => {
      const both = await eventLog(a.key, { BatchId: 'log-b1', UUID: 'u1' });
      expect(both.body).toHaveLength(2);
      const three = await eventLog(a.key, { BatchId: 'log-b1', UUID: 'u1', DispatchId: a.d1.dispatchId });
      expect(ids(three.body)).toEqual(rowIds(rowsWhere((r) => r.uuid === 'u1' && r.dispatch_id === a.d1.dispatchId)));
      expect((await eventLog(a.key, { BatchId: a.b2, DispatchId: a.d1.dispatchId })).body).toEqual([]);
      expect(ids((await eventLog(a.key, { Target: 'ann@example.com', BatchId: a.b2 })).body)).toEqual(
        rowIds(rowsWhere((r) => r.uuid === 'u5')),
      );
      expect(
        (
          await eventLog(a.key, {
            Target: 'ann@example.com',
            FromDate: new Date(Date.now() + 86_400_000).toISOString(),
          })
        ).body,
      ).toEqual([]);
    });

    it('reads filter names case-insensitively, as clients of the original module vary', async () => {
      const answer = await eventLog(a.key, { batchid: 'log-b1', UUID: 'u2' });
      expect(answer.body).toHaveLength(1);
      expect((await eventLog(a.key, { BATCHID: 'log-b1' })).body).toHaveLength(4);
    });
  });

  describe('pagination', () => {
    it('pages with Page and PageSize over invitations then log entries, the total in X-Total-Count', async () => {
      const all = await eventLog(a.key, { FromDate: startedAt.toISOString() });
      expect(all.body).toHaveLength(6);
      const total = Number(all.total);
      expect(total).toBe(all.all.length);
      // Invitations first, then the log documents.
      expect(all.all.slice(0, 6).every((e) => e.tags[0] === 'UserData')).toBe(true);
      const pages = [];
      for (let page = 1; page <= Math.ceil(total / 2); page += 1) {
        const answer = await eventLog(a.key, { FromDate: startedAt.toISOString(), Page: page, PageSize: 2 });
        expect(answer.status).toBe(200);
        expect(answer.total).toBe(String(total));
        expect(answer.all.length).toBe(Math.min(2, total - (page - 1) * 2));
        pages.push(...answer.all.map((e) => e.id));
      }
      // In a stable order: the pages together are the whole list, each entry once.
      expect(pages).toEqual(all.all.map((e) => e.id));
      const past = await eventLog(a.key, { FromDate: startedAt.toISOString(), Page: total + 1, PageSize: 2 });
      expect(past.status).toBe(200);
      expect(past.all).toEqual([]);
      expect(past.total).toBe(String(total));
    });

    it.each([[{ PageSize: 0 }], [{ PageSize: 1001 }], [{ Page: 0 }], [{ Page: 'two' }], [{ PageSize: 1.5 }]])(
      'answers 400 to %j',
      async (paging) => {
        const answer = await apiRequest<ErrorBody>(herald.url, '/api/EventLog', {
          method: 'POST',
          token: a.key,
          json: { BatchId: 'log-b1', ...paging },
        });
        expect(answer.status).toBe(400);
        expect(answer.body.error.message).toMatch(/Page/);
      },
    );
  });

  describe('refusals', () => {
    it.each([
      [{}],
      [{ Page: 1, PageSize: 10 }],
      [{ IncludePii: false }],
      [{ BatchId: '', Token: '' }],
      [{ Colour: 'red' }],
    ])('answers 200 [] to a request with no usable filter, as the original module does: %j', async (body) => {
      const answer = await apiRequest<unknown>(herald.url, '/api/EventLog', {
        method: 'POST',
        token: a.key,
        json: body,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual([]);
    });

    it.each([[[]], ['log-b1'], [42]])('answers 200 [] to the body %j, which is not a filter', async (body) => {
      const answer = await apiRequest<unknown>(herald.url, '/api/EventLog', {
        method: 'POST',
        token: a.key,
        json: body,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual([]);
    });

    it('answers 400 to malformed JSON', async () => {
      const answer = await apiRequest<ErrorBody>(herald.url, '/api/EventLog', {
        method: 'POST',
        token: a.key,
        raw: '{"BatchId": ',
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('MALFORMED_JSON');
    });

    it.each([[{ FromDate: 'yesterday' }], [{ ToDate: '31-02-2020x' }], [{ Created: 'soon' }], [{ BatchId: { x: 1 } }]])(
      'answers 400 to the bad value in %j',
      async (body) => {
        const answer = await apiRequest<ErrorBody>(herald.url, '/api/EventLog', {
          method: 'POST',
          token: a.key,
          json: body,
        });
        expect(answer.status).toBe(400);
      },
    );

    it('answers 401 without credentials', async () => {
      expect((await eventLog(undefined, { BatchId: 'log-b1' })).status).toBe(401);
    });

    it('lets a viewer read the event log', async () => {
      const viewer = await keyFor(herald.database, a.id, 'viewer');
      expect((await eventLog(viewer, { BatchId: 'log-b1' })).body).toHaveLength(4);
    });
  });

  describe("the original module's shape", () => {
    it('describes an accepted invitation with its prefills and timeline', async () => {
      const row = a.rows.find((r) => r.uuid === 'u1' && r.dispatch_id === a.d1.dispatchId)!;
      const [entry] = (await eventLog(a.key, { Token: row.token })).body;
      expect(entry).toEqual({
        id: row.id,
        tokenId: row.token,
        deliveryWorkFlowId: a.d1.policyId,
        dispatchId: a.d1.dispatchId,
        batchId: 'log-b1',
        user: null,
        location: 'Invitations',
        created: expect.stringMatching(ISO) as unknown,
        updated: expect.stringMatching(ISO) as unknown,
        state: 'token_created',
        recordIndex: 0,
        events: expect.any(Array) as unknown,
        target: sha512('ann@example.com'),
        targetHashed: sha512('ann@example.com'),
        prefills: expect.arrayContaining([
          { questionId: a.d1.q.uuid, input: 'u1', input_Hash: 'u1' },
          { questionId: a.d1.q.email, input: sha512('ann@example.com'), input_Hash: sha512('ann@example.com') },
          { questionId: a.d1.q.name, input: 'name-u1', input_Hash: 'name-u1' },
        ]) as unknown,
        logMessage: null,
        tags: ['UserData'],
      });
      expect(entry?.prefills).toHaveLength(3);
      // The timeline starts Requested, TokenCreated; later pipeline steps (scheduling, sending) may follow.
      expect(entry?.events.slice(0, 2)).toEqual([
        {
          timeStamp: expect.stringMatching(ISO) as unknown,
          channel: 2,
          action: 0,
          message: null,
          targetId: null,
          eventStatus: null,
          logMessage: null,
        },
        {
          timeStamp: expect.stringMatching(ISO) as unknown,
          channel: 2,
          action: 2,
          message: null,
          targetId: row.token,
          eventStatus: null,
          logMessage: null,
        },
      ]);
      expect(Date.parse(entry!.created)).toBeGreaterThanOrEqual(startedAt.getTime());
    });

    it('gives a rejected invitation its reason as an Error log message', async () => {
      const row = a.rows.find((r) => r.uuid === 'u3')!;
      const answer = await eventLog(a.key, { BatchId: 'log-b1', UUID: 'u3' });
      expect(answer.body.map((e) => e.id)).toEqual([row.id]);
      const [entry] = answer.body;
      expect(entry).toMatchObject({ state: 'rejected', tokenId: null, recordIndex: 2 });
      expect(entry?.events).toEqual([
        {
          timeStamp: expect.stringMatching(ISO) as unknown,
          channel: 2,
          action: 1,
          message: null,
          targetId: null,
          eventStatus: null,
          logMessage: {
            message: 'Failed due to invalid Email or mobile number',
            level: 'Error',
            exception: null,
          },
        },
      ]);
    });
  });

  describe('GET /api/dispatchSingle/{dispatchId}', () => {
    const single = (
      dispatchId: string,
      params: Record<string, string>,
      token?: string,
      headers: Record<string, string> = {},
    ) =>
      apiRequest<MultiStatus>(
        herald.url,
        `/api/dispatchSingle/${encodeURIComponent(dispatchId)}?${new URLSearchParams(params).toString()}`,
        {
          token,
          headers,
        },
      );

    it('takes one record from the query string and answers like POST /api/dispatchRequest', async () => {
      const { q, dispatchId } = a.d1;
      const batchId = `single-${randomUUID()}`;
      const answer = await single(
        dispatchId,
        { [q.uuid]: 's1', [q.email]: 'Sam@Example.com', [q.name]: 'Sam', utm_source: 'mail' },
        a.key,
        {
          BatchID: batchId,
        },
      );
      expect(answer.status).toBe(207);
      expect(answer.body).toEqual({
        batchId,
        statusByDispatch: [
          { dispatchId, dispatchStatus: 202, message: expect.stringMatching(/Accepted for processing 1/) as unknown },
        ],
      });
      const [row] = await waitFor(async () => {
        const rows = await invitationRows(herald.database, a.id, batchId);
        return rows[0]?.token && rows;
      }, 30_000);
      expect(row).toMatchObject({ uuid: 's1', target: sha512('sam@example.com'), state: 'token_created' });
      expect(row?.prefills.map((p) => p.questionId).sort()).toEqual([q.uuid, q.email, q.name].sort());
      const warnings = (await logRows(herald.database, a.id, batchId)).filter(
        (l) => l.level === 'Warning' && l.dispatch_id !== null,
      );
      expect(warnings[0]?.message).toContain('utm_source');
      expect((await eventLog(a.key, { BatchId: batchId })).body.map((e) => e.id)).toEqual([row!.id]);
    });

    it('answers 207 with a per-dispatch 400 for an invalid record or an unknown dispatch', async () => {
      const { q, dispatchId } = a.d1;
      const invalid = await single(dispatchId, { [q.uuid]: 's2', [q.email]: 'nope' }, a.key);
      expect(invalid.status).toBe(207);
      expect(invalid.body.statusByDispatch[0]?.dispatchStatus).toBe(400);
      const unknown = await single(randomUUID(), { [q.uuid]: 's3', [q.email]: 's3@example.com' }, a.key);
      expect(unknown.status).toBe(207);
      expect(unknown.body.statusByDispatch[0]).toMatchObject({
        dispatchStatus: 400,
        message: expect.stringMatching(/not found/) as unknown,
      });
      const foreign = await single(b.d3.dispatchId, { [b.d3.q.uuid]: 's4', [b.d3.q.email]: 's4@example.com' }, a.key);
      expect(foreign.body.statusByDispatch[0]?.dispatchStatus).toBe(400);
    });

    it('answers 401 without credentials, 403 to a viewer and 400 to a bad BatchID, writing nothing', async () => {
      const { q, dispatchId } = a.d1;
      const params = { [q.uuid]: 's5', [q.email]: 's5@example.com' };
      expect((await single(dispatchId, params)).status).toBe(401);
      expect((await single(dispatchId, params, await keyFor(herald.database, a.id, 'viewer'))).status).toBe(403);
      expect((await single(dispatchId, params, a.key, { BatchID: 'no spaces allowed' })).status).toBe(400);
      expect((await eventLog(a.key, { UUID: 's5' })).body).toEqual([]);
    });
  });
});

describe.each(databaseKinds())('POST /api/EventLog before the token job has run, on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    // No workers: accepted invitations stay waiting for their tokens.
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('starts the timeline of an accepted invitation with Requested, dated at acceptance', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const answer = await postDispatchRequest(herald, apiKey, {
      json: [{ dispatchID: seeded.dispatchId, preFill: [recordOf(seeded, { uuid: 'w1', email: 'wait@example.com' })] }],
    });
    expect(answer.status).toBe(207);
    const [row] = await invitationRows(herald.database, account.id);
    const log = await apiRequest<EventLogEntry[]>(herald.url, '/api/EventLog', {
      method: 'POST',
      token: apiKey,
      json: { BatchId: answer.body.batchId },
    });
    // The invitation, then the request's log entries.
    expect(log.body.filter((e) => e.tags[0] === 'UserData')).toHaveLength(1);
    expect(log.body[0]).toMatchObject({ id: row!.id, state: 'requested', tokenId: null });
    expect(log.body[0]!.events).toEqual([
      {
        timeStamp: log.body[0]!.created,
        channel: 2,
        action: 0,
        message: null,
        targetId: null,
        eventStatus: null,
        logMessage: null,
      },
    ]);
  });
});
