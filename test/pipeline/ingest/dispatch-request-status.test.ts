import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryPolicies, dispatches, questions } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import {
  countAccountRows,
  invitationRows,
  keyFor,
  logRows,
  postDispatchRequest,
  recordOf,
  type MultiStatus,
} from '../../support/ingest.js';
import { type ErrorBody } from '../../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../../support/platform.js';
import { dispatchRequestBodyLimit } from '../../../src/pipeline/ingest/request-body.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(databaseKinds())('POST /api/dispatchRequest statuses on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    // No workers: accepted invitations stay "requested", so every state below is the ingest's own.
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  async function setup() {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    return { account, apiKey, seeded };
  }
  const good = (seeded: SeededDispatch, uuid: string) => recordOf(seeded, { uuid, email: `${uuid}@example.com` });
  const bad = (seeded: SeededDispatch, uuid: string) => recordOf(seeded, { uuid, email: 'not-an-email' });

  describe('the multi-status matrix', () => {
    it('answers 207 with 202 for a dispatch whose records are all accepted', async () => {
      const { account, apiKey, seeded } = await setup();
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'a1'), good(seeded, 'a2')] }],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch).toEqual([
        {
          dispatchId: seeded.dispatchId,
          dispatchStatus: 202,
          message: expect.stringMatching(/Accepted for processing 2/) as unknown,
        },
      ]);
      const rows = await invitationRows(herald.database, account.id, answer.body.batchId);
      expect(rows.map((r) => [r.record_index, r.state])).toEqual([
        [0, 'requested'],
        [1, 'requested'],
      ]);
    });

    it('answers 206 for a partly accepted dispatch, saying how many were accepted and rejected', async () => {
      const { account, apiKey, seeded } = await setup();
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          {
            dispatchID: seeded.dispatchId,
            preFill: [good(seeded, 'p1'), bad(seeded, 'p2'), good(seeded, 'p3'), good(seeded, 'p1')],
          },
        ],
      });
      expect(answer.status).toBe(207);
      const [status] = answer.body.statusByDispatch;
      expect(status?.dispatchStatus).toBe(206);
      expect(status?.message).toMatch(/Accepted for processing 1\b/);
      expect(status?.message).toMatch(/Rejected 3\b/);
      const rows = await invitationRows(herald.database, account.id, answer.body.batchId);
      expect(rows.map((r) => r.state)).toEqual(['throttled', 'rejected', 'requested', 'throttled']);
    });

    it('answers 400 for a dispatch none of whose records is accepted, and still stores why', async () => {
      const { account, apiKey, seeded } = await setup();
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          { dispatchID: seeded.dispatchId, preFill: [bad(seeded, 'n1'), recordOf(seeded, { email: 'x@example.com' })] },
        ],
      });
      expect(answer.status).toBe(207);
      const [status] = answer.body.statusByDispatch;
      expect(status?.dispatchStatus).toBe(400);
      expect(status?.message).toMatch(/Accepted for processing 0/);
      expect(status?.message).toMatch(/Rejected 2\b/);
      const rows = await invitationRows(herald.database, account.id, answer.body.batchId);
      expect(rows.map((r) => r.state)).toEqual(['rejected', 'rejected']);
    });

    it('answers each dispatch of one request on its own (202, 206 and 400 together)', async () => {
      const { account, apiKey, seeded } = await setup();
      const second = await seedDispatch(herald.database, account.id);
      const third = await seedDispatch(herald.database, account.id);
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          { dispatchID: seeded.dispatchId, preFill: [good(seeded, 'm1')] },
          { dispatchID: second.dispatchId, preFill: [good(second, 'm1'), bad(second, 'm2')] },
          { dispatchID: third.dispatchId, preFill: [bad(third, 'm1')] },
        ],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch.map((s) => [s.dispatchId, s.dispatchStatus])).toEqual([
        [seeded.dispatchId, 202],
        [second.dispatchId, 206],
        [third.dispatchId, 400],
      ]);
    });

    it('answers 401 without credentials or with a wrong key, and writes nothing', async () => {
      const { account, seeded } = await setup();
      const body = { json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'u1')] }] };
      const none = await postDispatchRequest<ErrorBody>(herald, undefined, body);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('UNAUTHORIZED');
      const wrong = await postDispatchRequest<ErrorBody>(herald, 'hk_not-a-real-key', body);
      expect(wrong.status).toBe(401);
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, invitations: 0 });
    });

    it('answers 403 to a viewer, who may not submit records', async () => {
      const { account, seeded } = await setup();
      const viewer = await keyFor(herald.database, account.id, 'viewer');
      const answer = await postDispatchRequest<ErrorBody>(herald, viewer, {
        json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'v1')] }],
      });
      expect(answer.status).toBe(403);
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, invitations: 0 });
      const operator = await keyFor(herald.database, account.id, 'operator');
      const allowed = await postDispatchRequest(herald, operator, {
        json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'v1')] }],
      });
      expect(allowed.status).toBe(207);
    });
  });

  describe('the default size limits (18,000 records, 15 dispatches)', () => {
    it('answers 413 above 18,000 records, naming the limit and the count, before reading anything else', async () => {
      const { account, apiKey } = await setup();
      // Unknown dispatch and empty records: anything but the count would give a 207.
      const records = Array.from({ length: 18_001 }, () => []);
      const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, {
        json: [{ dispatchID: randomUUID(), preFill: records }],
      });
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(answer.body.error.message).toContain('18000');
      expect(answer.body.error.message).toContain('18001');
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, invitations: 0 });
      // Only the original's log line for it (§6.1.1, "Max Record size Exceeded").
      expect(await logRows(herald.database, account.id)).toEqual([
        {
          batch_id: null,
          dispatch_id: null,
          level: 'Error',
          tag: 'DispatchAPI',
          message:
            'The API cannot process more than 18,000 records in a single request. Please split the batch into multiple requests and try again. Total records received is - 18001',
          exception: null,
        },
      ]);
    });

    it('takes exactly 18,000 records', async () => {
      const { apiKey } = await setup();
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [{ dispatchID: randomUUID(), preFill: Array.from({ length: 18_000 }, () => []) }],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch[0]?.dispatchStatus).toBe(400);
    });

    it('accepts the largest legal request: 18,000 records of 10 prefills of 100 characters each', async () => {
      const { account, apiKey, seeded } = await setup();
      // Four more questions open to prefill, so every one of the 10 prefills is kept.
      const extra = await Promise.all(
        [7, 8, 9, 10].map(async (position) => {
          const id = randomUUID();
          await herald.database.db.insert(questions).values({
            id,
            accountId: account.id,
            questionnaireId: seeded.questionnaireId,
            text: `Extra ${position}`,
            position,
          });
          return id;
        }),
      );
      // Three-byte characters: the most UTF-8 a 100-character value can take.
      const wide = (i: number) => `${i}`.padEnd(100, '€');
      const records = Array.from({ length: 18_000 }, (_, i) => {
        const uuid = `c${i}`;
        const host = `${uuid}@${'a'.repeat(40)}.`;
        return recordOf(
          seeded,
          {
            uuid,
            email: `${host}${'b'.repeat(100 - host.length - 4)}.com`,
            mobile: `+4479${String(i).padStart(8, '0')}`,
            name: wide(i),
            language: 'en',
            note: wide(i),
          },
          extra.map((questionId) => ({ questionId, input: wide(i) })),
        );
      });
      expect(records[0]).toHaveLength(10);
      const json = [{ dispatchID: seeded.dispatchId, preFill: records }];
      // Bigger than the old 8 MiB default body limit by far.
      expect(Buffer.byteLength(JSON.stringify(json))).toBeGreaterThan(40 * 1024 * 1024);
      const answer = await postDispatchRequest(herald, apiKey, { json });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch).toEqual([
        {
          dispatchId: seeded.dispatchId,
          dispatchStatus: 202,
          message: expect.stringMatching(/Accepted for processing 18000\b/) as unknown,
        },
      ]);
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({ invitations: 18_000 });
    }, 240_000);

    it('answers 413 to a body over the safety cap, saying how to split it, and writes nothing', async () => {
      const { account, apiKey } = await setup();
      const limit = dispatchRequestBodyLimit(18_000, 15);
      // Whitespace: a body whose only fault is its size.
      const raw = `[${' '.repeat(limit)}]`;
      const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, { raw });
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(answer.body.error.message).toContain(String(limit));
      expect(answer.body.error.message).toMatch(/18000 records .*split the records over several requests/);
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, invitations: 0 });
    });

    it('answers 413 above 15 distinct dispatches, naming the limit and the count', async () => {
      const { account, apiKey } = await setup();
      const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, {
        json: Array.from({ length: 16 }, () => ({ dispatchID: randomUUID(), preFill: [[]] })),
      });
      expect(answer.status).toBe(413);
      expect(answer.body.error.message).toMatch(/\b15\b/);
      expect(answer.body.error.message).toMatch(/\b16\b/);
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, invitations: 0 });
      expect((await logRows(herald.database, account.id)).map((l) => [l.level, l.message])).toEqual([
        [
          'Error',
          'The API cannot process more than 15 dispatches in a single request. Please ensure dispatch requests are spread out over time. Total dispatches received is - 16',
        ],
      ]);
    });

    it('counts distinct dispatches: the same dispatch 16 times is one', async () => {
      const { apiKey, seeded } = await setup();
      const answer = await postDispatchRequest(herald, apiKey, {
        json: Array.from({ length: 16 }, (_, i) => ({
          dispatchID: seeded.dispatchId,
          preFill: [good(seeded, `d${i}`)],
        })),
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch).toHaveLength(1);
      expect(answer.body.statusByDispatch[0]).toMatchObject({
        dispatchStatus: 202,
        message: expect.stringMatching(/16/) as unknown,
      });
    });
  });

  describe('refusals of a whole dispatch (400 in the multi-status, with a clear message)', () => {
    async function refusal(
      change: (seeded: SeededDispatch) => Promise<unknown>,
      wanted: RegExp,
      catalogue: RegExp = /^An error occured while using the Delivery Policy configured under Dispatch \. /,
    ) {
      const { account, apiKey, seeded } = await setup();
      const healthy = await seedDispatch(herald.database, account.id);
      await change(seeded);
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          { dispatchID: seeded.dispatchId, preFill: [good(seeded, 'r1')] },
          { dispatchID: healthy.dispatchId, preFill: [good(healthy, 'r1')] },
        ],
      });
      expect(answer.status).toBe(207);
      const [refused, accepted] = answer.body.statusByDispatch;
      expect(refused?.dispatchId).toBe(seeded.dispatchId);
      expect(refused?.dispatchStatus).toBe(400);
      expect(refused?.message).toMatch(wanted);
      // The refusal touches only its own dispatch.
      expect(accepted?.dispatchStatus).toBe(202);
      const rows = await invitationRows(herald.database, account.id, answer.body.batchId);
      expect(rows.map((r) => r.dispatch_id)).toEqual([healthy.dispatchId]);
      const logs = await logRows(herald.database, account.id, answer.body.batchId);
      // The original's catalogue line, with Herald's own words on what to fix as its exception.
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'Error',
          dispatch_id: seeded.dispatchId,
          message: expect.stringMatching(catalogue) as unknown,
          exception: expect.stringMatching(wanted) as unknown,
        }),
      );
      return refused;
    }
    const db = () => herald.database.db;

    it('refuses an unknown dispatch', async () => {
      const { account, apiKey } = await setup();
      const unknown = randomUUID();
      const notUuid = 'not-a-dispatch';
      const other = await seedAccount(herald.database);
      const foreign = await seedDispatch(herald.database, other.account.id);
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          { dispatchID: unknown, preFill: [[]] },
          { dispatchID: notUuid, preFill: [[]] },
          { dispatchID: foreign.dispatchId, preFill: [good(foreign, 'f1')] },
        ],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch).toEqual([
        { dispatchId: unknown, dispatchStatus: 400, message: expect.stringMatching(/not found/i) as unknown },
        { dispatchId: notUuid, dispatchStatus: 400, message: expect.stringMatching(/not found/i) as unknown },
        // Another account's dispatch is as unknown as one that does not exist.
        {
          dispatchId: foreign.dispatchId,
          dispatchStatus: 400,
          message: expect.stringMatching(/not found/i) as unknown,
        },
      ]);
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({ invitations: 0 });
      expect(await countAccountRows(herald.database, other.account.id)).toMatchObject({ invitations: 0, batches: 0 });
    });

    it('refuses a paused dispatch', () =>
      refusal(
        (s) => db().update(dispatches).set({ paused: true }).where(eq(dispatches.id, s.dispatchId)),
        /dispatch is paused/i,
        /^Dispatch configured to be used to send invites is paused\. Invites will not go out/,
      ));

    it('refuses a dispatch whose delivery policy is paused', () =>
      refusal(
        (s) => db().update(deliveryPolicies).set({ paused: true }).where(eq(deliveryPolicies.id, s.policyId)),
        /policy is paused/i,
        /^Delivery Policy configured under Dispatch to be used to send invites is paused\./,
      ));

    it('refuses a dispatch with no vendor for its channel', () =>
      refusal(
        (s) => db().update(dispatches).set({ channelVendors: {} }).where(eq(dispatches.id, s.dispatchId)),
        /no vendor.*email/i,
      ));

    it('refuses a dispatch whose policy has no UUID question', () =>
      refusal(
        (s) => db().update(deliveryPolicies).set({ uuidQuestionId: null }).where(eq(deliveryPolicies.id, s.policyId)),
        /UUID question/i,
        /^Unique User Indentifier \(UUID\) configured in Delivery Policy used in Dispatch is not availabel/,
      ));

    it('refuses a dispatch whose UUID question is not in its questionnaire', () =>
      refusal(
        (s) =>
          db()
            .update(deliveryPolicies)
            .set({ uuidQuestionId: randomUUID() })
            .where(eq(deliveryPolicies.id, s.policyId)),
        /UUID question/i,
        /^Unique User Indentifier \(UUID\) configured in Delivery Policy used in Dispatch is not availabel/,
      ));

    it('refuses a dispatch with no supported channel (no question tagged for the policy channel)', () =>
      refusal(
        (s) => db().update(questions).set({ tags: [] }).where(eq(questions.id, s.q.email)),
        /no supported channel/i,
      ));

    it('refuses an SMS dispatch whose questionnaire has no Mobile question', () =>
      refusal(async (s) => {
        await db()
          .update(deliveryPolicies)
          .set({ channels: ['sms'] })
          .where(eq(deliveryPolicies.id, s.policyId));
        await db()
          .update(dispatches)
          .set({ channelVendors: { sms: s.vendorId } })
          .where(eq(dispatches.id, s.dispatchId));
        await db()
          .update(questions)
          .set({ tags: ['Phone'] })
          .where(eq(questions.id, s.q.mobile));
      }, /no supported channel/i));
  });

  describe('the request body', () => {
    it('merges the same dispatch given twice: one status, records in order, duplicates across the entries throttled', async () => {
      const { account, apiKey, seeded } = await setup();
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          { dispatchID: seeded.dispatchId, preFill: [good(seeded, 'x1'), good(seeded, 'x2')] },
          { dispatchID: seeded.dispatchId, preFill: [good(seeded, 'x3'), good(seeded, 'x1')] },
        ],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch).toHaveLength(1);
      expect(answer.body.statusByDispatch[0]?.dispatchStatus).toBe(206);
      const rows = await invitationRows(herald.database, account.id, answer.body.batchId);
      expect(rows.map((r) => [r.record_index, r.uuid, r.state])).toEqual([
        [0, 'x1', 'throttled'],
        [1, 'x2', 'requested'],
        [2, 'x3', 'requested'],
        [3, 'x1', 'throttled'],
      ]);
    });

    it('merges the same dispatch given in upper and lower case (one dispatch, one status)', async () => {
      const { account, apiKey, seeded } = await setup();
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          { dispatchID: seeded.dispatchId, preFill: [good(seeded, 'c1')] },
          { dispatchID: seeded.dispatchId.toUpperCase(), preFill: [good(seeded, 'c1')] },
        ],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch).toHaveLength(1);
      const rows = await invitationRows(herald.database, account.id, answer.body.batchId);
      expect(rows.map((r) => r.state)).toEqual(['throttled', 'throttled']);
    });

    it('accepts the documented casing variants of every key', async () => {
      const { account, apiKey, seeded } = await setup();
      const second = await seedDispatch(herald.database, account.id);
      const third = await seedDispatch(herald.database, account.id);
      const variant = (s: SeededDispatch, uuid: string, q: string, i: string) => [
        { [q]: s.q.uuid, [i]: uuid },
        { [q]: s.q.email, [i]: `${uuid}@example.com` },
      ];
      const answer = await postDispatchRequest(herald, apiKey, {
        json: [
          { dispatchId: seeded.dispatchId, prefill: [variant(seeded, 'k1', 'QuestionId', 'Input')] },
          { DispatchID: second.dispatchId, PreFill: [variant(second, 'k2', 'questionId', 'Input')] },
          { dispatchID: third.dispatchId, preFill: [variant(third, 'k3', 'QuestionId', 'input')] },
        ],
      });
      expect(answer.status).toBe(207);
      expect(answer.body.statusByDispatch.map((s) => s.dispatchStatus)).toEqual([202, 202, 202]);
      const rows = await invitationRows(herald.database, account.id, answer.body.batchId);
      expect(rows.map((r) => r.uuid).sort()).toEqual(['k1', 'k2', 'k3']);
    });

    it('uses the BatchID header when given, and a new UUID otherwise', async () => {
      const { account, apiKey, seeded } = await setup();
      const given = `batch.${randomUUID()}:x_y-z`;
      const named = await postDispatchRequest(
        herald,
        apiKey,
        { json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'b1')] }] },
        { BatchID: given },
      );
      expect(named.status).toBe(207);
      expect(named.body.batchId).toBe(given);
      expect((await invitationRows(herald.database, account.id, given)).map((r) => r.uuid)).toEqual(['b1']);

      const first = await postDispatchRequest(herald, apiKey, {
        json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'b2')] }],
      });
      const second = await postDispatchRequest(herald, apiKey, {
        json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'b3')] }],
      });
      expect(first.body.batchId).toMatch(UUID_V4);
      expect(second.body.batchId).toMatch(UUID_V4);
      expect(first.body.batchId).not.toBe(second.body.batchId);
      expect((await invitationRows(herald.database, account.id, first.body.batchId)).map((r) => r.uuid)).toEqual([
        'b2',
      ]);
    });

    it.each([['has spaces'], ['semi;colon'], ['x'.repeat(101)], ['<script>']])(
      'answers 400 to the BatchID %j and writes nothing',
      async (batchId) => {
        const { account, apiKey, seeded } = await setup();
        const answer = await postDispatchRequest<ErrorBody>(
          herald,
          apiKey,
          { json: [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'i1')] }] },
          { BatchID: batchId },
        );
        expect(answer.status).toBe(400);
        expect(answer.body.error.message).toMatch(/BatchID/);
        expect(await countAccountRows(herald.database, account.id)).toMatchObject({
          batches: 0,
          invitations: 0,
          logs: 0,
        });
      },
    );

    it.each([
      ['an object', { dispatchID: 'x', preFill: [] }, /body/],
      ['an empty list', [], /at least one dispatch/],
      ['a list of numbers', [1], /\[1\]/],
      ['no dispatchID', [{ preFill: [[]] }], /dispatchID/],
      ['a numeric dispatchID', [{ dispatchID: 7, preFill: [[]] }], /dispatchID/],
      ['a blank dispatchID', [{ dispatchID: '  ', preFill: [[]] }], /dispatchID/],
      ['no preFill', [{ dispatchID: 'd' }], /preFill/],
      ['a preFill object', [{ dispatchID: 'd', preFill: {} }], /preFill/],
      ['a record that is an object', [{ dispatchID: 'd', preFill: [{ questionId: 'q', input: 'v' }] }], /preFill\[0\]/],
      ['a prefill that is a string', [{ dispatchID: 'd', preFill: [['q=v']] }], /preFill\[0\]\[0\]/],
      ['a prefill without questionId', [{ dispatchID: 'd', preFill: [[{ input: 'v' }]] }], /questionId/],
      ['an object input', [{ dispatchID: 'd', preFill: [[{ questionId: 'q', input: { a: 1 } }]] }], /input/],
      [
        'an input of 4001 characters',
        [{ dispatchID: 'd', preFill: [[{ questionId: 'q', input: 'x'.repeat(4001) }]] }],
        /input/,
      ],
    ])('answers 400 naming the problem for %s, and writes nothing', async (_, body, named) => {
      const { account, apiKey, seeded } = await setup();
      // A valid dispatch entry first: the bad one must stop the whole request, not only itself.
      const withGood =
        Array.isArray(body) && body.length > 0
          ? [{ dispatchID: seeded.dispatchId, preFill: [good(seeded, 'g1')] }, ...body]
          : body;
      const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, { json: withGood });
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
      expect(answer.body.error.message).toMatch(named);
      expect(await countAccountRows(herald.database, account.id)).toMatchObject({
        batches: 0,
        invitations: 0,
        logs: 0,
        sealed: 0,
      });
    });

    it.each([['[{"dispatchID": '], ['{'], ['not json'], ['[1,]'], ['']])(
      'answers 400 to the malformed JSON text %j',
      async (raw) => {
        const { account, apiKey } = await setup();
        const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, { raw });
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe('MALFORMED_JSON');
        expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, invitations: 0 });
      },
    );
  });
});

