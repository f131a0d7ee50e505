import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStartedClis, runCli } from '../support/cli.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';

afterAll(async () => {
  await killStartedClis();
  removeTempDirs();
});

// Each run only loads the CLI, so these run side by side.
describe.concurrent('herald --help', () => {
  it('lists every command', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['serve', 'api', 'worker', 'migrate', 'account', 'user', 'api-key', 'dead-letters']) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it.each([
    [['serve'], ['--port', '--data-dir']],
    [['api'], ['--port', '--data-dir']],
    [['worker'], ['--port', '--data-dir']],
    [['migrate'], ['--data-dir']],
    [
      ['account', 'create'],
      ['--slug', '--name', '--data-dir'],
    ],
    [
      ['user', 'create'],
      ['--account', '--username', '--role', '--data-dir', 'HERALD_NEW_PASSWORD'],
    ],
    [
      ['api-key', 'create'],
      ['--account', '--name', '--role', '--data-dir'],
    ],
    [['dead-letters'], ['--limit', '--data-dir']],
  ])('herald %s --help names its options', async (command, options) => {
    const result = await runCli([...command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: herald ${command.join(' ')}`);
    for (const option of options) expect(result.stdout).toContain(option);
  });

  it('fails on an unknown command', async () => {
    const result = await runCli(['serv']);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('serv');
  });

  it('refuses a port that is not one', async () => {
    const dataDir = makeTempDir();
    const result = await runCli(['serve', '--port', '70000', '--data-dir', dataDir]);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('--port');
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});

describe('herald migrate and the admin commands on an embedded database', () => {
  it('migrates a new data directory, and again without harm', { timeout: 120_000 }, async () => {
    const dataDir = path.join(makeTempDir(), 'data');
    const first = await runCli(['migrate', '--data-dir', dataDir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('migrated');
    expect(first.stdout).toContain(dataDir);
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(true);
    // The lock is released on exit.
    expect(fs.existsSync(path.join(dataDir, 'herald.lock'))).toBe(false);

    const again = await runCli(['migrate', '--data-dir', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('migrated');

    // A job queue that never ran has no dead letters (rather than an error about missing tables).
    const deadLetters = await runCli(['dead-letters', '--data-dir', dataDir]);
    expect(deadLetters.code, deadLetters.stderr).toBe(0);
    expect(JSON.parse(deadLetters.stdout)).toEqual([]);

    const badRole = await runCli([
      'api-key',
      'create',
      '--account',
      'acme',
      '--name',
      'k',
      '--role',
      'god',
      '--data-dir',
      dataDir,
    ]);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toContain('--role');

    const badLimit = await runCli(['dead-letters', '--limit', 'many', '--data-dir', dataDir]);
    expect(badLimit.code).not.toBe(0);
    expect(badLimit.stderr).toContain('--limit');
  });
});
