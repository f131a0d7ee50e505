import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../support/accounts.js';
import { killStartedClis, runCli } from '../support/cli.js';
import { databaseKinds } from '../support/databases.js';
import { closedPort } from '../support/delivery.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { invitationRows } from '../support/ingest.js';
import { seedDispatch, type SeededDispatch } from '../support/platform.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';

// Built CLI (npm test compiles it first; run "npx tsc -p tsconfig.json" before running this file alone).
afterAll(async () => {
  await killStartedClis();
  removeTempDirs();
});

const ANSI_ESCAPE = '\u001b[';

describe.each(databaseKinds())('herald send against a running Herald on %s', (kind) => {
  let herald: TestHerald;
  let apiKey: string;
  let accountId: string;
  let seeded: SeededDispatch;
  let dir: string;

  beforeAll(async () => {
    dir = makeTempDir();
    herald = await startTestHerald(kind, { env: { HERALD_DATA_DIR: makeTempDir(), HERALD_MAX_RECORDS: '2' } });
    ({
      apiKey,
      account: { id: accountId },
    } = await seedAccount(herald.database, 'operator'));
    seeded = await seedDispatch(herald.database, accountId);
  });
  afterAll(() => herald?.stop());

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const send = (args: string[], env: Record<string, string> = { HERALD_API_KEY: apiKey }) => {
    return runCli(['send', ...args, '--url', herald.url, '--poll-ms', '50'], { env });
  };

  it('follows the file to the end with plain progress lines off a terminal, lists the rejections and exits 0', async () => {
    const file = write(
      'customers.csv',
      'Customer id,Email,Name\ns1,s1@example.com,Sue\ns2,not-an-email,Sam\ns3,s3@example.com,Sid\ns4,s4@example.com\n',
    );
    const reportFile = path.join(dir, 'refused.csv');
    const result = await send([file, '--dispatch', seeded.dispatchId, '--rejected-out', reportFile]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'done: 4 rows read: 2 accepted, 2 rejected, 0 throttled, 0 suppressed',
      expect.stringMatching(/^batches: [0-9a-f-]{36}\.1, [0-9a-f-]{36}\.2$/) as unknown,
      'not accepted:',
      '  row 3: Failed due to an invalid email address: the email address is not valid',
      '  row 5: The row has 2 columns; the header has 3',
      `every refused row with its cells: ${reportFile}`,
      '',
    ]);
    // Not a terminal: no bar, no escape codes, lines a log can keep.
    expect(result.stderr).not.toContain(ANSI_ESCAPE);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^uploading customers\.csv \(\d+ bytes\) to http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toMatch(/^upload [0-9a-f-]{36} accepted; Herald is reading it$/);
    expect(lines.at(-1)).toMatch(/^progress 100%: rows 4, accepted 2, rejected 2, [\d,]+ rows\/s, ETA 0s$/);
    expect(lines.slice(2).every((l) => /^progress \d+%: rows [\d,]+, accepted/.test(l))).toBe(true);
    expect(fs.readFileSync(reportFile, 'utf8').split('\n')[0]).toBe('row,reason,Customer id,Email,Name');
    expect(await invitationRows(herald.database, accountId)).toEqual(
      expect.arrayContaining([expect.objectContaining({ uuid: 's1' }), expect.objectContaining({ uuid: 's3' })]),
    );
  });

  it('exits non-zero with a clear message when the dispatch or the file is refused', async () => {
    const good = write('good.csv', 'Customer id,Email\nt1,t1@example.com\n');
    const unknown = await send([good, '--dispatch', '6f1d3c7e-1111-4111-8111-111111111111']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'herald send: Herald refused the file: Dispatch 6f1d3c7e-1111-4111-8111-111111111111 was not found in this account.',
    );

    const duplicate = write('dup.csv', 'Customer id,Email,EMAIL\nt1,t1@example.com,x@example.com\n');
    const refused = await send([duplicate, '--dispatch', seeded.dispatchId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n').at(-1)).toBe(
      'herald send: the file was not processed: The file has duplicate headers: Email, EMAIL. Rename or remove them and upload it again.',
    );

    const junk = write('junk.csv', '\u0000\u0001binary');
    const binary = await send([junk, '--dispatch', seeded.dispatchId]);
    expect(binary.code).toBe(1);
    expect(binary.stderr).toContain('herald send: Herald refused the file: The file holds binary data');

    const missing = await send([path.join(dir, 'nope.csv'), '--dispatch', seeded.dispatchId]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read') as unknown });
    const noKey = await send([good, '--dispatch', seeded.dispatchId], {});
    expect(noKey.stderr).toContain('herald send: give an API key with --api-key or HERALD_API_KEY');
    expect(noKey.code).toBe(1);
    const wrongKey = await send([good, '--dispatch', seeded.dispatchId], { HERALD_API_KEY: 'hk_wrong' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('herald send: Herald refused the file: The API key or access token is not valid');
    const closed = await closedPort();
    const unreachable = await runCli(
      ['send', good, '--dispatch', seeded.dispatchId, '--url', `http://127.0.0.1:${closed}`],
      { env: { HERALD_API_KEY: apiKey } },
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      `herald send: cannot reach Herald at http://127.0.0.1:${closed} (ECONNREFUSED)`,
    );
  }, 180_000);
});
