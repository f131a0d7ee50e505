import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Another live process owns the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `The data directory ${dataDir} is in use by another Herald process ` +
        `(pid ${owner.pid} on ${owner.hostname}, "${owner.command}", since ${owner.startedAt}). ` +
        `Stop that process or choose another directory with --data-dir / HERALD_DATA_DIR.`,
    );
    this.name = 'DataDirLockedError';
  }
}

interface LockOwner {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
  /** The kernel's start time of the process, so a reused pid is not mistaken for the owner. */
  processStart: string | null;
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

const LOCK_NAME = 'herald.lock';

function processStartOf(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counted after the parenthesised command name, which may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return true; // cannot check another machine: assume alive
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const start = processStartOf(owner.pid);
  return owner.processStart === null || start === null || start === owner.processStart;
}

function readOwner(file: string): LockOwner | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return null; // vanished, or damaged
  }
}

/**
 * Creates `file` holding `content` unless it exists. The content is written to a private file
 * first and then linked into place, so no other process ever reads a half-written lock.
 */
function claim(file: string, content: string): boolean {
  const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(draft, content, { flag: 'wx' });
  try {
    fs.linkSync(draft, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    fs.rmSync(draft, { force: true });
  }
  // A file system without hard links: create and write in two steps.
  try {
    fs.writeFileSync(file, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Removes the lock `file` if its owner no longer runs. Only the holder of a second, short-lived
 * lock may judge and remove it: without that, two processes that both saw the same stale lock
 * could each remove it, and the later removal would delete the lock the other had just taken.
 */
function removeStale(file: string, me: string): void {
  const guard = `${file}.takeover`;
  if (!claim(guard, me)) {
    // Another process is taking over, which takes a moment; a guard whose holder died is removed.
    const holder = readOwner(guard);
    if (holder && !isAlive(holder)) fs.rmSync(guard, { force: true });
    else pause(5);
    return;
  }
  try {
    let owner: LockOwner | null;
    try {
      owner = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner | null;
    } catch (error) {
      // Gone: removing now could delete a lock another process has just claimed.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      owner = null; // damaged
    }
    if (!owner || !isAlive(owner)) fs.rmSync(file, { force: true }); // stale: its owner died without releasing it
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/**
 * Claims `dataDir` for this process: PGlite has no lock between processes, and two writers would
 * silently lose data. A lock left by a process that no longer runs is taken over.
 */
export function lockDataDir(dataDir: string, command: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_NAME);
  const me: LockOwner = {
    pid: process.pid,
    hostname: os.hostname(),
    command,
    startedAt: new Date().toISOString(),
    processStart: processStartOf(process.pid),
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    if (claim(file, JSON.stringify(me))) {
      return {
        file,
        release() {
          if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    }
    const owner = readOwner(file);
    if (owner && isAlive(owner)) throw new DataDirLockedError(dataDir, owner);
    removeStale(file, JSON.stringify(me));
  }
  throw new Error(`Could not take the lock ${file}: other processes keep racing for it.`);
}
