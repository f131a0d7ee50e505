import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSampler } from '../../../src/pipeline/ingest/samplers.js';
import { accounts } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { eventRows, invitationRows, keyFor, logRows, postDispatchRequest, recordOf } from '../../support/ingest.js';
import { apiRequest, type ErrorBody } from '../../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../../support/platform.js';

const CUSTOM_SAMPLER = 'test-keep-prefix';
const customCalls: { dispatchId: string; uuid: string; properties: Readonly<Record<string, unknown>> }[] = [];
// A plugin as a deployment would add one: keeps UUIDs starting with the account's KeepPrefix.
registerSampler(CUSTOM_SAMPLER, {
  keep(record, properties) {
    customCalls.push({ ...record, properties });
    return record.uuid.startsWith(String(properties.KeepPrefix));
  },
});

const SUPPRESSED = 5;
type Properties = Record<string, unknown>;

describe.each(databaseKinds())('sampling and /api/config/extendedproperties on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  async function setup() {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    return { account, apiKey, seeded };
  }
  const getProperties = (token: string) =>
    apiRequest<Properties>(herald.url, '/api/config/extendedproperties', { token });
  const postProperties = <T = Properties>(token: string, json: unknown) =>
    apiRequest<T>(herald.url, '/api/config/extendedproperties', { method: 'POST', token, json });

  /** Sends the UUIDs to a dispatch and returns which were kept and the dispatch's status. */
  async function sample(ctx: { account: { id: string }; apiKey: string }, seeded: SeededDispatch, uuids: string[]) {
    const answer = await postDispatchRequest(herald, ctx.apiKey, {
      json: [
        {
          dispatchID: seeded.dispatchId,
          preFill: uuids.map((uuid) => recordOf(seeded, { uuid, email: `${uuid}@example.com` })),
        },
      ],
    });
    expect(answer.status).toBe(207);
    const rows = await invitationRows(herald.database, ctx.account.id, answer.body.batchId);
    expect(rows).toHaveLength(uuids.length);
    const kept = new Set(rows.filter((r) => r.state === 'requested').map((r) => r.uuid));
    return { kept, rows, status: answer.body.statusByDispatch[0]!, batchId: answer.body.batchId };
  }
  const uuids = Array.from({ length: 40 }, (_, i) => `cust-${i}`);

  describe('the properties', () => {
    it('starts with no sampling and Herald’s own unsubscribe list', async () => {
      const { apiKey } = await setup();
      const answer = await getProperties(apiKey);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ Sampler: 'none', Unsubscriber: 'herald' });
    });

    it('answers a POST with its own body, as the original module does, and merges it into what is stored', async () => {
      const { apiKey } = await setup();
      const first = await postProperties(apiKey, { Sampler: ' percentage ' });
      expect(first.status).toBe(200);
      // The request body itself, padding included.
      expect(first.body).toEqual({ Sampler: ' percentage ' });
      const second = await postProperties(apiKey, { SamplingPercentage: 50, Unsubscriber: 'wxm' });
      expect(second.status).toBe(200);
      expect(second.body).toEqual({ SamplingPercentage: 50, Unsubscriber: 'wxm' });
      // Stored trimmed, keys not sent kept.
      expect((await getProperties(apiKey)).body).toEqual({
        Sampler: 'percentage',
        SamplingPercentage: 50,
        Unsubscriber: 'wxm',
      });
      await postProperties(apiKey, { SamplingPercentage: 10 });
      expect((await getProperties(apiKey)).body).toMatchObject({ Sampler: 'percentage', SamplingPercentage: 10 });
    });

    it("refuses the reference's own example, whose BatchingQueue Herald cannot act on, saying why, and stores nothing", async () => {
      const { apiKey } = await setup();
      for (const body of [
        { BatchingQueue: ' exampleQueue ', Sampler: 'wxm', Unsubscriber: 'wxm' },
        { batchingqueue: 'exampleQueue' },
      ]) {
        const answer = await postProperties<ErrorBody>(apiKey, body);
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe('VALIDATION_FAILED');
        expect(answer.body.error.message).toMatch(/BatchingQueue cannot be set: Herald has no batching queue/);
        expect(answer.body.error.message).toMatch(/Remove BatchingQueue/);
      }
      expect((await getProperties(apiKey)).body).toEqual({ Sampler: 'none', Unsubscriber: 'herald' });
      expect((await postProperties(apiKey, { Sampler: 'wxm', Unsubscriber: 'wxm' })).status).toBe(200);
    });

    it('answers 400 to an unknown sampler, listing the available ones, and keeps what was stored', async () => {
      const { apiKey } = await setup();
      await postProperties(apiKey, { Sampler: 'percentage' });
      const answer = await postProperties<ErrorBody>(apiKey, { Sampler: 'no-such-sampler' });
      expect(answer.status).toBe(400);
      for (const name of ['none', 'wxm', 'percentage', CUSTOM_SAMPLER])
        expect(answer.body.error.message).toContain(name);
      expect((await getProperties(apiKey)).body.Sampler).toBe('percentage');
    });

    it.each([
      [{ Unsubscriber: 'nobody' }, /Unsubscriber must be one of .*herald/],
      [{ SamplingPercentage: 150 }, /SamplingPercentage/],
      [{ SamplingPercentage: -1 }, /SamplingPercentage/],
      [{ SamplingPercentage: 'fifty' }, /SamplingPercentage/],
      [{ Sampler: 7 }, /Sampler must be one of/],
    ])('answers 400 to %j', async (update, message) => {
      const { apiKey } = await setup();
      const answer = await postProperties<ErrorBody>(apiKey, update);
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toMatch(message);
      expect((await getProperties(apiKey)).body).toEqual({ Sampler: 'none', Unsubscriber: 'herald' });
    });

    it('lets a viewer read but only an admin change, and keeps each account’s own', async () => {
      const a = await setup();
      const b = await setup();
      const viewer = await keyFor(herald.database, a.account.id, 'viewer');
      expect((await getProperties(viewer)).status).toBe(200);
      expect((await postProperties(viewer, { Sampler: 'percentage' })).status).toBe(403);
      expect(
        (await postProperties(await keyFor(herald.database, a.account.id, 'operator'), { Sampler: 'percentage' }))
          .status,
      ).toBe(403);
      expect((await postProperties(a.apiKey, { Sampler: 'percentage', SamplingPercentage: 0 })).status).toBe(200);
      expect((await getProperties(b.apiKey)).body).toEqual({ Sampler: 'none', Unsubscriber: 'herald' });
    });
  });

  describe('the percentage sampler', () => {
    it('keeps the same UUIDs of a dispatch whichever request brings them', async () => {
      const ctx = await setup();
      await postProperties(ctx.apiKey, { Sampler: 'percentage', SamplingPercentage: 50 });
      const first = await sample(ctx, ctx.seeded, uuids);
      const second = await sample(ctx, ctx.seeded, [...uuids].reverse());
      expect(first.rows.every((r) => r.state === 'requested' || r.state === 'suppressed')).toBe(true);
      expect(first.kept.size).toBeGreaterThan(0);
      expect(first.kept.size).toBeLessThan(uuids.length);
      expect([...second.kept].sort()).toEqual([...first.kept].sort());
      expect(first.status.dispatchStatus).toBe(206);
      expect(first.status.message).toMatch(new RegExp(`suppressed ${uuids.length - first.kept.size}\\b`));
      const dropped = first.rows.find((r) => r.state === 'suppressed')!;
      const [event] = await eventRows(herald.database, [dropped.id]);
      expect(event).toMatchObject({
        action: SUPPRESSED,
        message: expect.stringMatching(/not in the sample/) as unknown,
      });
    });

    it('decides per dispatch: the same UUIDs sampled for another dispatch give another sample', async () => {
      const ctx = await setup();
      const other = await seedDispatch(herald.database, ctx.account.id);
      await postProperties(ctx.apiKey, { Sampler: 'percentage', SamplingPercentage: 50 });
      const one = await sample(ctx, ctx.seeded, uuids);
      const two = await sample(ctx, other, uuids);
      expect([...two.kept].sort()).not.toEqual([...one.kept].sort());
    });

    it('keeps more UUIDs at a higher percentage, and a sample at 30% is within the one at 70%', async () => {
      const ctx = await setup();
      await postProperties(ctx.apiKey, { Sampler: 'percentage', SamplingPercentage: 30 });
      const low = await sample(ctx, ctx.seeded, uuids);
      await postProperties(ctx.apiKey, { SamplingPercentage: 70 });
      const high = await sample(ctx, ctx.seeded, uuids);
      expect(high.kept.size).toBeGreaterThan(low.kept.size);
      for (const uuid of low.kept) expect(high.kept).toContain(uuid);
    });

    it('suppresses every record at 0% (the dispatch answers 400) and keeps every one at 100%', async () => {
      const ctx = await setup();
      await postProperties(ctx.apiKey, { Sampler: 'percentage', SamplingPercentage: 0 });
      const none = await sample(ctx, ctx.seeded, uuids);
      expect(none.kept.size).toBe(0);
      expect(none.rows.every((r) => r.state === 'suppressed')).toBe(true);
      expect(none.status.dispatchStatus).toBe(400);
      await postProperties(ctx.apiKey, { SamplingPercentage: 100 });
      const all = await sample(ctx, ctx.seeded, uuids);
      expect(all.kept.size).toBe(uuids.length);
      expect(all.status.dispatchStatus).toBe(202);
    });

    it('samples nothing out with the default sampler', async () => {
      const ctx = await setup();
      await postProperties(ctx.apiKey, { SamplingPercentage: 0 });
      const all = await sample(ctx, ctx.seeded, uuids);
      expect(all.kept.size).toBe(uuids.length);
    });
  });

  it('uses a custom sampler registered with registerSampler, chosen by name, with the account’s properties', async () => {
    const ctx = await setup();
    const chosen = await postProperties(ctx.apiKey, { Sampler: CUSTOM_SAMPLER, KeepPrefix: 'keep-' });
    expect(chosen.status).toBe(200);
    customCalls.length = 0;
    const result = await sample(ctx, ctx.seeded, ['keep-1', 'drop-1', 'keep-2', 'drop-2']);
    expect([...result.kept].sort()).toEqual(['keep-1', 'keep-2']);
    expect(customCalls.map((c) => c.uuid)).toEqual(['keep-1', 'drop-1', 'keep-2', 'drop-2']);
    expect(
      customCalls.every((c) => c.dispatchId === ctx.seeded.dispatchId && c.properties.KeepPrefix === 'keep-'),
    ).toBe(true);
    // Rejected and throttled records never reach the sampler.
    customCalls.length = 0;
    await sample(ctx, ctx.seeded, ['keep-3', 'keep-3', 'keep-4']);
    expect(customCalls.map((c) => c.uuid)).toEqual(['keep-4']);
  });

  it('processes every record, with a Warning, when the stored sampler is no longer available', async () => {
    const ctx = await setup();
    await herald.database.db
      .update(accounts)
      .set({ extendedProperties: { Sampler: 'retired-plugin' } })
      .where(eq(accounts.id, ctx.account.id));
    const result = await sample(ctx, ctx.seeded, ['w1', 'w2']);
    expect(result.kept.size).toBe(2);
    const warnings = (await logRows(herald.database, ctx.account.id, result.batchId)).filter(
      (l) => l.level === 'Warning',
    );
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/retired-plugin/);
  });
});
