import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/accounts/secrets.js';
import { accessTokens, users } from '../../src/storage/schema.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';

const TTL_SECONDS = 120;
const PASSWORD = 'correct horse battery staple';

interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
}

interface ApiKeyAnswer {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  key?: string;
}

let usernames = 0;
const newUsername = () => `user-${process.pid}-${++usernames}-${randomBytes(3).toString('hex')}`;

describe.each(databaseKinds())('sign-in, access tokens and API keys on %s', (kind) => {
  let herald: TestHerald;
  let account: { id: string };
  let adminKey: string;

  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      env: { HERALD_ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) },
      roles: { api: true, workers: false },
    });
    ({ account, apiKey: adminKey } = await seedAccount(herald.database, 'admin'));
  });
  afterAll(async () => {
    await herald?.stop();
  });

  async function createUser(role: 'admin' | 'operator' | 'viewer'): Promise<{ id: string; username: string }> {
    const username = newUsername();
    const response = await herald.request('/api/users', {
      method: 'POST',
      token: adminKey,
      json: { username, password: PASSWORD, role },
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; username: string };
  }

  const login = (fields: Record<string, string>) =>
    herald.request('/api/LoginToken', { method: 'POST', body: new URLSearchParams(fields) });

  it('exchanges a username and password (form-encoded) for a bearer token that works', async () => {
    const user = await createUser('viewer');
    const response = await login({ grant_type: 'password', username: user.username, password: PASSWORD });
    expect(response.status).toBe(200);
    const token = (await response.json()) as TokenAnswer;
    expect(token).toEqual({
      access_token: expect.any(String) as string,
      token_type: 'bearer',
      expires_in: TTL_SECONDS,
    });

    const me = await herald.request('/api/account', { token: token.access_token });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { id: string }).id).toBe(account.id);

    // Stored only as a hash, expiring after the configured lifetime.
    const [row] = await herald.database.db
      .select()
      .from(accessTokens)
      .where(eq(accessTokens.tokenHash, hashSecret(token.access_token)));
    expect(row?.userId).toBe(user.id);
    const lifetime = (row!.expiresAt.getTime() - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(TTL_SECONDS - 30);
    expect(lifetime).toBeLessThanOrEqual(TTL_SECONDS + 1);
    const stored = await herald.database.sql.query('SELECT * FROM access_tokens');
    expect(JSON.stringify(stored)).not.toContain(token.access_token);
  });

  it('accepts the same grant as JSON', async () => {
    const user = await createUser('viewer');
    const response = await herald.request('/api/LoginToken', {
      method: 'POST',
      json: { grant_type: 'password', username: user.username, password: PASSWORD },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as TokenAnswer).token_type).toBe('bearer');
  });

  it('gives a token the role of its user', async () => {
    const viewer = await createUser('viewer');
    const token = (
      (await (
        await login({ grant_type: 'password', username: viewer.username, password: PASSWORD })
      ).json()) as TokenAnswer
    ).access_token;
    expect((await herald.request('/api/account', { token })).status).toBe(200);
    const forbidden = await herald.request('/api/users', { token });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
  });

  it('answers a wrong password or an unknown user with the same 401', async () => {
    const user = await createUser('viewer');
    const wrong = await login({ grant_type: 'password', username: user.username, password: `${PASSWORD}!` });
    expect(wrong.status).toBe(401);
    const wrongBody = (await wrong.json()) as { error: { code: string; message: string } };
    expect(wrongBody.error.code).toBe('UNAUTHORIZED');
    const unknown = await login({ grant_type: 'password', username: newUsername(), password: PASSWORD });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe(wrongBody.error.message);
  });

  it('refuses any grant but password with 400', async () => {
    const user = await createUser('viewer');
    const response = await login({ grant_type: 'client_credentials', username: user.username, password: PASSWORD });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
    const missing = await login({ username: user.username, password: PASSWORD });
    expect(missing.status).toBe(400);
  });

  it('refuses an expired access token', async () => {
    const user = await createUser('admin');
    const expired = `hat_${randomBytes(32).toString('base64url')}`;
    const live = `hat_${randomBytes(32).toString('base64url')}`;
    await herald.database.db.insert(accessTokens).values([
      { tokenHash: hashSecret(expired), userId: user.id, expiresAt: new Date(Date.now() - 1000) },
      { tokenHash: hashSecret(live), userId: user.id, expiresAt: new Date(Date.now() + 60_000) },
    ]);
    expect((await herald.request('/api/account', { token: expired })).status).toBe(401);
    // The same kind of row, unexpired, works: only the expiry made the difference.
    expect((await herald.request('/api/account', { token: live })).status).toBe(200);
  });

  it('stores passwords as scrypt hashes only', async () => {
    const user = await createUser('operator');
    const [row] = await herald.database.db.select().from(users).where(eq(users.id, user.id));
    expect(row?.passwordHash.startsWith('scrypt$')).toBe(true);
    expect(row?.passwordHash).not.toContain(PASSWORD);
    expect(row?.passwordHash).not.toContain(Buffer.from(PASSWORD).toString('base64url'));
    // The API never shows it either.
    const listed = await (await herald.request('/api/users', { token: adminKey })).text();
    expect(listed).toContain(user.username);
    expect(listed).not.toContain('scrypt$');
    expect(listed).not.toContain('passwordHash');
  });

  it('shows an API key once, never lists it, and revokes it', async () => {
    const created = await herald.request('/api/api-keys', {
      method: 'POST',
      token: adminKey,
      json: { name: 'reporting', role: 'viewer' },
    });
    expect(created.status).toBe(201);
    const key = (await created.json()) as ApiKeyAnswer & { key: string };
    expect(key.key).toMatch(/^hk_/);
    expect(key.prefix).toBe(key.key.slice(0, key.prefix.length));
    expect(key.revokedAt).toBeNull();

    const listing = await herald.request('/api/api-keys', { token: adminKey });
    expect(listing.status).toBe(200);
    const text = await listing.text();
    const listed = JSON.parse(text) as ApiKeyAnswer[];
    expect(listed.map((k) => k.id)).toContain(key.id);
    for (const k of listed) expect(Object.keys(k)).not.toEqual(expect.arrayContaining(['key']));
    expect(text).not.toContain(key.key);
    expect(text).not.toContain(hashSecret(key.key));
    expect(text).not.toContain('keyHash');

    // A viewer key works where a viewer may go, and is forbidden on admin routes.
    expect((await herald.request('/api/account', { token: key.key })).status).toBe(200);
    const forbidden = await herald.request('/api/api-keys', { token: key.key });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');

    const revoked = await herald.request(`/api/api-keys/${key.id}`, { method: 'DELETE', token: adminKey });
    expect(revoked.status).toBe(204);
    const refused = await herald.request('/api/account', { token: key.key });
    expect(refused.status).toBe(401);
    const after = (await (await herald.request('/api/api-keys', { token: adminKey })).json()) as ApiKeyAnswer[];
    expect(after.find((k) => k.id === key.id)?.revokedAt).not.toBeNull();
    // Revoking twice finds no active key.
    expect((await herald.request(`/api/api-keys/${key.id}`, { method: 'DELETE', token: adminKey })).status).toBe(404);
  });

  it("cannot revoke another account's key", async () => {
    const other = await seedAccount(herald.database, 'admin');
    const created = await herald.request('/api/api-keys', {
      method: 'POST',
      token: other.apiKey,
      json: { name: 'theirs', role: 'viewer' },
    });
    const theirs = (await created.json()) as ApiKeyAnswer & { key: string };
    const response = await herald.request(`/api/api-keys/${theirs.id}`, { method: 'DELETE', token: adminKey });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await herald.request('/api/account', { token: theirs.key })).status).toBe(200);
    // Nor see it.
    const mine = await (await herald.request('/api/api-keys', { token: adminKey })).text();
    expect(mine).not.toContain(theirs.id);
    expect((await herald.request('/api/api-keys/not-a-uuid', { method: 'DELETE', token: adminKey })).status).toBe(404);
  });

  it('refuses missing, malformed and unknown credentials with 401', async () => {
    for (const authorization of [
      undefined,
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer hk_unknown',
      'Bearer hat_unknown',
    ]) {
      const response = await herald.request('/api/account', {
        headers: authorization ? { authorization } : {},
      });
      expect(response.status, String(authorization)).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
  });
});
