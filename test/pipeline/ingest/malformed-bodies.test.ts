import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { countAccountRows, postDispatchRequest, recordOf } from '../../support/ingest.js';
import { type ErrorBody } from '../../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../../support/platform.js';

const HOSTILE = [
  '__proto__',
  'constructor',
  'prototype',
  '<script>alert(1)</script>',
  '\u0000',
  'a\u0000b',
  "'; DROP TABLE invitations; --",
  '\uD800',
  '\uFEFF',
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
  '💥🎉',
  '\r\n',
  ' ',
  '',
];

const hostile = fc.constantFrom(...HOSTILE);
const huge = fc.integer({ min: 4_001, max: 120_000 }).map((n) => 'ü'.repeat(n));
const anyText = fc.oneof(fc.string(), hostile, huge);
/** Any JSON value: what a confused client might send anywhere. */
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostile, huge);

/** Values that are not a non-empty string of at most 100 characters: wrong for a questionId. */
const notAQuestionId = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(anyText, { maxLength: 3 }),
  fc.dictionary(anyText, anyJson, { maxKeys: 3 }),
  fc.constant(''),
  fc.integer({ min: 101, max: 5_000 }).map((n) => 'd'.repeat(n)),
);
/** …and a dispatchID must not be blank either. */
const notADispatchId = fc.oneof(notAQuestionId, fc.constantFrom('   ', '\t', '\r\n'));
/** Values that are wrong for an input (strings, numbers, booleans and null are fine). */
const notAnInput = fc.oneof(
  fc.array(anyJson, { maxLength: 3 }),
  fc.dictionary(anyText, anyJson, { maxKeys: 3 }),
  fc.integer({ min: 4_001, max: 50_000 }).map((n) => 'i'.repeat(n)),
);
const notAnObject = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  anyText,
  fc.array(anyJson, { maxLength: 3 }),
);
const notAList = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  anyText,
  fc.dictionary(anyText, anyJson, { maxKeys: 3 }),
);

type Body = Record<string, unknown>[];
/** One way to break a well-formed body; `at` picks the item, record and prefill it breaks. */
type Breakage = (body: Body, at: { item: number; record: number; prefill: number }) => unknown;

const itemOf = (body: Body, i: number) => body[i % body.length]!;
const recordsOf = (item: Record<string, unknown>) => item.preFill as unknown[][];
const recordAt = (body: Body, at: { item: number; record: number }) => {
  const records = recordsOf(itemOf(body, at.item));
  return records[at.record % records.length] as Record<string, unknown>[];
};

const breakages: fc.Arbitrary<Breakage>[] = [
  // The root is not a list (or is an empty one).
  anyJson.filter((v) => !Array.isArray(v)).map((v) => () => v),
  fc.constant(() => []),
  fc.dictionary(hostile, anyJson, { minKeys: 1, maxKeys: 3 }).map((v) => () => v),
  // An item is not an object.
  notAnObject.map((v) => (body, at) => body.map((item, i) => (i === at.item % body.length ? v : item))),
  // dispatchID: missing or wrong.
  fc.constant((body, at) => {
    delete itemOf(body, at.item).dispatchID;
    return body;
  }),
  notADispatchId.map((v) => (body, at) => {
    itemOf(body, at.item).dispatchID = v;
    return body;
  }),
  // preFill: missing or not a list.
  fc.constant((body, at) => {
    delete itemOf(body, at.item).preFill;
    return body;
  }),
  notAList.map((v) => (body, at) => {
    itemOf(body, at.item).preFill = v;
    return body;
  }),
  // A record is not a list, or has too many prefills.
  notAList.map((v) => (body, at) => {
    const records = recordsOf(itemOf(body, at.item));
    records[at.record % records.length] = v as never;
    return body;
  }),
  fc.constant((body, at) => {
    const records = recordsOf(itemOf(body, at.item));
    records[at.record % records.length] = Array.from({ length: 501 }, (_, i) => ({ questionId: `q${i}`, input: 'x' }));
    return body;
  }),
  // A prefill is not an object.
  notAnObject.map((v) => (body, at) => {
    const record = recordAt(body, at) as unknown[];
    record[at.prefill % record.length] = v;
    return body;
  }),
  // questionId: missing or wrong.
  fc.constant((body, at) => {
    const record = recordAt(body, at);
    delete record[at.prefill % record.length]!.questionId;
    return body;
  }),
  notAQuestionId.map((v) => (body, at) => {
    const record = recordAt(body, at);
    record[at.prefill % record.length]!.questionId = v;
    return body;
  }),
  // input: an object, a list or a huge string.
  notAnInput.map((v) => (body, at) => {
    const record = recordAt(body, at);
    record[at.prefill % record.length]!.input = v;
    return body;
  }),
];

/** Keys that are not part of the contract, some hostile; they must neither help nor hurt. */
const noiseKey = fc.constantFrom('<script>', '\u0000', 'extra', 'constructor', '💥');

