import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAppError } from '../../src/http/error-handler.js';
import { AppError } from '../../src/errors.js';
import { httpStatusOf } from '../../src/http/error-status.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';

interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; problem: string }[] };
  requestId: string;
}

const BODY_LIMIT = 2048;

/** Reads an error answer and checks it has Herald's one error shape. */
async function errorOf(response: Response): Promise<ErrorBody> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as ErrorBody;
  expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.requestId).toBe(response.headers.get('x-request-id'));
  return body;
}

describe('toAppError', () => {
  it('turns an unknown error into INTERNAL with a generic message', () => {
    const error = toAppError(new Error('boom: password=hunter2 at db.internal'), 1);
    expect(error.code).toBe('INTERNAL');
    expect(httpStatusOf[error.code]).toBe(500);
    expect(error.message).not.toContain('boom');
    expect(error.message).not.toContain('hunter2');
  });

  it('keeps an AppError as it is', () => {
    const conflict = new AppError('CONFLICT', 'taken');
    expect(toAppError(conflict, 1)).toBe(conflict);
  });

  it('does not blame the caller for a SyntaxError raised by server code', () => {
    // e.g. JSON.parse of something Herald stored or a vendor sent: a bug of ours, not a bad request.
    const error = toAppError(new SyntaxError('Unexpected token < in JSON at position 0'), 1);
    expect(error.code).toBe('INTERNAL');
    expect(error.message).not.toContain('Unexpected token');
  });

  it('copes with things thrown that are not errors', () => {
    for (const thrown of [null, undefined, 'text', 42]) expect(toAppError(thrown, 1).code).toBe('INTERNAL');
  });

  it('names the body limit in PAYLOAD_TOO_LARGE', () => {
    const error = toAppError(Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' }), 1234);
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(httpStatusOf[error.code]).toBe(413);
    expect(error.message).toContain('1234');
  });
});

describe.each(databaseKinds())('HTTP behaviour on %s', (kind) => {
  let herald: TestHerald;
  let adminKey: string;

  beforeAll(async () => {
    herald = await startTestHerald(kind, {
      env: { HERALD_BODY_LIMIT_BYTES: String(BODY_LIMIT) },
      roles: { api: true, workers: false },
    });
    adminKey = (await seedAccount(herald.database, 'admin')).apiKey;
  });
  afterAll(async () => {
    await herald?.stop();
  });

  const postRaw = (
    path: string,
    body: string,
    contentType = 'application/json',
    token: string | undefined = adminKey,
  ) =>
    herald.request(path, { method: 'POST', body, headers: { 'content-type': contentType }, ...(token && { token }) });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const response = await postRaw('/api/users', '{"username": "ann", "password": ');
    expect(response.status).toBe(400);
    expect((await errorOf(response)).error.code).toBe('MALFORMED_JSON');

    const publicRoute = await postRaw('/api/LoginToken', '{not json', 'application/json', undefined);
    expect(publicRoute.status).toBe(400);
    expect((await errorOf(publicRoute)).error.code).toBe('MALFORMED_JSON');
  });

  it('answers an empty JSON body with 400 MALFORMED_JSON', async () => {
    const response = await postRaw('/api/users', '');
    expect(response.status).toBe(400);
    expect((await errorOf(response)).error.code).toBe('MALFORMED_JSON');
  });

  it('answers a body over HERALD_BODY_LIMIT_BYTES with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ username: 'x'.repeat(BODY_LIMIT), password: 'correct horse battery', role: 'viewer' });
    const response = await postRaw('/api/users', big);
    expect(response.status).toBe(413);
    const body = await errorOf(response);
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.error.message).toContain(String(BODY_LIMIT));

    const form = new URLSearchParams({ grant_type: 'password', username: 'u', password: 'p'.repeat(BODY_LIMIT) });
    const formResponse = await herald.request('/api/LoginToken', { method: 'POST', body: form });
    expect(formResponse.status).toBe(413);
    expect((await errorOf(formResponse)).error.code).toBe('PAYLOAD_TOO_LARGE');

    // Just under the limit is accepted (and then validated).
    const small = await postRaw('/api/users', JSON.stringify({ username: 'x'.repeat(BODY_LIMIT - 200) }));
    expect(small.status).toBe(400);
    expect((await errorOf(small)).error.code).toBe('VALIDATION_FAILED');
  });

  it('answers an unknown route with 404 NOT_FOUND, with or without credentials', async () => {
    const anonymous = await herald.request('/api/no-such-thing?email=someone@example.com');
    expect(anonymous.status).toBe(404);
    const body = await errorOf(anonymous);
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.message).toContain('/api/no-such-thing');
    expect(body.error.message).not.toContain('someone@example.com');

    const authenticated = await herald.request('/nope', { method: 'DELETE', token: adminKey });
    expect(authenticated.status).toBe(404);
    expect((await errorOf(authenticated)).error.code).toBe('NOT_FOUND');
  });

  it('answers a schema violation with 400 VALIDATION_FAILED and details', async () => {
    const response = await herald.request('/api/users', {
      method: 'POST',
      token: adminKey,
      json: { username: 'zeus', password: 'correct horse battery', role: 'god' },
    });
    expect(response.status).toBe(400);
    const body = await errorOf(response);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.details?.length).toBeGreaterThan(0);
    expect(body.error.details?.[0]?.field).toContain('role');
    expect(typeof body.error.details?.[0]?.problem).toBe('string');

    const unknownProperty = await herald.request('/api/users', {
      method: 'POST',
      token: adminKey,
      json: { username: 'zeus', password: 'correct horse battery', role: 'viewer', isRoot: true },
    });
    expect(unknownProperty.status).toBe(400);
    expect((await errorOf(unknownProperty)).error.code).toBe('VALIDATION_FAILED');
  });

  it('answers an unsupported content type with 415', async () => {
    const response = await postRaw('/api/users', '<user name="zeus"/>', 'application/xml');
    expect(response.status).toBe(415);
    expect((await errorOf(response)).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses prototype-poisoning JSON with a 4xx, not a 500', async () => {
    for (const body of [
      '{"username": "p1", "password": "correct horse battery", "role": "viewer", "__proto__": {"role": "admin"}}',
      '{"username": "p2", "password": "correct horse battery", "role": "viewer", "constructor": {"prototype": {"x": 1}}}',
    ]) {
      for (const [path, token] of [
        ['/api/users', adminKey],
        ['/api/LoginToken', undefined],
      ] as const) {
        const response = await postRaw(path, body, 'application/json', token);
        expect(response.status, `${path} ${body}`).toBeGreaterThanOrEqual(400);
        expect(response.status, `${path} ${body}`).toBeLessThan(500);
        await errorOf(response);
      }
    }
    // Nothing was created.
    const users = (await (await herald.request('/api/users', { token: adminKey })).json()) as { username: string }[];
    expect(users.map((u) => u.username)).not.toEqual(expect.arrayContaining(['p1']));
  });

  it("keeps a caller's x-request-id, and makes one up otherwise", async () => {
    const ok = await herald.request('/healthz', { headers: { 'x-request-id': 'trace-1234.abc:7' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe('trace-1234.abc:7');

    const failing = await herald.request('/api/account', { headers: { 'x-request-id': 'trace-5678' } });
    expect(failing.status).toBe(401);
    expect((await errorOf(failing)).requestId).toBe('trace-5678');

    const own = await herald.request('/healthz');
    expect(own.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // An id that is not sane (spaces, too long) is replaced rather than echoed.
    const insane = await herald.request('/healthz', { headers: { 'x-request-id': 'a b' } });
    expect(insane.headers.get('x-request-id')).not.toBe('a b');
  });

  it('serves Prometheus metrics: HTTP requests, queue depth and job outcomes', async () => {
    expect((await herald.request('/healthz')).status).toBe(200);
    const response = await herald.request('/metrics', { token: adminKey });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^herald_http_requests_total\{[^}]*route="\/healthz"[^}]*status="200"[^}]*\} \d+/m);
    expect(text).toMatch(/^herald_queue_depth\{job="[^"]+"\} \d+/m);
    expect(text).toContain('# TYPE herald_jobs_total counter');
    expect(text).toContain('herald_http_request_duration_seconds_bucket');
    expect(text).toContain('herald_process_cpu_user_seconds_total');
  });

  it('is ready when the database answers and the workers run', async () => {
    const response = await herald.request('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ready',
      checks: { database: { status: 'ok' }, workers: { status: 'ok' } },
    });
    expect((await herald.request('/healthz')).status).toBe(200);
  });

  it('publishes the OpenAPI document without credentials', async () => {
    const response = await herald.request('/openapi.json');
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/LoginToken', '/api/users']));
  });

  it('serves the browsable docs as HTML', async () => {
    const docs = await herald.request('/docs', { token: adminKey });
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await docs.text()).toMatch(/<html/i);
  });

  it('serves the browsable docs without credentials, as README says', async () => {
    const docs = await herald.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/<html/i);
  });
});
