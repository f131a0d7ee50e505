import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoInfo } from '../../src/demo/demo-setup.js';
import { apiRequest } from '../support/api-client.js';
import { CliProcess, killStartedClis, runCli } from '../support/cli.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';
import { waitFor } from '../support/wait.js';

async function startDemo(dataDir: string): Promise<{ cli: CliProcess; info: DemoInfo }> {
  const file = path.join(dataDir, 'demo.json');
  const cli = new CliProcess(['demo', '--data-dir', dataDir, '--port', '0']);
  await waitFor(() => cli.stdout.includes('A first request:') || !cli.running, 60_000, {
    description: 'the demo to start',
  });
  expect(cli.running, cli.output).toBe(true);
  // demo.json is written before the first request is printed.
  return { cli, info: JSON.parse(fs.readFileSync(file, 'utf8')) as DemoInfo };
}

describe('herald demo', () => {
  afterAll(async () => {
    await killStartedClis();
    removeTempDirs();
  });

  it('starts a ready dispatch, prints a working first request and is idempotent across restarts', async () => {
    const dataDir = makeTempDir();
    const first = await startDemo(dataDir);
    const { info } = first;
    expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Object.keys(info.questionIds).sort()).toEqual(['email', 'language', 'mobile', 'name', 'uuid']);

    // The printed curl command, run as printed.
    const curl = /curl[\s\S]*?'\n/.exec(first.cli.stdout)?.[0];
    expect(curl).toContain(info.apiKey);
    const body = /-d '(.*)'/.exec(curl ?? '')?.[1] ?? '';
    const response = await apiRequest(info.baseUrl, '/api/dispatchRequest', { token: info.apiKey, raw: body });
    expect(response.status).toBe(207);
    expect(response.body).toMatchObject({
      statusByDispatch: [{ dispatchId: info.dispatchId, dispatchStatus: 202 }],
    });

    first.cli.signal('SIGTERM');
    expect((await first.cli.exited).code).toBe(0);

    const second = await startDemo(dataDir);
    expect(second.info.dispatchId).toBe(info.dispatchId);
    expect(second.info.questionIds).toEqual(info.questionIds);
    expect(second.info.apiKey).toBe(info.apiKey);
    const account = await apiRequest<unknown[]>(second.info.baseUrl, '/api/dispatches', { token: info.apiKey });
    expect(account.body).toHaveLength(1);
    second.cli.signal('SIGTERM');
    await second.cli.exited;

    const mailbox = await runCli(['mailbox', '--data-dir', dataDir]);
    expect(mailbox.code).toBe(0);
    expect(JSON.parse(mailbox.stdout)).toEqual([]);
  });
});
