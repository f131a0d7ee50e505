import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequest, fetchApi, type RequestOptions } from '../support/api-client.js';
import { killStartedClis } from '../support/cli.js';
import {
  createAccountWithKey,
  createCliInstallation,
  serveInstallation,
  type CliInstallation,
} from '../support/cli-installation.js';
import { databaseKinds, type DatabaseKind } from '../support/databases.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';
import { waitFor } from '../support/wait.js';

afterAll(async () => {
  await killStartedClis();
  removeTempDirs();
});

/** A CLI installation with an account "acme" and an admin API key. */
interface Installation extends CliInstallation {
  adminKey: string;
}

async function createInstallation(kind: DatabaseKind): Promise<Installation> {
  const installation = await createCliInstallation(kind);
  const adminKey = await createAccountWithKey(installation, 'acme');
  expect(adminKey).toMatch(/^hk_/);
  return { ...installation, adminKey };
}

let embeddedTemplate: Promise<Installation> | undefined;

/**
 * An installation of its own for each caller. Creating an embedded database costs seconds, so
 * embedded ones are copies of one made once (a stopped PGlite directory is plain files).
 */
async function install(kind: DatabaseKind): Promise<Installation> {
  if (kind === 'postgres') return createInstallation(kind);
  embeddedTemplate ??= createInstallation(kind);
  const template = await embeddedTemplate;
  const dataDir = makeTempDir();
  fs.cpSync(template.dataDir, dataDir, { recursive: true });
  return { ...template, dataDir };
}

const serve = serveInstallation;

const lockFileOf = (installation: Installation) => path.join(installation.dataDir, 'herald.lock');

describe.each(databaseKinds())('durability of a CLI Herald on %s', (kind) => {
  let installation: Installation;
  beforeAll(async () => {
    installation = await install(kind);
  });

  it('keeps what it acknowledged through kill -9 and a restart', { timeout: 180_000 }, async () => {
    const first = await serve(installation);
    const username = `durable-${kind}`;
    const created = await apiRequest<{ id: string }>(first, '/api/users', {
      token: installation.adminKey,
      json: { username, password: 'correct horse battery', role: 'viewer' },
    });
    expect(created.status).toBe(201);
    const { id } = created.body;

    first.cli.signal('SIGKILL');
    expect((await first.cli.waitForExit()).signal).toBe('SIGKILL');
    if (kind === 'pglite') {
      // The killed process could not release its lock: the restart must take it over.
      expect(JSON.parse(fs.readFileSync(lockFileOf(installation), 'utf8'))).toMatchObject({ pid: first.cli.pid });
    }

    const second = await serve(installation);
    const read = await apiRequest(second, `/api/users/${id}`, { token: installation.adminKey });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id, username, role: 'viewer' });
    if (kind === 'pglite') {
      expect(JSON.parse(fs.readFileSync(lockFileOf(installation), 'utf8'))).toMatchObject({ pid: second.cli.pid });
    }
    await second.cli.kill();
  });
});

describe('a CLI Herald on an embedded database', () => {
  let installation: Installation;
  beforeAll(async () => {
    installation = await install('pglite');
  });

  it('stops on SIGTERM: exit code 0, lock released, "Herald stopped" logged', { timeout: 120_000 }, async () => {
    const { cli, url } = await serve(installation, { HERALD_LOG_LEVEL: 'info' });
    expect(fs.existsSync(lockFileOf(installation))).toBe(true);
    expect((await fetchApi(url, '/readyz')).status).toBe(200);

    cli.signal('SIGTERM');
    const exit = await cli.waitForExit(60_000);
    expect(exit, cli.output).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(lockFileOf(installation))).toBe(false);
    const messages = cli.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toContain('Herald stopped');
    expect(messages.indexOf('shutting down')).toBeLessThan(messages.indexOf('Herald stopped'));
  });

  it('logs no credentials, passwords or query-string values', { timeout: 120_000 }, async () => {
    const { cli, url } = await serve(installation, { HERALD_LOG_LEVEL: 'info' });
    const email = 'someone@example.com';
    const password = 'Sup3r-secret-passw0rd';
    const wrongKey = 'hk_this-key-does-not-exist-but-is-secret';
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

    const calls: [string, RequestOptions][] = [
      [`/api/account?email=${encodeURIComponent(email)}`, { headers: bearer(installation.adminKey) }],
      [`/api/account?email=${encodeURIComponent(email)}`, { headers: bearer(wrongKey) }],
      [`/api/nothing-here?email=${encodeURIComponent(email)}`, { headers: bearer(installation.adminKey) }],
      [
        '/api/LoginToken',
        { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: email, password }) },
      ],
      [
        '/api/users',
        {
          method: 'POST',
          headers: { ...bearer(installation.adminKey), 'content-type': 'application/json' },
          body: JSON.stringify({ username: email, password, role: 'viewer' }),
        },
      ],
    ];
    const statuses = [];
    for (const [route, init] of calls) statuses.push((await fetchApi(url, route, init)).status);
    expect(statuses).toEqual([200, 401, 404, 401, 201]);

    // Fastify logs each answer after sending it: wait until all of them are in the log.
    await waitFor(() => cli.stdout.split('request completed').length - 1 >= calls.length, 10_000);
    expect(cli.stdout).toContain('/api/account?email=[redacted]');
    for (const secret of [installation.adminKey, wrongKey, email, encodeURIComponent(email), password]) {
      expect(cli.stdout).not.toContain(secret);
      expect(cli.stderr).not.toContain(secret);
    }
    await cli.kill();
  });
});
