import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { expectError, seedTeam } from '../../support/management.js';

describe.each(databaseKinds())('account settings on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it("starts with sha512, no phone region and the original module's hashing, and keeps what PATCH sets", async () => {
    const { admin } = await seedTeam(herald);
    expect((await admin.get('/api/account/settings')).body).toEqual({
      hashAlgorithm: 'sha512',
      defaultPhoneRegion: null,
      normalizedHashing: false,
    });

    const patched = await admin.patch('/api/account/settings', {
      hashAlgorithm: 'sha256',
      defaultPhoneRegion: 'GB',
      normalizedHashing: true,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ hashAlgorithm: 'sha256', defaultPhoneRegion: 'GB', normalizedHashing: true });

    // A field left out is kept; null clears the region.
    const cleared = await admin.patch('/api/account/settings', { defaultPhoneRegion: null });
    expect(cleared.body).toEqual({ hashAlgorithm: 'sha256', defaultPhoneRegion: null, normalizedHashing: true });
    expect((await admin.get('/api/account/settings')).body).toEqual(cleared.body);
  });

  it('rejects bad values with a 400 naming the field', async () => {
    const { admin } = await seedTeam(herald);
    expectError(
      await admin.patch('/api/account/settings', { hashAlgorithm: 'md5' }),
      400,
      'VALIDATION_FAILED',
      'hashAlgorithm',
    );
    expectError(
      await admin.patch('/api/account/settings', { defaultPhoneRegion: 'gb' }),
      400,
      'VALIDATION_FAILED',
      'defaultPhoneRegion',
    );
    expectError(
      await admin.patch('/api/account/settings', { defaultPhoneRegion: 'ZZ' }),
      400,
      'VALIDATION_FAILED',
      'defaultPhoneRegion',
    );
    // The shared error handler does not name an unexpected property yet (see the report).
    expectError(
      await admin.patch('/api/account/settings', { colour: 'red' }),
      400,
      'VALIDATION_FAILED',
      'unknown field "colour"',
    );
    expectError(
      await admin.patch('/api/account/settings', { normalizedHashing: 'yes' }),
      400,
      'VALIDATION_FAILED',
      'normalizedHashing',
    );
    expect((await admin.get('/api/account/settings')).body).toEqual({
      hashAlgorithm: 'sha512',
      defaultPhoneRegion: null,
      normalizedHashing: false,
    });
  });

  it('lets a viewer read but not write, and keeps accounts apart', async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    expect((await a.viewer.get('/api/account/settings')).status).toBe(200);
    expectError(await a.viewer.patch('/api/account/settings', { hashAlgorithm: 'sha384' }), 403, 'FORBIDDEN', 'admin');
    expectError(await a.operator.patch('/api/account/settings', { hashAlgorithm: 'sha384' }), 403, 'FORBIDDEN');

    await a.admin.patch('/api/account/settings', { hashAlgorithm: 'sha384' });
    expect((await a.admin.get('/api/account/settings')).body.hashAlgorithm).toBe('sha384');
    expect((await b.admin.get('/api/account/settings')).body.hashAlgorithm).toBe('sha512');
  });
});
