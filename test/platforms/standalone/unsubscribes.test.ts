import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUnsubscribed } from '../../../src/platforms/standalone/unsubscribes.js';
import { unsubscribes } from '../../../src/storage/schema.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { expectError, seedTeam } from '../../support/management.js';

/** The expected stored form, computed independently of Herald's own hashing code. */
const hashed = (value: string, algorithm = 'sha512') =>
  `${algorithm}:${createHash(algorithm).update(value.toLowerCase()).digest('hex')}`;

describe.each(databaseKinds())('unsubscribes on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('stores an email address only as its hash, and is idempotent', async () => {
    const { account, admin } = await seedTeam(herald);
    const first = await admin.post('/api/unsubscribes', { identifier: ' Ann.Smith@Example.COM ', kind: 'email' });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({ identifierHash: hashed('ann.smith@example.com'), source: 'api' });
    expect(first.text.toLowerCase()).not.toContain('ann.smith');

    const again = await admin.post('/api/unsubscribes', { identifier: 'ann.smith@example.com', kind: 'email' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const rows = await herald.database.db.select().from(unsubscribes).where(eq(unsubscribes.accountId, account.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ identifierHash: hashed('ann.smith@example.com'), source: 'api' });
    expect(JSON.stringify(rows).toLowerCase()).not.toContain('ann.smith');

    const listed = await admin.get('/api/unsubscribes');
    expect(listed.body).toMatchObject({ total: 1, items: [first.body] });
  });

  it("reads mobile numbers in the account's region and hashes them in E.164, with the account's algorithm", async () => {
    const { admin } = await seedTeam(herald);
    const local = { identifier: '07911 123456', kind: 'mobile' };
    expectError(await admin.post('/api/unsubscribes', local), 400, 'VALIDATION_FAILED', 'identifier', 'country code');

    await admin.patch('/api/account/settings', { defaultPhoneRegion: 'GB', hashAlgorithm: 'sha256' });
    const created = await admin.post('/api/unsubscribes', local);
    expect(created.status, created.text).toBe(201);
    expect(created.body.identifierHash).toBe(hashed('+447911123456', 'sha256'));
    expect((await admin.post('/api/unsubscribes', { identifier: '+44 7911 123456', kind: 'mobile' })).status).toBe(200);

    const uuid = await admin.post('/api/unsubscribes', { identifier: ' CUST-42 ', kind: 'uuid' });
    expect(uuid.body.identifierHash).toBe(hashed('cust-42', 'sha256'));
  });

  it('rejects bad identifiers with a 400 naming the field', async () => {
    const { admin } = await seedTeam(herald);
    expectError(
      await admin.post('/api/unsubscribes', { identifier: 'not-an-email', kind: 'email' }),
      400,
      'VALIDATION_FAILED',
      'identifier',
    );
    expectError(
      await admin.post('/api/unsubscribes', { identifier: 'abc', kind: 'mobile' }),
      400,
      'VALIDATION_FAILED',
      'identifier',
    );
    expectError(
      await admin.post('/api/unsubscribes', { identifier: '   ', kind: 'uuid' }),
      400,
      'VALIDATION_FAILED',
      'identifier',
    );
    expectError(
      await admin.post('/api/unsubscribes', { identifier: 'a@b.example', kind: 'fax' }),
      400,
      'VALIDATION_FAILED',
      'kind',
    );
    expectError(await admin.post('/api/unsubscribes', { kind: 'email' }), 400, 'VALIDATION_FAILED', 'identifier');
    expectError(await admin.get('/api/unsubscribes?limit=0'), 400, 'VALIDATION_FAILED', 'limit');
    expectError(await admin.get('/api/unsubscribes?offset=-1'), 400, 'VALIDATION_FAILED', 'offset');
    expect((await admin.get('/api/unsubscribes')).body.total).toBe(0);
  });

  it('pages through the list and deletes by hash', async () => {
    const { admin } = await seedTeam(herald);
    const emails = ['one@example.test', 'two@example.test', 'three@example.test'];
    for (const identifier of emails) {
      expect((await admin.post('/api/unsubscribes', { identifier, kind: 'email' })).status).toBe(201);
    }
    const firstPage = await admin.get('/api/unsubscribes?limit=2');
    expect(firstPage.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(firstPage.body.items).toHaveLength(2);
    const secondPage = await admin.get('/api/unsubscribes?limit=2&offset=2');
    expect(secondPage.body.items).toHaveLength(1);
    type Page = { items: { identifierHash: string }[] };
    const seen = [...(firstPage.body as Page).items, ...(secondPage.body as Page).items].map((u) => u.identifierHash);
    expect(seen.sort()).toEqual(emails.map((e) => hashed(e)).sort());

    const target = encodeURIComponent(hashed('two@example.test'));
    expect((await admin.delete(`/api/unsubscribes/${target}`)).status).toBe(204);
    expectError(await admin.delete(`/api/unsubscribes/${target}`), 404, 'NOT_FOUND');
    expect((await admin.get('/api/unsubscribes')).body.total).toBe(2);
  });

  it('keeps accounts apart and viewers to reading', async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    const { identifierHash } = (
      await a.admin.post('/api/unsubscribes', { identifier: 'x@example.test', kind: 'email' })
    ).body as {
      identifierHash: string;
    };
    expectError(await b.admin.delete(`/api/unsubscribes/${encodeURIComponent(identifierHash)}`), 404, 'NOT_FOUND');
    expect((await b.admin.get('/api/unsubscribes')).body).toMatchObject({ total: 0, items: [] });

    expect((await a.viewer.get('/api/unsubscribes')).body.total).toBe(1);
    expectError(
      await a.viewer.post('/api/unsubscribes', { identifier: 'y@example.test', kind: 'email' }),
      403,
      'FORBIDDEN',
    );
    expectError(await a.viewer.delete(`/api/unsubscribes/${encodeURIComponent(identifierHash)}`), 403, 'FORBIDDEN');
    expect((await a.admin.get('/api/unsubscribes')).body.total).toBe(1);
  });

  it('tells ingest which hashes are unsubscribed, for its own account only', async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    await a.admin.post('/api/unsubscribes', { identifier: 'gone@example.test', kind: 'email' });
    await a.admin.post('/api/unsubscribes', { identifier: 'CUST-7', kind: 'uuid' });
    const db = herald.database.db;
    const asked = [hashed('gone@example.test'), hashed('cust-7'), hashed('still-here@example.test')];
    expect(await isUnsubscribed(db, a.account.id, asked)).toEqual(
      new Set([hashed('gone@example.test'), hashed('cust-7')]),
    );
    expect(await isUnsubscribed(db, b.account.id, asked)).toEqual(new Set());
    expect(await isUnsubscribed(db, a.account.id, [])).toEqual(new Set());
    // Many hashes go as one array parameter, not one parameter each.
    const many = Array.from({ length: 70_000 }, (_, i) => hashed(`person${i}@example.test`));
    expect(await isUnsubscribed(db, a.account.id, [...many, hashed('cust-7')])).toEqual(new Set([hashed('cust-7')]));
  });
});