describe.each(databaseKinds())('configured size limits on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      roles: { api: true, workers: false },
      env: { HERALD_MAX_RECORDS: '3', HERALD_MAX_DISPATCHES: '2' },
    });
  });
  afterAll(() => herald?.stop());

  it('answers 413 above HERALD_MAX_RECORDS, counting records across dispatches, before checking the shape', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, {
      json: [
        { dispatchID: seeded.dispatchId, preFill: [recordOf(seeded, { uuid: 'a', email: 'a@example.com' }), []] },
        // Malformed (a record that is a number): the size decides first.
        { dispatchID: seeded.dispatchId, preFill: [[], 42] },
      ],
    });
    expect(answer.status).toBe(413);
    expect(answer.body.error.message).toMatch(/at most 3 records/);
    expect(answer.body.error.message).toMatch(/\b4\b/);
    expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, invitations: 0, logs: 1 });
  });

  it('answers 413 above HERALD_MAX_DISPATCHES, naming the limit and the count', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, {
      json: [randomUUID(), randomUUID(), randomUUID()].map((dispatchID) => ({ dispatchID, preFill: [] })),
    });
    expect(answer.status).toBe(413);
    expect(answer.body.error.message).toMatch(/at most 2 dispatches/);
    expect(answer.body.error.message).toMatch(/\b3\b/);
    expect(await countAccountRows(herald.database, account.id)).toMatchObject({ batches: 0, logs: 1 });
  });

  it('takes a request exactly at both limits', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const one = await seedDispatch(herald.database, account.id);
    const two = await seedDispatch(herald.database, account.id);
    const answer = await postDispatchRequest<MultiStatus>(herald, apiKey, {
      json: [
        {
          dispatchID: one.dispatchId,
          preFill: [
            recordOf(one, { uuid: 'a', email: 'a@example.com' }),
            recordOf(one, { uuid: 'b', email: 'b@example.com' }),
          ],
        },
        { dispatchID: two.dispatchId, preFill: [recordOf(two, { uuid: 'a', email: 'a@example.com' })] },
      ],
    });
    expect(answer.status).toBe(207);
    expect(answer.body.statusByDispatch.map((s) => s.dispatchStatus)).toEqual([202, 202]);
  });
});