describe.each(databaseKinds())('malformed dispatch requests on %s', (kind) => {
  let herald: TestHerald;
  let accountId: string;
  let apiKey: string;
  let seeded: SeededDispatch;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
    const seededAccount = await seedAccount(herald.database);
    accountId = seededAccount.account.id;
    apiKey = seededAccount.apiKey;
    seeded = await seedDispatch(herald.database, accountId);
  });
  afterAll(() => herald?.stop());

  /** A well-formed body for the seeded dispatch: every record would be accepted if nothing broke it. */
  const wellFormed = fc
    .array(
      fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.option(noiseKey, { nil: undefined })), {
        minLength: 1,
        maxLength: 3,
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((items): Body =>
      items.map((records, i) => ({
        dispatchID: seeded.dispatchId,
        preFill: records.map(([uuid, noise]) => {
          const record: Record<string, unknown>[] = recordOf(seeded, {
            uuid: `${i}-${uuid}`,
            email: `r${i}@example.com`,
            name: uuid,
          }).map((p) => ({ ...p }));
          if (noise !== undefined) record.push({ questionId: seeded.q.note, input: 'n', [noise]: 'noise' });
          return record;
        }),
      })),
    );

  it('answers every one of ~200 malformed bodies with a 4xx naming the problem, and writes nothing', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        wellFormed,
        fc.oneof(...breakages),
        fc.record({ item: fc.nat(5), record: fc.nat(5), prefill: fc.nat(10) }),
        async (body, breakage, at) => {
          const broken = breakage(body, at);
          const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, { json: broken });
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          expect(answer.status, JSON.stringify(answer.body).slice(0, 500)).toBeGreaterThanOrEqual(400);
          expect(answer.status).toBeLessThan(500);
          expect(answer.body.error.message.length).toBeGreaterThan(10);
          const rows = await countAccountRows(herald.database, accountId);
          expect(rows).toMatchObject({ batches: 0, invitations: 0, events: 0, logs: 0, sealed: 0 });
        },
      ),
      { numRuns: 200, endOnFailure: true },
    );
    // Most breakages reach the body reader (400), not only the JSON parser.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
  });

  it('answers random JSON values that are not dispatch requests with a 4xx, and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, async (body) => {
        // A random value that happens to be a list of objects holding both keys could be valid: skip it.
        fc.pre(
          !(
            Array.isArray(body) &&
            body.length > 0 &&
            body.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))
          ),
        );
        const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, { json: body });
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
      }),
      { numRuns: 100 },
    );
    expect(await countAccountRows(herald.database, accountId)).toMatchObject({ batches: 0, invitations: 0 });
  });

  it('answers raw text that is not JSON with 400 MALFORMED_JSON', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1 }).filter((s) => {
            try {
              JSON.parse(s);
              return false;
            } catch {
              return true;
            }
          }),
          fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1) + ','),
        ),
        async (raw) => {
          fc.pre(raw.trim() !== '');
          const answer = await postDispatchRequest<ErrorBody>(herald, apiKey, { raw });
          expect(answer.status).toBe(400);
          expect(answer.body.error.code).toBe('MALFORMED_JSON');
        },
      ),
      { numRuns: 50 },
    );
    expect(await countAccountRows(herald.database, accountId)).toMatchObject({ batches: 0, invitations: 0 });
  });
});

describe.each(databaseKinds())('hostile values in well-formed dispatch requests on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  /** Never a 500: either the request is taken (207) or refused whole (4xx, nothing written). */
  async function neverBroken(build: (s: SeededDispatch) => unknown) {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const answer = await postDispatchRequest(herald, apiKey, { json: build(seeded) });
    const rows = await countAccountRows(herald.database, account.id);
    if (answer.status === 207) expect(rows.batches).toBe(1);
    else expect(rows).toMatchObject({ batches: 0, invitations: 0, logs: 0 });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
  }
  const valid = (s: SeededDispatch, extra: { questionId: string; input: unknown }[]) => [
    { dispatchID: s.dispatchId, preFill: [[...recordOf(s, { uuid: 'h1', email: 'h1@example.com' }), ...extra]] },
  ];

  it('writes nothing at all when storing a request fails part-way (one transaction)', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const good = await seedDispatch(herald.database, account.id);
    const poisoned = await seedDispatch(herald.database, account.id);
    const answer = await postDispatchRequest(herald, apiKey, {
      json: [
        { dispatchID: good.dispatchId, preFill: [recordOf(good, { uuid: 'g1', email: 'g1@example.com' })] },
        // PostgreSQL cannot store U+0000 in text or jsonb: if this is taken, writing it fails.
        {
          dispatchID: poisoned.dispatchId,
          preFill: [recordOf(poisoned, { uuid: 'p1', email: 'p1@example.com', name: 'nul\u0000here' })],
        },
      ],
    });
    const rows = await countAccountRows(herald.database, account.id);
    if (answer.status === 207) expect(rows).toMatchObject({ batches: 1, invitations: 2 });
    else expect(rows).toEqual({ batches: 0, invitations: 0, events: 0, logs: 0, sealed: 0 });
    const [jobs] = await herald.database.sql.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM pgboss.job WHERE name = 'tokens.create' AND data->>'accountId' = $1`,
      [account.id],
    );
    expect(Number(jobs?.n)).toBe(answer.status === 207 ? 2 : 0);
  });

  it.each(HOSTILE.map((v) => [v]))('survives %j as an input value', async (value) => {
    await neverBroken((s) => valid(s, [{ questionId: s.q.name, input: value }]));
  });

  it.each(HOSTILE.filter((v) => v.trim() !== '').map((v) => [v]))(
    'survives %j as an unknown question id',
    async (value) => {
      await neverBroken((s) => valid(s, [{ questionId: value, input: 'x' }]));
    },
  );

  it.each(HOSTILE.filter((v) => v.trim() !== '').map((v) => [v]))('survives %j as a dispatch id', async (value) => {
    await neverBroken(() => [{ dispatchID: value, preFill: [[]] }]);
  });

  it.each(HOSTILE.map((v) => [v]))('survives %j as a UUID value', async (value) => {
    await neverBroken((s) => [
      { dispatchID: s.dispatchId, preFill: [recordOf(s, { uuid: value, email: 'u@example.com' })] },
    ]);
  });
});
