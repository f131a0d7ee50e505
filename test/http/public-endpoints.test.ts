import net from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/api-keys.js';
import { LoginThrottle } from '../../src/accounts/login-throttle.js';
import { createUser } from '../../src/accounts/users.js';
import { BOUNCE_ENDPOINT_LIMITS, MAX_BOUNCE_BYTES } from '../../src/pipeline/feedback/bounce-receiver.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { waitFor } from '../support/wait.js';

/** Opens a raw connection, writes `text`, and collects what comes back until the server closes it. */
function rawConnection(port: number, text: string) {
  const socket = net.connect({ host: '127.0.0.1', port });
  const state = { received: '', closed: false, socket };
  socket.on('data', (chunk: Buffer) => (state.received += chunk.toString('latin1')));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => undefined);
  socket.write(text);
  return state;
}

describe('login throttle', () => {
  it('backs off after the free failures, doubling up to the maximum, and forgets after a success', () => {
    let now = 0;
    const throttle = new LoginThrottle(
      { freeFailures: 2, firstLockoutMs: 1000, maxLockoutMs: 4000, forgetAfterMs: 60_000 },
      () => now,
    );
    throttle.failed('ann');
    throttle.failed('ann');
    expect(throttle.waitMs('ann')).toBe(0);
    throttle.failed('ann');
    expect(throttle.waitMs('ann')).toBe(1000);
    throttle.failed('ann');
    expect(throttle.waitMs('ann')).toBe(2000);
    throttle.failed('ann');
    throttle.failed('ann');
    expect(throttle.waitMs('ann')).toBe(4000);
    now += 4000;
    expect(throttle.waitMs('ann')).toBe(0);
    throttle.succeeded('ann');
    throttle.failed('ann');
    expect(throttle.waitMs('ann')).toBe(0);
    now += 61_000;
    expect(throttle.waitMs('ann')).toBe(0);
  });
});

describe.each(databaseKinds())('public endpoints on %s', (kind) => {
  let herald: TestHerald;
  let port: number;
  let viewerKey: string;
  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      env: { HERALD_REQUEST_TIMEOUT_MS: '1000', HERALD_BOUNCE_SMTP_PORT: '0' },
    });
    port = Number(new URL(herald.url).port);
    const { account } = await seedAccount(herald.database);
    viewerKey = (await createApiKey(herald.database.db, { accountId: account.id, name: 'v', role: 'viewer' })).key;
    await createUser(herald.database.db, {
      accountId: account.id,
      username: `locked-${kind}`,
      password: 'a-long-enough-password',
      role: 'viewer',
    });
  });
  afterAll(() => herald?.stop());

  const signIn = (username: string, password: string) =>
    herald.request('/api/LoginToken', { method: 'POST', json: { grant_type: 'password', username, password } });

  it('locks a user name out after repeated failed sign-ins, with Retry-After, even for the right password', async () => {
    const username = `locked-${kind}`;
    for (let i = 0; i < 5; i++) expect((await signIn(username, 'wrong-password!')).status).toBe(401);
    expect((await signIn(username, 'wrong-password!')).status).toBe(401);
    const locked = await signIn(username, 'a-long-enough-password');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await locked.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_REQUESTS');
  });

  it('refuses a sign-in body larger than 4 KiB', async () => {
    const answer = await signIn('someone', 'x'.repeat(5000));
    expect(answer.status).toBe(413);
  });

  it('answers 408 to headers that do not arrive within the request timeout, and closes a body that does not', async () => {
    const slowHeaders = rawConnection(port, 'POST /api/LoginToken HTTP/1.1\r\nHost: x\r\n');
    await waitFor(() => slowHeaders.closed, 15_000, { description: 'the request with slow headers closed' });
    expect(slowHeaders.received).toMatch(/^HTTP\/1\.1 408/);
    const slowBody = rawConnection(
      port,
      'POST /api/LoginToken HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    await waitFor(() => slowBody.closed, 15_000, { description: 'the request with a slow body closed' });
    expect(slowBody.received).toBe('');
  });

  it('refuses a callback for an unknown vendor before reading its body', async () => {
    const call = rawConnection(
      port,
      'POST /hooks/twilio/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000000\r\n\r\nTo=1',
    );
    // Only 4 of the 2,000,000 announced bytes were sent: the answer cannot have waited for the body.
    await waitFor(() => /\r\n\r\n/.test(call.received), 5000, { description: 'an answer' });
    expect(call.received).toMatch(/^HTTP\/1\.1 404/);
    call.socket.destroy();
  });

  it('serves /metrics only with a key unless configured public', async () => {
    expect((await herald.request('/metrics')).status).toBe(401);
    const scraped = await herald.request('/metrics', { token: viewerKey });
    expect(scraped.status).toBe(200);
  });

  it('refuses an oversized mail at the bounce endpoint', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: herald.bouncePort!, ignoreTLS: true });
    const raw = `From: a@b.test\r\nTo: bounces@herald.test\r\nSubject: big\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(
      Math.ceil((MAX_BOUNCE_BYTES + 100_000) / 120),
    );
    await expect(
      transport.sendMail({ envelope: { from: '', to: ['bounces@herald.test'] }, raw }),
    ).rejects.toMatchObject({ responseCode: 552 });
    transport.close();
  });

  it('limits the connections one address holds at the bounce endpoint', async () => {
    const open = Array.from({ length: BOUNCE_ENDPOINT_LIMITS.clientsPerAddress }, () =>
      rawConnection(herald.bouncePort!, ''),
    );
    await waitFor(() => open.every((c) => c.received.startsWith('220')), 5000, { description: 'every greeting' });
    const refused = rawConnection(herald.bouncePort!, '');
    await waitFor(() => refused.received.length > 0, 5000, { description: 'an answer to one connection more' });
    expect(refused.received).toMatch(/^421 /);
    for (const c of [...open, refused]) c.socket.destroy();
    // Once they are closed, the address may connect again.
    await waitFor(
      async () => {
        const again = rawConnection(herald.bouncePort!, '');
        await waitFor(() => again.received.length > 0, 5000);
        again.socket.destroy();
        return again.received.startsWith('220');
      },
      5000,
      { description: 'a new connection greeted' },
    );
  });
});
