import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { WatchedFolder } from '../../src/initiator/watched-folder.js';
import { createLogger } from '../../src/observability/logger.js';
import { StandalonePlatform } from '../../src/platforms/standalone/standalone-platform.js';
import { dispatches, uploads } from '../../src/storage/schema.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds } from '../support/databases.js';
import { seedSinkDispatch, startDeliveryHarness } from '../support/delivery.js';
import { TEST_VAULT_KEYS, type TestHerald } from '../support/herald.js';
import { apiRequest } from '../support/api-client.js';
import type { SeededDispatch } from '../support/platform.js';
import type { SmtpSink } from '../support/smtp-sink.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';
import { uploadLog, type UploadView } from '../support/uploads.js';
import { waitFor } from '../support/wait.js';

afterAll(() => removeTempDirs());

const SETTLE_MS = 600;

describe.each(databaseKinds())('the watched folder on %s', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  let root: string;
  let apiKey: string;
  let accountId: string;
  let seeded: SeededDispatch;

  beforeAll(async () => {
    root = makeTempDir();
    ({ herald, sink } = await startDeliveryHarness(kind, {
      env: {
        HERALD_DATA_DIR: makeTempDir(),
        HERALD_INITIATOR_DIR: root,
        HERALD_INITIATOR_POLL_MS: '100',
        HERALD_INITIATOR_SETTLE_MS: String(SETTLE_MS),
        HERALD_DELIVERY_POLL_MS: '100',
      },
    }));
    ({
      apiKey,
      account: { id: accountId },
    } = await seedAccount(herald.database, 'operator'));
    seeded = await seedSinkDispatch(herald.database, accountId, sink);
  });

  const feed = (name: string, config?: unknown) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  };
  const folderUploads = async (feedName: string) =>
    (await apiRequest<UploadView[]>(herald.url, '/api/uploads', { token: apiKey })).body.filter(
      (u) => u.feed === feedName,
    );
  const ended = (feedName: string, count = 1) =>
    waitFor(
      async () => {
        const found = await folderUploads(feedName);
        return found.length === count && found.every((u) => u.status !== 'processing') ? found : undefined;
      },
      60_000,
      { description: `${count} upload(s) of feed ${feedName} to end` },
    );
  const archived = (dir: string, name: string) =>
    waitFor(() => fs.existsSync(path.join(dir, 'archive', `${name}.rejected.csv`)), 30_000, {
      description: `${name} to be archived with its report`,
    });

  it('takes a file once it is completely written, sends its invitations by SMTP, and archives it with its report', async () => {
    const dir = feed('crm', { DispatchId: seeded.dispatchId, DispatchReqApi: 'https://not-used.example' });
    const file = path.join(dir, 'customers.csv');
    const rows = [
      'Customer id,Email,Name',
      'w1,wanda@example.com,Wanda',
      'w2,walt@example.com,Walt',
      'w3,not-an-email,Wes',
      'w4,wes@example.com,Wes',
    ];
    // Written a line at a time, more slowly than the settle time allows: never taken half-written.
    const writer = fs.openSync(file, 'w');
    for (const row of rows) {
      fs.writeSync(writer, `${row}\n`);
      await sleep(SETTLE_MS / 3);
      expect(fs.existsSync(file), 'taken while being written').toBe(true);
      expect(await folderUploads('crm')).toEqual([]);
    }
    fs.closeSync(writer);

    const [upload] = await ended('crm');
    expect(upload).toMatchObject({
      status: 'done',
      source: 'folder',
      fileName: 'customers.csv',
      rows: { read: 4, accepted: 3, rejected: 1 },
    });
    await archived(dir, 'customers.csv');
    expect(fs.readdirSync(dir).sort()).toEqual(['archive', 'config.json', 'processing']);
    expect(fs.readdirSync(path.join(dir, 'processing'))).toEqual([]);
    expect(fs.readFileSync(path.join(dir, 'archive', 'customers.csv'), 'utf8')).toBe(`${rows.join('\n')}\n`);
    expect(fs.readFileSync(path.join(dir, 'archive', 'customers.csv.rejected.csv'), 'utf8')).toMatch(
      /^row,reason,Customer id,Email,Name\n4,Failed due to an invalid email address[^\n]*,w3,not-an-email,Wes\n$/,
    );

    await waitFor(() => sink.messages.length >= 3, 60_000, { description: 'three invitations at the SMTP server' });
    expect(sink.messages.map((m) => m.to).sort()).toEqual(['walt@example.com', 'wanda@example.com', 'wes@example.com']);

    const log = (await uploadLog(herald.database, upload!.id)).map((l) => `${l.level[0]} ${l.message}`);
    expect(log.slice(0, 4)).toEqual([
      'D A request to initiate a dispatch was received from the watched folder "crm"',
      'D The required config.json was successfully retrieved from the watched folder',
      'D The required config.json has been configured correctly',
      'D The uploaded file was successfully retrieved',
    ]);
  });

  /** A watcher of `rootDir` this test drives scan by scan (no timer), taking files at their second sight. */
  const watcherOf = (rootDir: string, logger = createLogger('silent')) =>
    new WatchedFolder({
      database: herald.database,
      platform: new StandalonePlatform(herald.database.db),
      queue: herald.queue,
      config: loadConfig({
        HERALD_VAULT_KEYS: TEST_VAULT_KEYS,
        HERALD_INITIATOR_DIR: rootDir,
        HERALD_INITIATOR_SETTLE_MS: '0',
        ...(herald.test.url && { DATABASE_URL: herald.test.url }),
      }),
      logger,
    });

  it('leaves the files of a feed whose config.json is missing or wrong, says why once, and takes them once it is right', async () => {
    const own = makeTempDir();
    const dir = path.join(own, 'later');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'early.csv'), 'Customer id,Email\nl1,l1@example.com\n');
    const problems: string[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => problems.push((JSON.parse(line) as { problem: string }).problem) },
    );
    const watcher = watcherOf(own, logger);
    const scans = async () => {
      for (let i = 0; i < 3; i += 1) await watcher.scan();
    };
    await scans();
    expect(fs.readdirSync(dir)).toEqual(['early.csv']);
    for (const config of ['', '{"DispatchId": 12}', '{"DispatchId": "7d7d7d7d-0000-4000-8000-000000000000"}']) {
      fs.writeFileSync(path.join(dir, 'config.json'), config);
      await scans();
      expect(fs.readdirSync(dir).sort(), config).toEqual(['config.json', 'early.csv']);
    }
    expect(problems).toEqual([
      expect.stringMatching(/config\.json/),
      expect.stringMatching(/config\.json/),
      expect.stringMatching(/DispatchId/),
      expect.stringMatching(/dispatch/i),
    ]);
    expect(await folderUploads('later')).toEqual([]);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ dispatchId: seeded.dispatchId }));
    await scans();
    const [upload] = await ended('later');
    expect(upload).toMatchObject({ status: 'done', rows: { accepted: 1 } });
    await archived(dir, 'early.csv');
  });

  it('fails and archives a file for a paused dispatch or of an unreadable kind, saying why', async () => {
    const seededPaused = await seedSinkDispatch(herald.database, accountId, sink);
    await herald.database.db.update(dispatches).set({ paused: true }).where(eq(dispatches.id, seededPaused.dispatchId));
    const dir = feed('paused', { DispatchId: seededPaused.dispatchId });
    fs.writeFileSync(path.join(dir, 'march.csv'), 'Customer id,Email\np1,p1@example.com\n');
    fs.writeFileSync(
      path.join(dir, 'photo.png'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]),
    );
    const found = await ended('paused', 2);
    const byName = Object.fromEntries(found.map((u) => [u.fileName, u]));
    expect(byName['march.csv']).toMatchObject({
      status: 'failed',
      errors: ['The dispatch is paused: resume it to send invitations.'],
    });
    expect(byName['photo.png']).toMatchObject({
      status: 'failed',
      format: null,
      errors: [expect.stringContaining('binary data') as unknown],
    });
    const log = await uploadLog(herald.database, byName['march.csv']!.id);
    expect(log.at(-1)).toMatchObject({
      level: 'Error',
      message: 'The config.json specifies a Not-Live Dispatch (The dispatch is paused: resume it to send invitations.)',
    });
    await archived(dir, 'march.csv');
    await archived(dir, 'photo.png');
  });

  it('records a file a stopped process claimed but never recorded', async () => {
    const dir = feed('claimed', { DispatchId: seeded.dispatchId });
    const id = '5a5a5a5a-1111-4222-8333-444455556666';
    fs.mkdirSync(path.join(dir, 'processing'));
    fs.writeFileSync(path.join(dir, 'processing', `${id}--left.csv`), 'Customer id,Email\nr1,r1@example.com\n');
    const [upload] = await ended('claimed');
    expect(upload).toMatchObject({ id, fileName: 'left.csv', status: 'done', rows: { accepted: 1 } });
    await archived(dir, 'left.csv');
  });

  it('hands each file to exactly one of several watchers of the same folder', async () => {
    const shared = makeTempDir();
    const dir = path.join(shared, 'busy');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ DispatchId: seeded.dispatchId }));
    const names = Array.from({ length: 12 }, (_, i) => `part-${i}.csv`);
    for (const name of names) fs.writeFileSync(path.join(dir, name), `Customer id,Email\n${name},x@example.com\n`);
    const watchers = [watcherOf(shared), watcherOf(shared), watcherOf(shared)];
    // The first scan notes each file's size; the next ones take it, all three at once.
    await Promise.all(watchers.map((w) => w.scan()));
    await Promise.all(watchers.map((w) => w.scan()));
    await Promise.all(watchers.map((w) => w.scan()));
    const rows = await herald.database.db.select().from(uploads).where(eq(uploads.feed, 'busy'));
    expect(rows.map((r) => r.fileName).sort()).toEqual([...names].sort());
    await ended('busy', names.length);
  });
});
