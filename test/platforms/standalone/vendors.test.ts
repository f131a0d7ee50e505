import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVendorSecrets } from '../../../src/vendor-config/vendor-secrets.js';
import { vendors } from '../../../src/storage/schema.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { expectError, seedDispatch, seedDispatchParts, seedTeam, SMTP_SETTINGS } from '../../support/management.js';
import type { Answer } from '../../support/api-client.js';

const PASSWORD = 'pa55-word-that-must-never-leak';
const USERNAME = 'smtp-user-that-must-never-leak';

/** The answer must not carry either secret, in any form. */
function expectNoSecrets(answer: Answer): void {
  expect(answer.text).not.toContain(PASSWORD);
  expect(answer.text).not.toContain(USERNAME);
}

describe.each(databaseKinds())('vendors on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  const storedRow = async (id: string) => {
    const [row] = await herald.database.db.select().from(vendors).where(eq(vendors.id, id));
    if (!row) throw new Error(`vendor ${id} is not stored`);
    return row;
  };

  it('creates, reads, lists, changes and deletes a vendor without ever returning its secrets', async () => {
    const { admin, viewer } = await seedTeam(herald);
    const created = await admin.post('/api/vendors', {
      name: 'Mail relay',
      kind: 'smtp',
      settings: { ...SMTP_SETTINGS, fromName: 'Surveys' },
      secrets: { username: USERNAME, password: PASSWORD },
    });
    expect(created.status, created.text).toBe(201);
    expectNoSecrets(created);
    expect(created.body).toMatchObject({
      name: 'Mail relay',
      kind: 'smtp',
      channel: 'email',
      // The kind's defaults are filled in.
      settings: { ...SMTP_SETTINGS, fromName: 'Surveys', security: 'starttls', rejectUnauthorized: true },
      secrets: { set: true, fields: ['password', 'username'] },
    });
    const { id } = created.body as { id: string };

    for (const answer of [
      await admin.get(`/api/vendors/${id}`),
      await admin.get('/api/vendors'),
      await viewer.get(`/api/vendors/${id}`),
    ]) {
      expect(answer.status).toBe(200);
      expectNoSecrets(answer);
      expect(answer.text).toContain('"fields":["password","username"]');
    }

    // Without `secrets`, PATCH keeps them (while the host, port and security stay: see secrets-follow-host).
    const renamed = await admin.patch(`/api/vendors/${id}`, {
      name: 'Relay',
      settings: { ...SMTP_SETTINGS, rateLimitPerSecond: 5 },
    });
    expectNoSecrets(renamed);
    expect(renamed.body).toMatchObject({
      name: 'Relay',
      settings: { rateLimitPerSecond: 5 },
      secrets: { set: true },
    });
    expect(renamed.body.settings).not.toHaveProperty('fromName');
    expect(openVendorSecrets(herald.vault, await storedRow(id))).toEqual({ username: USERNAME, password: PASSWORD });

    // With `secrets`, PATCH replaces them; `{}` removes them.
    const rekeyed = await admin.patch(`/api/vendors/${id}`, { secrets: { password: `${PASSWORD}-2` } });
    expectNoSecrets(rekeyed);
    expect(rekeyed.body.secrets).toEqual({ set: true, fields: ['password'] });
    expect(openVendorSecrets(herald.vault, await storedRow(id))).toEqual({ password: `${PASSWORD}-2` });
    expect((await admin.patch(`/api/vendors/${id}`, { secrets: {} })).body.secrets).toEqual({ set: false, fields: [] });
    expect(openVendorSecrets(herald.vault, await storedRow(id))).toEqual({});

    const deleted = await admin.delete(`/api/vendors/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectError(await admin.get(`/api/vendors/${id}`), 404, 'NOT_FOUND');
  });

  it('stores the secrets sealed, bound to their vendor', async () => {
    const { admin } = await seedTeam(herald);
    const created = await admin.post('/api/vendors', {
      name: 'Sealed',
      kind: 'smtp',
      settings: SMTP_SETTINGS,
      secrets: { username: USERNAME, password: PASSWORD },
    });
    const row = await storedRow((created.body as { id: string }).id);
    expect(row.secretsKeyId).toBe('test1');
    const stored = Buffer.from(row.secrets ?? []);
    expect(stored.length).toBeGreaterThan(28); // iv and tag, then the ciphertext
    for (const secret of [PASSWORD, USERNAME]) {
      expect(stored.includes(secret)).toBe(false);
      expect(JSON.stringify(row.settings)).not.toContain(secret);
    }
    expect(openVendorSecrets(herald.vault, row)).toEqual({ username: USERNAME, password: PASSWORD });
    // Sealed for this vendor: moved to another row, the secrets do not open.
    expect(() => openVendorSecrets(herald.vault, { ...row, id: crypto.randomUUID() })).toThrow();
  });

  it('rejects an unknown kind, listing the known ones, and names each bad setting', async () => {
    const { admin } = await seedTeam(herald);
    expectError(
      await admin.post('/api/vendors', { name: 'V', kind: 'pigeon', settings: {} }),
      400,
      'VALIDATION_FAILED',
      'pigeon',
      'smtp',
    );
    expectError(await admin.post('/api/vendors', { name: 'V', settings: {} }), 400, 'VALIDATION_FAILED', 'kind');

    const bad = await admin.post('/api/vendors', {
      name: 'V',
      kind: 'smtp',
      settings: { port: 70000, security: 'ssl', fromAddress: 'not-an-address', rateLimitPerSecond: 0, colour: 'red' },
    });
    expectError(bad, 400, 'VALIDATION_FAILED');
    const fields = [
      'settings.host',
      'settings.port',
      'settings.security',
      'settings.fromAddress',
      'settings.rateLimitPerSecond',
      'settings.colour',
    ];
    const { error } = bad.body as { error: { message: string; details: { field: string }[] } };
    for (const field of fields) expect(error.message).toContain(field);
    expect(error.details.map((d) => d.field).sort()).toEqual([...fields].sort());
    expect(error.message).toContain('tls, starttls, none');

    expectError(
      await admin.post('/api/vendors', {
        name: 'V',
        kind: 'smtp',
        settings: SMTP_SETTINGS,
        secrets: { token: 'x', password: 7 },
      }),
      400,
      'VALIDATION_FAILED',
      'secrets.token',
      'secrets.password',
    );
    expectError(
      await admin.post('/api/vendors', { name: 'V', kind: 'smtp', settings: { ...SMTP_SETTINGS, port: '25' } }),
      400,
      'VALIDATION_FAILED',
      'settings.port',
    );
    const { id } = (await admin.post('/api/vendors', { name: 'V', kind: 'smtp', settings: SMTP_SETTINGS })).body as {
      id: string;
    };
    expectError(
      await admin.patch(`/api/vendors/${id}`, { settings: { host: 'h' } }),
      400,
      'VALIDATION_FAILED',
      'settings.port',
    );
    expect((await admin.get('/api/vendors')).body).toHaveLength(1);
    expect((await admin.get(`/api/vendors/${id}`)).body.settings).toMatchObject(SMTP_SETTINGS);
  });

  it("answers 404 for another account's vendor and keeps viewers to reading", async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    const { id } = (await a.admin.post('/api/vendors', { name: 'Mine', kind: 'smtp', settings: SMTP_SETTINGS }))
      .body as { id: string };
    expectError(await b.admin.get(`/api/vendors/${id}`), 404, 'NOT_FOUND');
    expectError(await b.admin.patch(`/api/vendors/${id}`, { name: 'Theirs' }), 404, 'NOT_FOUND');
    expectError(await b.admin.delete(`/api/vendors/${id}`), 404, 'NOT_FOUND');
    expectError(await a.admin.get('/api/vendors/%20'), 404, 'NOT_FOUND');
    expect((await b.admin.get('/api/vendors')).body).toEqual([]);

    expectError(
      await a.viewer.post('/api/vendors', { name: 'No', kind: 'smtp', settings: SMTP_SETTINGS }),
      403,
      'FORBIDDEN',
    );
    expectError(await a.viewer.patch(`/api/vendors/${id}`, { name: 'No' }), 403, 'FORBIDDEN');
    expectError(await a.operator.delete(`/api/vendors/${id}`), 403, 'FORBIDDEN');
    expect((await a.admin.get(`/api/vendors/${id}`)).body.name).toBe('Mine');
  });

  it('refuses to delete a vendor a dispatch delivers through (409 naming it)', async () => {
    const { admin } = await seedTeam(herald);
    const parts = await seedDispatchParts(admin);
    const dispatch = await seedDispatch(admin, parts);
    expectError(await admin.delete(`/api/vendors/${parts.vendorId}`), 409, 'CONFLICT', dispatch.name);
    expect((await admin.patch(`/api/dispatches/${dispatch.id}`, { channelVendors: {} })).status).toBe(200);
    expect((await admin.delete(`/api/vendors/${parts.vendorId}`)).status).toBe(204);
  });
});
