import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { dispatches, unsubscribes } from '../../../src/storage/schema.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import {
  eventRows,
  invitationRows,
  logRows,
  postDispatchRequest,
  recordOf,
  type InvitationRow,
} from '../../support/ingest.js';
import { apiRequest } from '../../support/api-client.js';
import { seedDispatch, type SeededDispatch } from '../../support/platform.js';

/** The expected stored form of a PII value, computed here independently of Herald. */
const sha512 = (value: string) => `sha512:${createHash('sha512').update(value.toLowerCase()).digest('hex')}`;

const Action = { Rejected: 1, Suppressed: 5, Throttled: 8 } as const;
const DISPATCH_API_CHANNEL = 2;

describe.each(databaseKinds())('per-record rules on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  async function setup(options: Parameters<typeof seedDispatch>[2] = {}) {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id, options);
    return { account, apiKey, seeded };
  }

  /** Sends one dispatch's records and returns its status and its invitations with their timelines. */
  async function send(ctx: { account: { id: string }; apiKey: string; seeded: SeededDispatch }, records: unknown[][]) {
    const answer = await postDispatchRequest(herald, ctx.apiKey, {
      json: [{ dispatchID: ctx.seeded.dispatchId, preFill: records }],
    });
    expect(answer.status).toBe(207);
    const rows = await invitationRows(herald.database, ctx.account.id, answer.body.batchId);
    const events = await eventRows(
      herald.database,
      rows.map((r) => r.id),
    );
    const timeline = (row: InvitationRow) => events.filter((e) => e.invitation_id === row.id);
    return { status: answer.body.statusByDispatch[0], batchId: answer.body.batchId, rows, timeline };
  }
  const prefill = (row: InvitationRow | undefined, questionId: string) =>
    row?.prefills.find((p) => p.questionId === questionId);

  it('drops prefills for unknown or closed questions, keeps the record, and lists them in a Warning', async () => {
    const ctx = await setup();
    const { q } = ctx.seeded;
    const { status, rows, batchId } = await send(ctx, [
      recordOf(ctx.seeded, { uuid: 'w1', email: 'w1@example.com', name: 'Ann', hidden: 'secret internal' }, [
        { questionId: 'no-such-question', input: 'x' },
      ]),
    ]);
    expect(status?.dispatchStatus).toBe(202);
    expect(rows[0]?.state).toBe('requested');
    expect(rows[0]?.prefills.map((p) => p.questionId).sort()).toEqual([q.uuid, q.email, q.name].sort());
    // The dispatch's warnings (the account-wide one says no sampler was chosen).
    const warnings = (await logRows(herald.database, ctx.account.id, batchId)).filter(
      (l) => l.level === 'Warning' && l.dispatch_id !== null,
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.dispatch_id).toBe(ctx.seeded.dispatchId);
    expect(warnings[0]?.message).toContain('no-such-question');
    expect(warnings[0]?.message).toContain(q.hidden);
    expect(warnings[0]?.message).not.toContain(q.name);
  });

  it('writes no Warning when every prefill is usable', async () => {
    const ctx = await setup();
    const { batchId } = await send(ctx, [recordOf(ctx.seeded, { uuid: 'w2', email: 'w2@example.com', name: 'Bo' })]);
    // Only the account-wide one: this account never chose a sampler.
    expect(
      (await logRows(herald.database, ctx.account.id, batchId))
        .filter((l) => l.level === 'Warning')
        .map((l) => l.message),
    ).toEqual([expect.stringMatching(/^Sampling type is not configured/)]);
  });

  it.each([
    ['plain'],
    ['a@b'],
    ['two words@example.com'],
    ['a..b@example.com'],
    ['@example.com'],
    ['ann@'],
    ['ann@example.c'],
  ])('rejects the invalid email address %j with the reason', async (email) => {
    const ctx = await setup();
    const { status, rows, timeline } = await send(ctx, [recordOf(ctx.seeded, { uuid: 'e1', email })]);
    expect(status?.dispatchStatus).toBe(400);
    expect(rows[0]?.state).toBe('rejected');
    const [event] = timeline(rows[0]!);
    expect(event).toMatchObject({ action: Action.Rejected, channel: DISPATCH_API_CHANNEL, level: 'Error' });
    // The original module's words, exactly: integrations match on them.
    expect(event?.message).toBe('Failed due to invalid Email or mobile number');
  });

  it('rejects a record without the primary channel value, or with a blank one', async () => {
    const ctx = await setup();
    const { rows, timeline } = await send(ctx, [
      recordOf(ctx.seeded, { uuid: 'm1', name: 'No email' }),
      recordOf(ctx.seeded, { uuid: 'm2', email: '   ' }),
    ]);
    expect(rows.map((r) => r.state)).toEqual(['rejected', 'rejected']);
    expect(timeline(rows[0]!)[0]?.message).toBe('Failed due to no Common Identifier or Channel');
    expect(timeline(rows[1]!)[0]?.message).toBe('Failed due to invalid Email or mobile number');
  });

  it('accepts a valid email address with spaces around it, hashing it as received (the original module does)', async () => {
    const ctx = await setup();
    const { rows } = await send(ctx, [recordOf(ctx.seeded, { uuid: 'e2', email: '  Ann.Lee+tag@Example.COM ' })]);
    expect(rows[0]?.state).toBe('requested');
    expect(rows[0]?.target).toBe(sha512('  ann.lee+tag@example.com '));
  });

  it('rejects a record without a UUID, or with a blank one', async () => {
    const ctx = await setup();
    const { status, rows, timeline } = await send(ctx, [
      recordOf(ctx.seeded, { email: 'nouuid@example.com' }),
      recordOf(ctx.seeded, { uuid: '  ', email: 'blank@example.com' }),
    ]);
    expect(status?.dispatchStatus).toBe(400);
    expect(rows.map((r) => [r.state, r.uuid])).toEqual([
      ['rejected', null],
      ['rejected', expect.anything()],
    ]);
    for (const row of rows) {
      expect(timeline(row)[0]).toMatchObject({
        action: Action.Rejected,
        message: 'Failed due to no Common Identifier or Channel',
      });
    }
  });

  it('throttles every record sharing a UUID (case-insensitive) within a dispatch of one request, the first too', async () => {
    const ctx = await setup();
    const { status, rows, timeline } = await send(ctx, [
      recordOf(ctx.seeded, { uuid: 't1', email: 'first@example.com' }),
      recordOf(ctx.seeded, { uuid: 't2', email: 'other@example.com' }),
      recordOf(ctx.seeded, { uuid: 'T1', email: 'second@example.com' }),
      recordOf(ctx.seeded, { uuid: 't1', email: 'third@example.com' }),
    ]);
    expect(status?.dispatchStatus).toBe(206);
    expect(status?.message).toMatch(/throttled 3/);
    expect(rows.map((r) => [r.uuid, r.state])).toEqual([
      ['t1', 'throttled'],
      ['t2', 'requested'],
      ['T1', 'throttled'],
      ['t1', 'throttled'],
    ]);
    for (const row of [rows[0]!, rows[2]!, rows[3]!]) {
      // Throttled is 8; the message is the original module's.
      expect(timeline(row)).toEqual([
        expect.objectContaining({ action: 8, channel: 2, message: 'Duplicate record found' }),
      ]);
    }
    // An accepted record's timeline is started (Requested, TokenCreated) by the token job: tokens.test.ts.
    expect(timeline(rows[1]!)).toEqual([]);
  });

  it('does not throttle a rejected first occurrence: the next valid record with that UUID is accepted', async () => {
    const ctx = await setup();
    const { rows } = await send(ctx, [
      recordOf(ctx.seeded, { uuid: 't9', email: 'broken' }),
      recordOf(ctx.seeded, { uuid: 't9', email: 'fine@example.com' }),
    ]);
    expect(rows.map((r) => r.state)).toEqual(['rejected', 'requested']);
  });

  it('does not throttle the same UUID in two dispatches of one request, nor in a later request', async () => {
    const ctx = await setup();
    const other = await seedDispatch(herald.database, ctx.account.id);
    const answer = await postDispatchRequest(herald, ctx.apiKey, {
      json: [
        { dispatchID: ctx.seeded.dispatchId, preFill: [recordOf(ctx.seeded, { uuid: 's1', email: 's1@example.com' })] },
        { dispatchID: other.dispatchId, preFill: [recordOf(other, { uuid: 's1', email: 's1@example.com' })] },
      ],
    });
    expect(answer.body.statusByDispatch.map((s) => s.dispatchStatus)).toEqual([202, 202]);
    const later = await send(ctx, [recordOf(ctx.seeded, { uuid: 's1', email: 's1@example.com' })]);
    expect(later.rows[0]?.state).toBe('requested');
  });

  describe('unsubscribes', () => {
    it('suppresses an email address unsubscribed through POST /api/unsubscribes, whatever its case', async () => {
      const ctx = await setup();
      const added = await apiRequest(herald.url, '/api/unsubscribes', {
        method: 'POST',
        token: ctx.apiKey,
        json: { identifier: 'Gone@Example.com', kind: 'email' },
      });
      expect(added.status).toBe(201);
      const { status, rows, timeline } = await send(ctx, [
        recordOf(ctx.seeded, { uuid: 'u1', email: 'gone@EXAMPLE.com' }),
        recordOf(ctx.seeded, { uuid: 'u2', email: 'stays@example.com' }),
      ]);
      expect(status?.dispatchStatus).toBe(206);
      expect(status?.message).toMatch(/suppressed 1/);
      expect(rows.map((r) => r.state)).toEqual(['suppressed', 'requested']);
      expect(timeline(rows[0]!)[0]).toMatchObject({
        action: Action.Suppressed,
        message: expect.stringMatching(/unsubscribed/) as unknown,
      });
    });

    it('suppresses a UUID unsubscribed through the API, and one in the unsubscribes table', async () => {
      const ctx = await setup();
      const added = await apiRequest(herald.url, '/api/unsubscribes', {
        method: 'POST',
        token: ctx.apiKey,
        json: { identifier: 'cust-17', kind: 'uuid' },
      });
      expect(added.status).toBe(201);
      await herald.database.db
        .insert(unsubscribes)
        .values({ accountId: ctx.account.id, identifierHash: sha512('cust-18'), source: 'test' });
      const { rows } = await send(ctx, [
        recordOf(ctx.seeded, { uuid: 'cust-17', email: 'a17@example.com' }),
        recordOf(ctx.seeded, { uuid: 'cust-18', email: 'a18@example.com' }),
        recordOf(ctx.seeded, { uuid: 'cust-19', email: 'a19@example.com' }),
      ]);
      expect(rows.map((r) => r.state)).toEqual(['suppressed', 'suppressed', 'requested']);
    });

    it('suppresses a mobile number in the unsubscribes table when it is given in another format', async () => {
      const ctx = await setup({ channels: ['sms'] });
      await herald.database.db
        .insert(unsubscribes)
        .values({ accountId: ctx.account.id, identifierHash: sha512('+447911123456'), source: 'test' });
      const { rows } = await send(ctx, [recordOf(ctx.seeded, { uuid: 'p1', mobile: '+44 (0)7911 123-456' })]);
      expect(rows.map((r) => r.state)).toEqual(['suppressed']);
    });

    it('does not check unsubscribes once the account chooses the "none" unsubscriber', async () => {
      const ctx = await setup();
      await apiRequest(herald.url, '/api/unsubscribes', {
        method: 'POST',
        token: ctx.apiKey,
        json: { identifier: 'optout@example.com', kind: 'email' },
      });
      const before = await send(ctx, [recordOf(ctx.seeded, { uuid: 'o1', email: 'optout@example.com' })]);
      expect(before.rows[0]?.state).toBe('suppressed');
      const chosen = await apiRequest(herald.url, '/api/config/extendedproperties', {
        method: 'POST',
        token: ctx.apiKey,
        json: { Unsubscriber: 'none' },
      });
      expect(chosen.status).toBe(200);
      const after = await send(ctx, [recordOf(ctx.seeded, { uuid: 'o1', email: 'optout@example.com' })]);
      expect(after.rows[0]?.state).toBe('requested');
    });
  });

  describe('mobile numbers', () => {
    it('validates mobile numbers but hashes them as received, like the original module (SMS as the primary channel)', async () => {
      const ctx = await setup({ channels: ['sms'] });
      const { status, rows } = await send(ctx, [
        recordOf(ctx.seeded, { uuid: 'p1', mobile: '+44 7911 123456' }),
        recordOf(ctx.seeded, { uuid: 'p2', mobile: '+1 (650) 253-0000' }),
      ]);
      expect(status?.dispatchStatus).toBe(202);
      expect(rows.map((r) => [r.channel, r.target])).toEqual([
        ['sms', sha512('+44 7911 123456')],
        ['sms', sha512('+1 (650) 253-0000')],
      ]);
      expect(prefill(rows[0], ctx.seeded.q.mobile)).toEqual({
        questionId: ctx.seeded.q.mobile,
        input: sha512('+44 7911 123456'),
        hashed: true,
      });
    });

    it('rejects invalid and missing mobile numbers on an SMS dispatch, with the reason', async () => {
      const ctx = await setup({ channels: ['sms'] });
      const { rows, timeline } = await send(ctx, [
        recordOf(ctx.seeded, { uuid: 'p1', mobile: '12345' }),
        recordOf(ctx.seeded, { uuid: 'p2', mobile: '+44 12' }),
        recordOf(ctx.seeded, { uuid: 'p3', mobile: 'call me' }),
        recordOf(ctx.seeded, { uuid: 'p4', email: 'only@example.com' }),
      ]);
      expect(rows.map((r) => r.state)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      for (const row of rows.slice(0, 3))
        expect(timeline(row)[0]?.message).toBe('Failed due to invalid Email or mobile number');
      expect(timeline(rows[3]!)[0]?.message).toBe('Failed due to no Common Identifier or Channel');
    });

    it("reads national numbers in the account's default region once it has one", async () => {
      const ctx = await setup({ channels: ['sms'] });
      const national = [recordOf(ctx.seeded, { uuid: 'r1', mobile: '07911 123456' })];
      const before = await send(ctx, national);
      expect(before.rows[0]?.state).toBe('rejected');
      expect(before.timeline(before.rows[0]!)[0]?.message).toBe('Failed due to invalid Email or mobile number');
      const patched = await apiRequest(herald.url, '/api/account/settings', {
        method: 'PATCH',
        token: ctx.apiKey,
        json: { defaultPhoneRegion: 'GB' },
      });
      expect(patched.status).toBe(200);
      const after = await send(ctx, national);
      expect(after.rows[0]?.state).toBe('requested');
      expect(after.rows[0]?.target).toBe(sha512('07911 123456'));
    });

    it('keeps a valid secondary mobile (hashed as received) and drops an invalid one without rejecting the record', async () => {
      const ctx = await setup({ channels: ['email', 'sms'] });
      const { q } = ctx.seeded;
      const { status, rows } = await send(ctx, [
        recordOf(ctx.seeded, { uuid: 'sm1', email: 'sm1@example.com', mobile: '+91 98765 43210' }),
        recordOf(ctx.seeded, { uuid: 'sm2', email: 'sm2@example.com', mobile: 'not a number' }),
      ]);
      expect(status?.dispatchStatus).toBe(202);
      expect(rows.map((r) => [r.state, r.channel])).toEqual([
        ['requested', 'email'],
        ['requested', 'email'],
      ]);
      expect(prefill(rows[0], q.mobile)?.input).toBe(sha512('+91 98765 43210'));
      expect(prefill(rows[1], q.mobile)).toBeUndefined();
    });
  });

  describe('static prefills and language', () => {
    it("adds the dispatch's static prefills; a record's own value wins", async () => {
      const ctx = await setup();
      const { seeded } = ctx;
      // Question ids exist only once seeded: the static prefill is set on the dispatch's row afterwards.
      await herald.database.db
        .update(dispatches)
        .set({ staticPrefills: [{ questionId: seeded.q.note, input: 'from the dispatch' }] })
        .where(eq(dispatches.id, seeded.dispatchId));
      const { rows } = await send(ctx, [
        recordOf(seeded, { uuid: 'st1', email: 'st1@example.com' }),
        recordOf(seeded, { uuid: 'st2', email: 'st2@example.com', note: 'my own' }),
      ]);
      expect(prefill(rows[0], seeded.q.note)).toEqual({
        questionId: seeded.q.note,
        input: 'from the dispatch',
        hashed: false,
      });
      expect(prefill(rows[1], seeded.q.note)?.input).toBe('my own');
    });

    it('keeps the cc_language prefill and sets the language from it (else the dispatch default)', async () => {
      const ctx = await setup();
      const { q } = ctx.seeded;
      const { rows } = await send(ctx, [
        recordOf(ctx.seeded, { uuid: 'l1', email: 'l1@example.com', language: 'FR' }),
        recordOf(ctx.seeded, { uuid: 'l2', email: 'l2@example.com', language: 'klingon' }),
        recordOf(ctx.seeded, { uuid: 'l3', email: 'l3@example.com' }),
      ]);
      expect(rows.map((r) => r.language)).toEqual(['fr', 'en', 'en']);
      expect(prefill(rows[0], q.language)).toMatchObject({ input: 'FR', hashed: false });
      expect(prefill(rows[1], q.language)?.input).toBe('klingon');
    });
  });
});
