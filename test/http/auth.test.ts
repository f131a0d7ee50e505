import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/databases.js';
import { seedAccount } from '../support/accounts.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';

describe.each(databaseKinds())('authentication and account scoping on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('answers 401 in the error shape without credentials', async () => {
    const response = await herald.request('/api/account');
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { code: string; message: string }; requestId: string };
    expect(body.error.code).toBe('UNAUTHORIZED');
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
  });

  it("answers 404 for another account's user", async () => {
    const a = await seedAccount(herald.database);
    const b = await seedAccount(herald.database);
    const created = await herald.request('/api/users', {
      method: 'POST',
      token: a.apiKey,
      json: { username: `alice-${Date.now()}`, password: 'correct horse battery', role: 'viewer' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect((await herald.request(`/api/users/${id}`, { token: a.apiKey })).status).toBe(200);
    expect((await herald.request(`/api/users/${id}`, { token: b.apiKey })).status).toBe(404);
  });
});
