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
    return null; // vanished, or half-written by a process killed while writing it
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
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      return {
        file,
        release() {
          if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(file);
    if (owner && isAlive(owner)) throw new DataDirLockedError(dataDir, owner);
    fs.rmSync(file, { force: true }); // stale: its owner died without releasing it
  }
  throw new Error(`Could not take the lock ${file}: other processes keep racing for it.`);
}
