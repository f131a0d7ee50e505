import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from '../../src/storage/data-dir-lock.js';
import { fetchApi } from '../support/api-client.js';
import { killStartedClis, repoRoot, runCli, startServing, type ServingCli } from '../support/cli.js';
import { makeTempDir, removeTempDirs } from '../support/temp-dirs.js';
import { waitFor } from '../support/wait.js';

afterAll(killStartedClis);
afterAll(removeTempDirs);

const lockFileOf = (dir: string) => path.join(dir, 'herald.lock');

function writeLock(dir: string, owner: { pid: number; processStart: string | null; hostname?: string }): void {
  fs.writeFileSync(
    lockFileOf(dir),
    JSON.stringify({
      hostname: os.hostname(),
      command: 'serve',
      startedAt: new Date().toISOString(),
      ...owner,
    }),
  );
}

/** The pid of a process that has exited (and was reaped), so nothing runs under it. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  if (child.pid === undefined) throw new Error('could not start node');
  return child.pid;
}

describe('lockDataDir', () => {
  it('refuses a second lock on the same directory and names the owner', () => {
    const dir = makeTempDir();
    const lock = lockDataDir(dir, 'serve');
    try {
      expect(fs.existsSync(lock.file)).toBe(true);
      let thrown: unknown;
      try {
        lockDataDir(dir, 'migrate');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DataDirLockedError);
      const locked = thrown as DataDirLockedError;
      expect(locked.owner.pid).toBe(process.pid);
      expect(locked.message).toContain(`pid ${process.pid}`);
      expect(locked.message).toContain('"serve"');
      expect(locked.message).toContain(dir);
    } finally {
      lock.release();
    }
    expect(fs.existsSync(lockFileOf(dir))).toBe(false);
    // Released: the directory can be locked again.
    lockDataDir(dir, 'serve').release();
  });

  it('creates a missing data directory', () => {
    const dir = path.join(makeTempDir(), 'nested', 'data');
    const lock = lockDataDir(dir, 'serve');
    expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, command: 'serve' });
    lock.release();
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const dir = makeTempDir();
    const pid = await deadPid();
    writeLock(dir, { pid, processStart: null });
    const lock = lockDataDir(dir, 'serve');
    expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid });
    // Nothing but the lock is left behind (no drafts, no takeover guard).
    expect(fs.readdirSync(dir)).toEqual(['herald.lock']);
    lock.release();
    expect(fs.existsSync(lock.file)).toBe(false);
  });

  it('takes over a lock whose pid now belongs to another process (pid reuse)', () => {
    const dir = makeTempDir();
    // This process runs, but did not start at the recorded time: it is not the owner.
    writeLock(dir, { pid: process.pid, processStart: '1' });
    const lock = lockDataDir(dir, 'serve');
    expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('takes over a half-written lock file', () => {
    const dir = makeTempDir();
    fs.writeFileSync(lockFileOf(dir), '{"pid": 12');
    lockDataDir(dir, 'serve').release();
  });

  it('respects a lock held by another live process', async () => {
    const dir = makeTempDir();
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const pid = child.pid;
      if (pid === undefined) throw new Error('could not start node');
      writeLock(dir, { pid, processStart: null });
      expect(() => lockDataDir(dir, 'serve')).toThrow(`pid ${pid}`);
      // Not taken over, not removed.
      expect(JSON.parse(fs.readFileSync(lockFileOf(dir), 'utf8'))).toMatchObject({ pid });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('release() leaves a lock that another process has since taken', () => {
    const dir = makeTempDir();
    const lock = lockDataDir(dir, 'serve');
    writeLock(dir, { pid: 1, processStart: null });
    lock.release();
    expect(JSON.parse(fs.readFileSync(lockFileOf(dir), 'utf8'))).toMatchObject({ pid: 1 });
  });

  it('gives a stale lock to exactly one of several processes racing for it', { timeout: 120_000 }, async () => {
    const module = pathToFileURL(path.join(repoRoot, 'dist/storage/data-dir-lock.js')).href;
    // Each racer says "ready", waits for "go", tries the lock, reports, and holds it until stdin ends.
    const racer = `
      import { lockDataDir } from ${JSON.stringify(module)};
      import readline from 'node:readline';
      const lines = readline.createInterface({ input: process.stdin });
      console.log('ready');
      lines.once('line', () => {
        try { lockDataDir(process.argv[1], 'racer'); console.log('locked'); }
        catch (error) { console.log(error.name); }
      });`;
    for (let round = 0; round < 3; round++) {
      const dir = makeTempDir();
      writeLock(dir, { pid: await deadPid(), processStart: null });
      const racers = Array.from({ length: 8 }, () => {
        const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', racer, dir], {
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        const state = { child, out: '', exited: new Promise((resolve) => child.once('exit', resolve)) };
        child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (state.out += chunk));
        return state;
      });
      try {
        await waitFor(() => racers.every((r) => r.out.includes('ready')), 30_000);
        for (const r of racers) r.child.stdin?.write('go\n');
        await waitFor(() => racers.every((r) => /locked|DataDirLockedError|Error/.test(r.out)), 30_000);
        const winners = racers.filter((r) => r.out.includes('locked'));
        expect(winners).toHaveLength(1);
        expect(racers.filter((r) => r.out.includes('DataDirLockedError'))).toHaveLength(racers.length - 1);
        expect(JSON.parse(fs.readFileSync(lockFileOf(dir), 'utf8'))).toMatchObject({ pid: winners[0]?.child.pid });
        expect(fs.readdirSync(dir)).toEqual(['herald.lock']);
      } finally {
        for (const r of racers) r.child.kill('SIGKILL');
        await Promise.all(racers.map((r) => r.exited));
      }
    }
  });
});

describe('the CLI and the data directory lock', () => {
  let dir: string;
  let first: ServingCli;
  beforeAll(async () => {
    dir = makeTempDir();
    first = await startServing(['serve', '--data-dir', dir, '--port', '0']);
  });

  it('names the serving process in the lock file', () => {
    const owner = JSON.parse(fs.readFileSync(lockFileOf(dir), 'utf8')) as { pid: number; command: string };
    expect(owner).toMatchObject({ pid: first.cli.pid, command: 'serve' });
  });

  it('refuses a second serve on a directory in use, naming the owner, with exit code 2', async () => {
    const second = await runCli(['serve', '--data-dir', dir, '--port', '0']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`pid ${first.cli.pid}`);
    expect(second.stdout).not.toContain('API on');

    // The refused process did not disturb the owner or its lock.
    expect(first.cli.running).toBe(true);
    expect(JSON.parse(fs.readFileSync(lockFileOf(dir), 'utf8'))).toMatchObject({ pid: first.cli.pid });
    expect((await fetchApi(first, '/healthz')).status).toBe(200);
  });

  it('refuses an admin command on a directory in use', async () => {
    const admin = await runCli(['account', 'create', '--slug', 'acme', '--name', 'Acme', '--data-dir', dir]);
    expect(admin.code).toBe(2);
    expect(admin.stderr).toContain(`pid ${first.cli.pid}`);
    expect(first.cli.running).toBe(true);
  });
});
