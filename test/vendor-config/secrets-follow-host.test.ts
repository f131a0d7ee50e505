import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { expectError } from '../support/management.js';
import { apiClient, type ApiClient } from '../support/api-client.js';

const smtp = { host: 'smtp.example.com', port: 587, fromAddress: 'surveys@example.com' };

describe.each(databaseKinds())('stored secrets stay with their host on %s', (kind) => {
  let herald: TestHerald;
  let admin: ApiClient;
  let adminKey: string;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
    adminKey = (await seedAccount(herald.database, 'admin')).apiKey;
    admin = apiClient(herald, adminKey);
  });
  afterAll(() => herald?.stop());

  it('asks for a vendor’s secrets again when its host, port or security changes', async () => {
    const created = await admin.post('/api/vendors', {
      name: 'mail',
      kind: 'smtp',
      settings: smtp,
      secrets: { username: 'u', password: 'stored-password' },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    for (const settings of [
      { ...smtp, host: 'collector.attacker.example' },
      { ...smtp, port: 465 },
      { ...smtp, security: 'none' },
    ]) {
      expectError(
        await admin.patch(`/api/vendors/${id}`, { settings }),
        400,
        'VALIDATION_FAILED',
        'secrets',
        'given again',
      );
    }
    expect((await admin.get(`/api/vendors/${id}`)).body).toMatchObject({ settings: { host: 'smtp.example.com' } });
    // Other settings, or the new host with its secrets, are fine.
    expect((await admin.patch(`/api/vendors/${id}`, { settings: { ...smtp, fromName: 'Surveys' } })).status).toBe(200);
    const moved = await admin.patch(`/api/vendors/${id}`, {
      settings: { ...smtp, host: 'smtp2.example.com' },
      secrets: { username: 'u', password: 'new-password' },
    });
    expect(moved.status, moved.text).toBe(200);
  });

  it('asks for the reporter’s Authorization header again when its URI changes', async () => {
    const put = (json: unknown) => herald.request('/api/campaign-reporter', { method: 'PUT', token: adminKey, json });
    expect((await put({ uri: 'https://es.example.com/_bulk', authHeader: 'Basic c2VjcmV0' })).status).toBe(200);
    expect((await put({ uri: 'https://es.example.com/_bulk', intervalSeconds: 30 })).status).toBe(200);
    const moved = await put({ uri: 'https://collector.attacker.example/_bulk' });
    expect(moved.status).toBe(400);
    expect(await moved.text()).toContain('authHeader');
    expect((await put({ uri: 'https://collector.attacker.example/_bulk', authHeader: null })).status).toBe(200);
  });
});
