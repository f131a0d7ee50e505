import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { expectError } from '../../support/management.js';
import { apiClient } from '../../support/api-client.js';

describe.each(databaseKinds())('hash algorithm and unsubscribes on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('refuses to change the algorithm while unsubscribes hashed with the old one exist', async () => {
    const admin = apiClient(herald, (await seedAccount(herald.database, 'admin')).apiKey);
    expect((await admin.patch('/api/account/settings', { hashAlgorithm: 'sha256' })).status).toBe(200);
    const added = await admin.post('/api/unsubscribes', { identifier: 'ann@example.com', kind: 'email' });
    expect(added.status, added.text).toBeLessThan(300);
    expectError(
      await admin.patch('/api/account/settings', { hashAlgorithm: 'sha512' }),
      409,
      'CONFLICT',
      'sha256',
      '1 unsubscribes',
    );
    expect((await admin.get('/api/account/settings')).body).toMatchObject({ hashAlgorithm: 'sha256' });
    // The same algorithm again is no change.
    expect((await admin.patch('/api/account/settings', { hashAlgorithm: 'sha256' })).status).toBe(200);
  });
});
